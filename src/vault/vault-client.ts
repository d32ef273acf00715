import { Agent as HttpsAgent } from 'node:https';
import { Agent as HttpAgent } from 'node:http';
import axios, { type AxiosInstance } from 'axios';
import type { Counter } from 'prom-client';
import type { Logger } from '../log.ts';
import { VaultError, type VaultApi, type VaultMethod } from './vault-api.ts';
import type { VaultAuthConfig } from './vault-config.ts';
import { isVaultWrite, outcomeOf, vaultFailure, type VaultOperation, type VaultResponse } from './vault-failure.ts';
import { VaultToken } from './vault-token.ts';

export interface VaultClientOptions {
  /** VAULT_ADDR, e.g. https://vault.vault:8200. */
  addr: string;
  /** VAULT_NAMESPACE, sent as X-Vault-Namespace. */
  namespace?: string;
  /** VAULT_CACERT's PEM, trusted instead of Node's default CAs. */
  ca?: string;
  requestTimeoutMs: number;
  auth: VaultAuthConfig;
  log: Logger;
  /** lookout_vault_requests_total{operation,outcome}. */
  requests?: Counter<'operation' | 'outcome'>;
  /** Reads the ServiceAccount token file at each login; injected by tests. */
  readFile?: (path: string) => string;
}

const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/** Failures that end a call before its request left Lookout: Vault cannot have acted on it. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Vault's HTTP API (works the same against OpenBao), with axios — already Lookout's HTTP client
 * for Alertmanager: a custom CA through an https.Agent, timeouts, a response size cap, and no
 * redirects followed (a redirect could carry the token elsewhere). axios' own errors are never
 * kept or logged, since they carry the request's headers and with them the token.
 *
 * Tokens (login, renewal, logging in again) are VaultToken's job; a request that Vault refuses
 * with 403 while the token itself is no longer valid (revoked, expired) is retried once after
 * logging in again.
 */
export class VaultClient implements VaultApi {
  private readonly http: AxiosInstance;
  private readonly requests: Counter<'operation' | 'outcome'> | undefined;
  private readonly log: Logger;
  readonly token: VaultToken;

  constructor(options: VaultClientOptions) {
    const secure = options.addr.startsWith('https:');
    this.http = axios.create({
      baseURL: `${options.addr}/v1/`,
      timeout: options.requestTimeoutMs,
      headers: { accept: 'application/json', ...(options.namespace !== undefined ? { 'x-vault-namespace': options.namespace } : {}) },
      ...(secure ? { httpsAgent: new HttpsAgent({ keepAlive: true, ...(options.ca !== undefined ? { ca: options.ca } : {}) }) } : { httpAgent: new HttpAgent({ keepAlive: true }) }),
      validateStatus: () => true,
      maxRedirects: 0,
      responseType: 'json',
      maxContentLength: MAX_RESPONSE_BYTES,
      // Vault answers JSON; a proxy's HTML error page must not become a parse error with its text.
      transitional: { silentJSONParsing: true },
    });
    this.requests = options.requests;
    this.log = options.log;
    this.token = new VaultToken({ auth: options.auth, send: (operation, method, path, body, token) => this.send(operation, method, path, body, token), log: options.log, ...(options.readFile ? { readFile: options.readFile } : {}) });
  }

  async request<T>(method: VaultMethod, path: string, body?: unknown): Promise<T> {
    const token = await this.token.current();
    let response = await this.send('api', method, path, body, token);
    if (response.status === 403 && (await this.token.replaceIfInvalid(token))) {
      response = await this.send('api', method, path, body, await this.token.current());
    }
    return this.result<T>(method, path, response);
  }

  /** Stops renewing the token (shutdown). */
  stop(): void {
    this.token.stop();
  }

  /** One HTTP exchange; a network failure or timeout becomes a VaultError (unavailable). */
  async send(operation: VaultOperation, method: VaultMethod, path: string, body: unknown, token: string | undefined): Promise<VaultResponse> {
    const listing = method === 'LIST';
    try {
      const response = await this.http.request<unknown>({
        // Vault documents LIST; GET with list=true is the same call in a method every HTTP stack knows.
        method: listing ? 'GET' : method,
        url: encodeURI(path),
        ...(listing ? { params: { list: 'true' } } : {}),
        headers: {
          ...(token !== undefined ? { 'x-vault-token': token } : {}),
          ...(body !== undefined ? { 'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' } : {}),
        },
        ...(body !== undefined ? { data: body } : {}),
      });
      this.requests?.inc({ operation, outcome: outcomeOf(response.status, response.data) });
      return { status: response.status, body: response.data };
    } catch (error) {
      this.requests?.inc({ operation, outcome: 'unavailable' });
      const code = axios.isAxiosError(error) ? (error.code ?? 'error') : 'error';
      this.log.warn({ vaultPath: path, method, code }, 'Vault did not answer');
      const why = code === 'ECONNABORTED' || code === 'ETIMEDOUT' ? 'timed out' : code;
      // A write that may have reached Vault (a timeout, a reset, an answer too large) may have
      // landed: saying "nothing was changed" then would be a guess, and possibly wrong.
      if (operation === 'api' && isVaultWrite(method) && !NOT_SENT.has(code)) {
        throw new VaultError('unavailable', `Vault did not answer ${method} ${path} (${why}) after Lookout sent it, so Lookout cannot tell whether Vault made the change. Check the secret's current version before running the command again.`);
      }
      throw new VaultError('unavailable', `Vault did not answer (${why}), so nothing was changed. Check that Vault is up and that Lookout reaches VAULT_ADDR.`);
    }
  }

  private result<T>(method: VaultMethod, path: string, response: VaultResponse): T {
    if (response.status >= 200 && response.status < 300) return (response.status === 204 ? undefined : response.body) as T;
    // A gateway's 502/504 says the request reached the proxy, not whether Vault carried it out: a
    // write may have landed with its answer lost. (Vault's own 5xx answers mean it did not.)
    if (isVaultWrite(method) && (response.status === 502 || response.status === 504)) {
      throw new VaultError('unavailable', `A proxy in front of Vault answered ${method} ${path} with HTTP ${response.status}, so Lookout cannot tell whether Vault made the change. Check the secret's current version before running the command again.`, response.status);
    }
    throw vaultFailure(method, path, response);
  }
}
