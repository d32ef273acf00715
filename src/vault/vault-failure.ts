import { VaultError, type VaultFailure, type VaultMethod } from './vault-api.ts';

/** What one HTTP exchange with Vault gave: its status and parsed body. */
export interface VaultResponse {
  status: number;
  body: unknown;
}

/** Which kind of call a request was, for the metric: `login`, `renew`, `lookup` (of its own token) or `api`. */
export type VaultOperation = 'login' | 'renew' | 'lookup' | 'api';

/** The outcome label of a response: `ok` or the failure's reason. */
export function outcomeOf(status: number, body: unknown): string {
  return status >= 200 && status < 300 ? 'ok' : reasonOf(status, body);
}

/** Vault's `errors` array, used only to tell failures apart; never shown or logged (it may quote input). */
function errorsOf(body: unknown): string {
  const errors = (body as { errors?: unknown } | undefined)?.errors;
  return Array.isArray(errors) ? errors.filter((error): error is string => typeof error === 'string').join('\n') : '';
}

function reasonOf(status: number, body: unknown): VaultFailure {
  const errors = errorsOf(body);
  if (status === 400 && errors.includes('check-and-set parameter did not match')) return 'conflict';
  if (status === 400) return 'invalid';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not-found';
  if (status === 405) return 'unsupported';
  if (status === 503 && /sealed/i.test(errors)) return 'sealed';
  return 'unavailable';
}

/** The VaultError for a non-2xx answer; its message is Lookout's own, built from the status and the path. */
export function vaultFailure(method: VaultMethod, path: string, { status, body }: VaultResponse): VaultError {
  const reason = reasonOf(status, body);
  const call = `${method} ${path}`;
  const messages: Record<VaultFailure, string> = {
    conflict: `Vault refused ${call}: the secret changed since Lookout read it (check-and-set), so nothing was changed. Run the command again.`,
    invalid: `Vault refused ${call} as invalid (HTTP 400); nothing was changed.`,
    forbidden: `Lookout's own Vault policy does not allow ${call} (HTTP 403), so nothing was changed. Ask the Vault admins to grant it to Lookout's role.`,
    'not-found': `Vault has nothing at ${path} (HTTP 404).`,
    unsupported: `Vault does not support ${call} (HTTP 405).`,
    sealed: 'Vault is sealed, so nothing was changed. Rotate again once it is unsealed.',
    unavailable: `Vault could not serve ${call} (HTTP ${status}: a standby, an overloaded or a starting server), so nothing was changed. Try again shortly.`,
  };
  return new VaultError(reason, messages[reason], status);
}

/** Calls that change something in Vault; a read that fails changes nothing either way. */
export function isVaultWrite(method: VaultMethod): boolean {
  return method !== 'GET' && method !== 'LIST';
}

