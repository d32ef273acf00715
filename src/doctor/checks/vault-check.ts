import type { VaultClient } from '../../vault/vault-client.ts';
import { DATABASE_MOUNT } from '../../vault/database-static-role.ts';
import { VaultError } from '../../vault/vault-api.ts';
import { failed, passed, type DoctorCheck } from '../doctor-check.ts';

interface SealStatus {
  sealed?: boolean;
}

interface TokenLookup {
  data?: { renewable?: boolean; ttl?: number; policies?: string[] };
}

/**
 * The API paths a rotation of each configured path uses, with the capabilities it needs there
 * (src/vault/kv-secret.ts, src/vault/database-static-role.ts). A `*` segment is asked as it is:
 * Vault matches it against the policy's globs like any other path.
 */
export function neededCapabilities(rulePaths: readonly string[]): Array<{ path: string; capabilities: string[] }> {
  return rulePaths.flatMap((rulePath) => {
    const [mount, ...rest] = rulePath.split('/');
    const tail = rest.join('/');
    if (mount === DATABASE_MOUNT && rest[0] === 'static-role') {
      const role = rest.slice(1).join('/');
      return [
        { path: `${DATABASE_MOUNT}/static-roles/${role}`, capabilities: ['read'] },
        { path: `${DATABASE_MOUNT}/rotate-role/${role}`, capabilities: ['update'] },
      ];
    }
    return [
      { path: `${mount}/data/${tail}`, capabilities: ['read', 'update'] },
      { path: `${mount}/metadata/${tail}`, capabilities: ['read', 'patch'] },
    ];
  });
}

/**
 * Vault or OpenBao (VAULT_ADDR): unsealed; Lookout's token valid (lookup-self) and renewable;
 * and its policy grants what rotating each `vault.secrets` path needs (sys/capabilities-self).
 */
export function vaultCheck(vault: Pick<VaultClient, 'send' | 'request'>, rulePaths: readonly string[] = []): DoctorCheck {
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
      const token = `unsealed · token valid (${ttl}${data.renewable === true ? ', renewable' : ''})`;
      const needed = neededCapabilities(rulePaths);
      if (needed.length === 0) return passed(`${token} · no \`vault.secrets\` paths configured`);
      let granted: Record<string, unknown>;
      try {
        granted = await vault.request<Record<string, unknown>>('POST', 'sys/capabilities-self', { paths: needed.map((need) => need.path) });
      } catch (error) {
        return failed(`${token}, but its capabilities could not be read (${error instanceof VaultError ? error.reason : 'unavailable'})`, "Let Lookout's policy `update` `sys/capabilities-self` (Vault's default policy does).");
      }
      const gaps = needed.flatMap(({ path, capabilities }) => {
        const has = Array.isArray(granted[path]) ? (granted[path] as unknown[]) : [];
        if (has.includes('root')) return [];
        const missing = capabilities.filter((capability) => !has.includes(capability));
        return missing.length > 0 ? [`\`${missing.join(', ')}\` on \`${path}\``] : [];
      });
      if (gaps.length > 0) return failed(`${token}, but its policy lacks ${gaps.join('; ')}`, "Add those capabilities to Lookout's Vault policy, or remove the path from `vault.secrets` (docs/configuration.md, \"Vault and secret rotation\").");
      return passed(`${token} · policy covers the ${rulePaths.length} configured \`vault.secrets\` ${rulePaths.length === 1 ? 'path' : 'paths'}`);
    },
  };
}
