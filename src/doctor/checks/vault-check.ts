import type { VaultClient } from '../../vault/vault-client.ts';
import { VaultError } from '../../vault/vault-api.ts';
import { failed, passed, type DoctorCheck } from '../doctor-check.ts';

interface SealStatus {
  sealed?: boolean;
}

interface TokenLookup {
  data?: { renewable?: boolean; ttl?: number; policies?: string[] };
}

/** Vault or OpenBao (VAULT_ADDR): unsealed, and Lookout's token valid (lookup-self) and renewable. */
export function vaultCheck(vault: Pick<VaultClient, 'send' | 'request'>): DoctorCheck {
  return {
    name: 'Vault',
    async run() {
      let seal;
      try {
        // Unauthenticated: answers even when the token is bad, so the two problems stay apart.
        seal = await vault.send('api', 'GET', 'sys/seal-status', undefined, undefined);
      } catch {
        return failed('not reachable', "Check that Vault runs and VAULT_ADDR is reachable from Lookout's pod (and VAULT_CACERT for its certificate).");
      }
      if (seal.status !== 200) return failed(`seal status unreadable (HTTP ${seal.status})`, 'Check that VAULT_ADDR points at Vault or OpenBao itself, not a proxy.');
      if ((seal.body as SealStatus).sealed !== false) return failed('sealed', 'Unseal Vault (`vault operator unseal`, or fix its auto-unseal); until then `/ops rotate` fails.');
      let lookup: TokenLookup;
      try {
        lookup = await vault.request<TokenLookup>('GET', 'auth/token/lookup-self');
      } catch (error) {
        const reason = error instanceof VaultError ? error.reason : 'unavailable';
        return failed(`unsealed, but Lookout's token does not work (${reason})`, 'Give Lookout a valid token: VAULT_TOKEN, or VAULT_K8S_ROLE bound to its ServiceAccount (docs/configuration.md, "Vault").');
      }
      const data = lookup.data ?? {};
      const ttl = data.ttl === undefined || data.ttl === 0 ? 'no expiry' : `expires in ${Math.round(data.ttl / 60)} min`;
      if (data.ttl !== undefined && data.ttl > 0 && data.renewable !== true) {
        return failed(`unsealed · token valid but not renewable (${ttl})`, 'Issue Lookout a renewable token, or use VAULT_K8S_ROLE so it logs in again by itself.');
      }
      return passed(`unsealed · token valid (${ttl}${data.renewable === true ? ', renewable' : ''})`);
    },
  };
}
