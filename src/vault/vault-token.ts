import { readFileSync } from 'node:fs';
import type { Logger } from '../log.ts';
import { VaultError, type VaultMethod } from './vault-api.ts';
import { vaultFailure, type VaultOperation, type VaultResponse } from './vault-failure.ts';
import type { VaultAuthConfig } from './vault-config.ts';

/** One exchange with Vault, made with the given token (none for a login). */
type Send = (operation: VaultOperation, method: VaultMethod, path: string, body: unknown, token: string | undefined) => Promise<VaultResponse>;

export interface VaultTokenOptions {
  auth: VaultAuthConfig;
  send: Send;
  log: Logger;
  readFile?: (path: string) => string;
  /** 0 ≤ random() < 1, for the renewal jitter. */
  random?: () => number;
}

/** Renewal is planned at about 2/3 of the token's TTL, spread by ±5% so replicas do not renew in step. */
const RENEW_AT = 2 / 3;
const JITTER = 0.05;
/** A renewal that got back less than this share of the login's TTL is near the role's max TTL: log in again instead. */
const RELOGIN_BELOW = 1 / 3;

interface Lease {
  token: string;
  /** Seconds Vault gave it at login; 0 = never expires (a root token). */
  loginTtl: number;
  renewable: boolean;
}

/**
 * Lookout's Vault token and its lifecycle. With a token (VAULT_TOKEN) it is used as given and
 * renewed if Vault says it is renewable. With Kubernetes auth Lookout logs in with its
 * ServiceAccount token (read from the file at each login, since the kubelet rotates it), renews
 * at about 2/3 of the TTL, and logs in again when a renewal fails, when the role's max TTL is
 * near, or when Vault no longer accepts the token (revoked). The token is kept in memory only.
 */
export class VaultToken {
  private readonly auth: VaultAuthConfig;
  private readonly send: Send;
  private readonly log: Logger;
  private readonly readFile: (path: string) => string;
  private readonly random: () => number;
  private lease: Lease | undefined;
  /** The login (or first lookup) in flight, shared by every request waiting for a token. */
  private pending: Promise<Lease> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(options: VaultTokenOptions) {
    this.auth = options.auth;
    this.send = options.send;
    this.log = options.log.child({ component: 'vault-token' });
    this.readFile = options.readFile ?? ((path) => readFileSync(path, 'utf8'));
    this.random = options.random ?? Math.random;
  }

  /** A token to use now: logs in (or looks up a given token) first if there is none. */
  async current(): Promise<string> {
    if (this.lease !== undefined) return this.lease.token;
    this.pending ??= this.obtain().finally(() => (this.pending = undefined));
    return (await this.pending).token;
  }

