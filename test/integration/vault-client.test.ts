import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Counter, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { VaultError } from '../../src/vault/vault-api.ts';
import { VaultClient, type VaultClientOptions } from '../../src/vault/vault-client.ts';
import { freePort, waitFor } from '../support/free-port.ts';
import { findSecretLeaks } from '../support/secret-leaks.ts';
import { buildServers } from '../support/servers/binaries.ts';
import { requestToken } from '../support/servers/kube-bootstrap.ts';
import { kubeHttpFor } from '../support/servers/kubeconfigs.ts';
import { startOpenBao } from '../support/servers/openbao.ts';
import { Supervisor } from '../support/servers/processes.ts';
import { testServers } from '../support/servers/test-servers.ts';

/*
 * Lookout's Vault client against real OpenBao servers: Kubernetes auth against the real test
 * apiserver (the harness's OpenBao), token renewal and logging in again, a revoked token, and
 * failures a person must be told about plainly: a sealed Vault (an OpenBao of this file's own,
 * since sealing the shared one would break other files), an unreachable one, a policy refusal.
 */

describe('the Vault client against real OpenBao', () => {
  const servers = testServers();
  const suffix = randomBytes(3).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), 'lookout-vault-client-'));
  const tokenFile = join(dir, 'sa-token');
  let logs = '';
  const log = createLogger({ level: 'debug', destination: new Writable({ write: (chunk: Buffer, _encoding, done) => ((logs += chunk.toString()), done()) }) });

  const bao = async <T = unknown>(method: string, path: string, body?: unknown, addr = servers.bao.addr, token = servers.bao.rootToken): Promise<T> => {
    const res = await fetch(`${addr}/v1/${path}`, { method, headers: { 'x-vault-token': token, 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    if (!res.ok) throw new Error(`OpenBao ${method} ${path}: ${res.status} ${text}`);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  };

  /** A client with its own metric, so the test can count logins and renewals. */
  function client(options: Partial<VaultClientOptions> & Pick<VaultClientOptions, 'auth'>) {
    const requests = new Counter({ name: 'vault_requests', help: 'test', labelNames: ['operation', 'outcome'], registers: [new Registry()] });
    const vault = new VaultClient({ addr: servers.bao.addr, requestTimeoutMs: 5000, log, requests, ...options });
    const count = async (operation: string, outcome = 'ok') => (await requests.get()).values.find((value) => value.labels.operation === operation && value.labels.outcome === outcome)?.value ?? 0;
    return { vault, count };
  }
  const kubernetesAuth = (role: string) => ({ method: 'kubernetes' as const, role, mountPath: servers.bao.kubernetesAuthPath, tokenFile });
  const expectVaultError = async (promise: Promise<unknown>, reason: string, message: RegExp) => {
    const error = await promise.then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(VaultError);
    expect((error as VaultError).reason).toBe(reason);
    expect((error as VaultError).message).toMatch(message);
  };

  beforeAll(async () => {
    const admin = kubeHttpFor(servers.kube.kubeconfigs.admin);
    writeFileSync(tokenFile, await requestToken(admin, { namespace: 'lookout', name: 'lookout' }, 3600));
    // Short TTLs, to see renewal and the max TTL within seconds.
    await bao('POST', `auth/${servers.bao.kubernetesAuthPath}/role/short-${suffix}`, {
      bound_service_account_names: ['lookout'],
      bound_service_account_namespaces: ['lookout'],
      audience: 'https://kubernetes.default.svc.cluster.local',
      token_policies: [servers.bao.role],
      token_ttl: '3s',
      token_max_ttl: '6s',
    });
    await bao('POST', `secret/data/client-${suffix}/db`, { data: { password: randomBytes(12).toString('hex') } });
  });

  /** The ServiceAccount token and every Vault token the clients held: none may reach the log. */
  const knownTokens: string[] = [];

  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    expect(await findSecretLeaks(knownTokens, { extra: { log: logs } })).toEqual([]);
  });

  it('logs in with Kubernetes auth, renews at about 2/3 of the TTL, and logs in again near the max TTL', async () => {
    const { vault, count } = client({ auth: kubernetesAuth(`short-${suffix}`) });
    try {
      knownTokens.push(readFileSync(tokenFile, 'utf8').trim());
      await vault.request('GET', `secret/data/client-${suffix}/db`);
      const first = await vault.token.current();
      knownTokens.push(first);
      expect(await count('login')).toBe(1);
      // Past the first TTL (3 s): still the same token, renewed in time, and it still works.
      await new Promise((resolve) => setTimeout(resolve, 3500));
      expect(await count('renew')).toBeGreaterThanOrEqual(1);
      expect(await vault.token.current()).toBe(first);
      await vault.request('GET', `secret/data/client-${suffix}/db`);
      // The role's max TTL (6 s) ends renewals: a new login, a new token that works.
      await waitFor('a second login', async () => ((await count('login')) === 2 ? true : undefined), 8000, 100);
      const second = await vault.token.current();
      knownTokens.push(second);
      expect(second).not.toBe(first);
      await vault.request('GET', `secret/data/client-${suffix}/db`);
      expect(await count('login', 'forbidden')).toBe(0);
    } finally {
      vault.stop();
    }
  });

  it('logs in again when its token is revoked, and the request goes through', async () => {
    const { vault, count } = client({ auth: kubernetesAuth(servers.bao.role) });
    try {
      await vault.request('GET', `secret/data/client-${suffix}/db`);
      const token = await vault.token.current();
      knownTokens.push(token);
      await bao('POST', 'auth/token/revoke', { token });
      await vault.request('GET', `secret/data/client-${suffix}/db`);
      expect(await count('login')).toBe(2);
      expect(await vault.token.current()).not.toBe(token);
      knownTokens.push(await vault.token.current());
    } finally {
      vault.stop();
    }
  });

  it('tells a policy refusal from a revoked token: 403 with a valid token is forbidden, without logging in again', async () => {
    const { vault, count } = client({ auth: kubernetesAuth(servers.bao.role) });
    try {
      await expectVaultError(vault.request('GET', 'sys/policies/acl/lookout'), 'forbidden', /^Lookout's own Vault policy does not allow GET sys\/policies\/acl\/lookout \(HTTP 403\)/);
      expect(await count('login')).toBe(1);
      expect(await count('lookup')).toBe(1);
    } finally {
      vault.stop();
    }
  });

  it('refuses a ServiceAccount token for another audience before Vault sees it', async () => {
    const { vault, count } = client({ auth: { ...kubernetesAuth(servers.bao.role), audience: 'vault' } });
    await expectVaultError(vault.request('GET', `secret/data/client-${suffix}/db`), 'forbidden', /is not for audience `vault` \(vault\.auth\.audience\)/);
    expect(await count('login')).toBe(0);
  });

  it('says so when the role refuses the login', async () => {
    const { vault } = client({ auth: kubernetesAuth(`no-such-role-${suffix}`) });
    await expectVaultError(vault.request('GET', `secret/data/client-${suffix}/db`), 'forbidden', new RegExp(`Kubernetes auth role \`no-such-role-${suffix}\` at auth/kubernetes refused its ServiceAccount token`));
  });

  it('says Vault did not answer when nothing listens at VAULT_ADDR', async () => {
    const port = await freePort();
    const { vault } = client({ addr: `http://127.0.0.1:${port}`, auth: kubernetesAuth(servers.bao.role) });
    await expectVaultError(vault.request('GET', 'secret/data/x'), 'unavailable', /^Vault did not answer \(ECONNREFUSED\), so nothing was changed\./);
  });

  /**
   * A proxy in front of the real OpenBao that passes every request on, but loses Vault's answer to
   * a KV write: it never answers it (`hang`) or answers 504 itself, as a gateway does on its timeout.
   */
  async function lossyProxy(loss: 'hang' | 504) {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => ['x-vault-token', 'content-type'].includes(name))) as Record<string, string>;
        const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
        void fetch(`${servers.bao.addr}${req.url ?? '/'}`, { method: req.method ?? 'GET', headers, ...(body ? { body } : {}) }).then(async (answer) => {
          const text = await answer.text();
          if (req.method === 'POST' && req.url?.includes('/data/')) {
            if (loss === 504) res.writeHead(504).end('gateway timeout');
            return;
          }
          res.writeHead(answer.status, { 'content-type': 'application/json' }).end(text);
        });
      });
    });
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return { addr: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(resolve).closeAllConnections()) };
  }

  it.each(['hang', 504] as const)('does not claim "nothing was changed" when a write reached Vault but its answer was lost (%s)', async (loss) => {
    const proxy = await lossyProxy(loss);
    const path = `secret/data/client-${suffix}/lost-${loss}`;
    await bao('POST', path, { data: { password: 'first' } });
    const { vault } = client({ addr: proxy.addr, requestTimeoutMs: 1500, auth: { method: 'token', token: servers.bao.rootToken } });
    try {
      await expectVaultError(vault.request('POST', path, { options: { cas: 1 }, data: { password: 'second' } }), 'unavailable', /cannot tell whether Vault made the change\. Check the secret's current version/);
      // It did: the claim "nothing was changed" would have been false.
      const stored = await bao<{ data: { metadata: { version: number } } }>('GET', path);
      expect(stored.data.metadata.version).toBe(2);
    } finally {
      vault.stop();
      await proxy.close();
    }
  });

  it('says Vault is sealed, and works again once it is unsealed (an OpenBao of its own)', async () => {
    const supervisor = new Supervisor();
    const ownDir = join(dir, 'sealed');
    mkdirSync(ownDir);
    const rootToken = `sealed-root-${suffix}`;
    try {
      const binaries = await buildServers();
      const own = await startOpenBao({ binary: binaries.bao, dir: ownDir, rootToken, supervisor });
      // The dev server prints its unseal key once it is up; the log may lag readiness a little.
      const unsealKey = await waitFor('the unseal key in the log', () => /Unseal Key: (\S+)/.exec(readFileSync(join(ownDir, 'openbao.log'), 'utf8'))?.[1], 10_000, 50);
      await bao('POST', 'secret/data/app', { data: { password: 'sealed-test-value' } }, own.addr, rootToken);
      const { vault } = client({ addr: own.addr, auth: { method: 'token', token: rootToken } });
      await vault.request('GET', 'secret/data/app');
      await bao('PUT', 'sys/seal', undefined, own.addr, rootToken);
      await expectVaultError(vault.request('GET', 'secret/data/app'), 'sealed', /^Vault is sealed, so nothing was changed\. Rotate again once it is unsealed\.$/);
      await bao('PUT', 'sys/unseal', { key: unsealKey }, own.addr, rootToken);
      await waitFor('the request to work again', async () => ((await vault.request('GET', 'secret/data/app').then(() => true, () => undefined)) ? true : undefined), 10_000, 200);
      vault.stop();
    } finally {
      await supervisor.stopAll();
    }
  });
});
