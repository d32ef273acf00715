import { UserError } from '../errors.ts';

/** The HTTP methods Vault's API uses; LIST is sent as Vault documents it (GET with `?list=true` works too). */
export type VaultMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'LIST';

/**
 * One authenticated Vault (or OpenBao) call, made as Lookout with its own token; paths are
 * relative to /v1 (e.g. `database/rotate-role/app`). Resolves to the parsed JSON body, or
 * undefined when Vault answers 204. Every failure is a VaultError; the caller validates the body.
 * Login, token renewal, the namespace header and TLS are the implementation's business.
 */
export interface VaultApi {
  request<T>(method: VaultMethod, path: string, body?: unknown): Promise<T>;
}

/**
 * Why a Vault call failed, in terms a person can act on:
 * - forbidden: Lookout's Vault policy does not allow it (HTTP 403), even after logging in again;
 * - not-found: no such path or version (HTTP 404);
 * - sealed: Vault is sealed (HTTP 503 with sealed status);
 * - unavailable: unreachable, timed out, a standby that does not forward, or any other 5xx;
 * - conflict: a check-and-set did not match (someone else wrote in between);
 * - unsupported: the mount cannot do what was asked (a KV v1 mount for a rotation);
 * - invalid: Vault refused the request (HTTP 400) for another reason.
 */
export type VaultFailure = 'forbidden' | 'not-found' | 'sealed' | 'unavailable' | 'conflict' | 'unsupported' | 'invalid';

/**
 * A Vault failure with a sentence a person can act on. It is a UserError, so the dispatcher shows
 * its message as it is: the message is built by Lookout from the status and the path, never from
 * Vault's response body, and never contains a secret value or a token.
 */
export class VaultError extends UserError {
  readonly reason: VaultFailure;
  /** The HTTP status Vault answered, when it answered. */
  readonly status: number | undefined;

  // No `cause`: an HTTP library's error carries the request's headers, and with them the token.
  constructor(reason: VaultFailure, message: string, status?: number) {
    super(message);
    this.reason = reason;
    this.status = status;
  }
}