  /**
   * After a 403: is `token` itself no longer valid (revoked, expired)? Then log in again and
   * answer true so the request is retried once. A token Vault still accepts means the policy
   * refused: false. A given token (VAULT_TOKEN) cannot be replaced: false.
   */
  async replaceIfInvalid(token: string): Promise<boolean> {
    if (this.auth.method !== 'kubernetes') return false;
    if (this.lease !== undefined && this.lease.token !== token) return true; // already replaced meanwhile
    const lookup = await this.send('lookup', 'GET', 'auth/token/lookup-self', undefined, token);
    if (lookup.status !== 403) return false;
    this.log.warn('Vault no longer accepts Lookout\'s token (revoked or expired); logging in again');
    this.drop(token);
    await this.current();
    return true;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private drop(token: string): void {
    if (this.lease?.token === token) this.lease = undefined;
    clearTimeout(this.timer);
  }

  private async obtain(): Promise<Lease> {
    const lease = this.auth.method === 'kubernetes' ? await this.login(this.auth) : await this.lookUp(this.auth.token);
    this.lease = lease;
    this.plan(lease.loginTtl);
    return lease;
  }

  private async login(auth: Extract<VaultAuthConfig, { method: 'kubernetes' }>): Promise<Lease> {
    const jwt = this.serviceAccountToken(auth);
    const path = `auth/${auth.mountPath}/login`;
    const response = await this.send('login', 'POST', path, { role: auth.role, jwt }, undefined);
    if (response.status < 200 || response.status >= 300) {
      const failure = vaultFailure('POST', path, response);
      this.log.error({ status: response.status, reason: failure.reason, role: auth.role }, 'Vault login with the ServiceAccount token failed');
      if (failure.reason === 'forbidden' || failure.reason === 'invalid') {
        throw new VaultError('forbidden', `Lookout could not log in to Vault: Kubernetes auth role \`${auth.role}\` at auth/${auth.mountPath} refused its ServiceAccount token (HTTP ${response.status}), so nothing was changed. Check the role's bound ServiceAccount, namespace and audience.`, response.status);
      }
      throw failure;
    }
    const lease = leaseOf(response.body);
    if (lease === undefined) throw new VaultError('invalid', `Vault's answer to the login at ${path} holds no token; nothing was changed.`);
    this.log.info({ ttlSeconds: lease.loginTtl, renewable: lease.renewable }, 'logged in to Vault');
    return lease;
  }

  /** The ServiceAccount token, checked for the configured audience before Vault sees it. */
  private serviceAccountToken(auth: Extract<VaultAuthConfig, { method: 'kubernetes' }>): string {
    let jwt: string;
    try {
      jwt = this.readFile(auth.tokenFile).trim();
    } catch (error) {
      throw new VaultError('forbidden', `Lookout cannot read its ServiceAccount token at ${auth.tokenFile} (${(error as NodeJS.ErrnoException).code ?? 'error'}) to log in to Vault; nothing was changed.`);
    }
    if (auth.audience !== undefined) {
      const audiences = audiencesOf(jwt);
      if (!audiences.includes(auth.audience)) {
        throw new VaultError('forbidden', `The ServiceAccount token at ${auth.tokenFile} is not for audience \`${auth.audience}\` (vault.auth.audience), so Vault would refuse it; nothing was changed. Mount a projected token with that audience.`);
      }
    }
    return jwt;
  }

  /** A given token: learn whether it expires and can be renewed. */
  private async lookUp(token: string): Promise<Lease> {
    const response = await this.send('lookup', 'GET', 'auth/token/lookup-self', undefined, token);
    if (response.status === 403) throw new VaultError('forbidden', 'Vault does not accept VAULT_TOKEN (expired or revoked), so nothing was changed. Give Lookout a valid token, or use Kubernetes auth.', 403);
    const data = (response.body as { data?: { ttl?: unknown; renewable?: unknown } } | undefined)?.data;
    if (response.status < 200 || response.status >= 300 || data === undefined) {
      // A token that cannot look itself up (a policy without lookup-self) is still used as given.
      return { token, loginTtl: 0, renewable: false };
    }
    return { token, loginTtl: typeof data.ttl === 'number' ? data.ttl : 0, renewable: data.renewable === true };
  }

  /** Plans the next renewal at about 2/3 of `ttlSeconds` (nothing for a token that never expires). */
  private plan(ttlSeconds: number): void {
    clearTimeout(this.timer);
    if (this.stopped || ttlSeconds <= 0) return;
    const share = RENEW_AT * (1 - JITTER + 2 * JITTER * this.random());
    this.timer = setTimeout(() => void this.renew(), Math.max(100, ttlSeconds * 1000 * share));
    this.timer.unref();
  }

  /** Renews the token; logs in again when that fails or when the token is near its max TTL. */
  private async renew(): Promise<void> {
    const lease = this.lease;
    if (lease === undefined || this.stopped) return;
    try {
      if (lease.renewable) {
        const response = await this.send('renew', 'POST', 'auth/token/renew-self', {}, lease.token);
        const renewed = response.status >= 200 && response.status < 300 ? leaseOf(response.body) : undefined;
        if (renewed !== undefined && (lease.loginTtl === 0 || renewed.loginTtl >= lease.loginTtl * RELOGIN_BELOW)) {
          this.log.debug({ ttlSeconds: renewed.loginTtl }, 'renewed the Vault token');
          this.plan(renewed.loginTtl);
          return;
        }
        this.log.info({ status: response.status, ttlSeconds: renewed?.loginTtl }, renewed === undefined ? 'renewing the Vault token failed; logging in again' : 'the Vault token is near its max TTL; logging in again');
      }
      if (this.auth.method !== 'kubernetes') {
        this.log.warn('the Vault token (VAULT_TOKEN) cannot be renewed any more; it will expire');
        return;
      }
      this.drop(lease.token);
      await this.current();
    } catch (error) {
      // No token now: the next request logs in again and reports why if it still cannot.
      this.drop(lease.token);
      this.log.error({ reason: error instanceof VaultError ? error.reason : 'error' }, 'renewing the Vault token and logging in again failed; the next request tries again');
    }
  }
}

/** The token and TTL of a login or renewal answer (`auth`), or undefined if it has none. */
function leaseOf(body: unknown): Lease | undefined {
  const auth = (body as { auth?: { client_token?: unknown; lease_duration?: unknown; renewable?: unknown } } | undefined)?.auth;
  if (typeof auth?.client_token !== 'string' || auth.client_token === '') return undefined;
  return { token: auth.client_token, loginTtl: typeof auth.lease_duration === 'number' ? auth.lease_duration : 0, renewable: auth.renewable === true };
}

/** The `aud` claim of a JWT, read without verifying it (Vault verifies; this only explains a refusal early). */
function audiencesOf(jwt: string): string[] {
  try {
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as { aud?: unknown };
    if (typeof payload.aud === 'string') return [payload.aud];
    return Array.isArray(payload.aud) ? payload.aud.filter((aud): aud is string => typeof aud === 'string') : [];
  } catch {
    return [];
  }
}
