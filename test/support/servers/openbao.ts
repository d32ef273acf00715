import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePortPair } from './ports.ts';
import type { ManagedProcess, Supervisor } from './processes.ts';
import { httpOk, waitUntilReady } from './readiness.ts';

export interface OpenBaoOptions {
  binary: string;
  dir: string;
  rootToken: string;
  supervisor: Supervisor;
}

export interface OpenBao {
  /** http://127.0.0.1:PORT */
  addr: string;
  process: ManagedProcess;
}

/**
 * The OpenBao dev server: in-memory storage, unsealed, KV v2 mounted at `secret/`, the given
 * root token. It also listens on port + 1 (its cluster address), so both must be free.
 */
export async function startOpenBao({ binary, dir, rootToken, supervisor }: OpenBaoOptions): Promise<OpenBao> {
  const port = await freePortPair();
  const addr = `http://127.0.0.1:${port}`;
  // The CLI keeps a token helper file in HOME; keep it out of the real home.
  const home = join(dir, 'openbao-home');
  mkdirSync(home, { recursive: true });
  const process = supervisor.start({
    name: 'openbao',
    command: binary,
    args: ['server', '-dev', `-dev-listen-address=127.0.0.1:${port}`, `-dev-root-token-id=${rootToken}`, '-dev-no-store-token'],
    env: { PATH: globalThis.process.env.PATH ?? '/usr/bin:/bin', HOME: home },
    logFile: join(dir, 'openbao.log'),
    stopTimeoutMs: 5_000,
  });
  await waitUntilReady(process, () => httpOk(`${addr}/v1/sys/health`), 30_000);
  return { addr, process };
}

export interface KubernetesAuthOptions {
  addr: string;
  rootToken: string;
  kubeUrl: string;
  caPem: string;
  /** Token of a ServiceAccount bound to system:auth-delegator, for TokenReview. */
  reviewerJwt: string;
  audience: string;
  /** The ServiceAccount that role `lookout` accepts. */
  serviceAccount: { namespace: string; name: string };
}

/** What the harness configures: the auth mount path and the role Lookout logs in with. */
export const OPENBAO_KUBERNETES_AUTH = { path: 'kubernetes', role: 'lookout', policy: 'lookout' } as const;

/**
 * Enables `auth/kubernetes` against the test apiserver and creates role `lookout` for the bot's
 * ServiceAccount, with a policy for KV v2 data and metadata under `secret/`, and for database
 * static roles (openbao-database.ts): `read` on `database/static-roles/*` (when it was last
 * rotated, never a password) and `update` on `database/rotate-role/*`. Not
 * `database/static-creds/*`: Lookout asks Vault to rotate and never needs the password itself.
 */
export async function configureKubernetesAuth(options: KubernetesAuthOptions): Promise<void> {
  const { path, role, policy } = OPENBAO_KUBERNETES_AUTH;
  const bao = (method: string, apiPath: string, body: unknown) => baoRequest(options.addr, options.rootToken, method, apiPath, body);
  const capabilities = '["create", "read", "update", "patch", "delete", "list"]';
  await bao('PUT', `/v1/sys/policies/acl/${policy}`, {
    policy: [
      `path "secret/data/*" {\n  capabilities = ${capabilities}\n}`,
      `path "secret/metadata/*" {\n  capabilities = ${capabilities}\n}`,
      'path "database/static-roles/*" {\n  capabilities = ["read"]\n}',
      'path "database/rotate-role/*" {\n  capabilities = ["update"]\n}',
      '',
    ].join('\n'),
  });
  await bao('POST', `/v1/sys/auth/${path}`, { type: 'kubernetes' });
  await bao('POST', `/v1/auth/${path}/config`, {
    kubernetes_host: options.kubeUrl,
    kubernetes_ca_cert: options.caPem,
    token_reviewer_jwt: options.reviewerJwt,
    // Not in a pod: there is no local service-account CA or token to fall back on.
    disable_local_ca_jwt: true,
  });
  await bao('POST', `/v1/auth/${path}/role/${role}`, {
    bound_service_account_names: [options.serviceAccount.name],
    bound_service_account_namespaces: [options.serviceAccount.namespace],
    audience: options.audience,
    token_policies: [policy],
    token_ttl: '1h',
  });
}

/** One call with the root token; a non-2xx answer throws with OpenBao's body (the harness's own values only). */
export async function baoRequest(addr: string, token: string, method: string, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${addr}${path}`, {
    method,
    headers: { 'x-vault-token': token, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`OpenBao ${method} ${path}: ${res.status} ${text}`);
}
