import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFound, Unavailable } from '../../src/errors.ts';
import { createLogger } from '../../src/log.ts';
import { rotateStaticRole } from '../../src/vault/database-static-role.ts';
import { VaultError } from '../../src/vault/vault-api.ts';
import { VaultClient } from '../../src/vault/vault-client.ts';
import { freePort } from '../support/free-port.ts';
import { expectNoSecretLeaks } from '../support/secret-leaks.ts';
import { BOT_SERVICE_ACCOUNT, requestToken } from '../support/servers/kube-bootstrap.ts';
import { kubeHttpFor } from '../support/servers/kubeconfigs.ts';
import { testServers, type TestServers } from '../support/servers/test-servers.ts';

/*
 * rotateStaticRole against the real OpenBao of the harness and its real PostgreSQL, through
 * Lookout's own Vault client logged in with Kubernetes auth (so Lookout's OpenBao policy applies,
 * not the root token's). The password itself is read only by the test, with the root token.
 */

let servers: TestServers;
let vault: VaultClient;
let logs = '';
const dir = mkdtempSync(join(tmpdir(), 'lookout-db-role-'));
/** Every password the test saw: none may appear in what Lookout's code produced. */
const passwords: string[] = [];
/** What Lookout's code produced: results, error messages (and `logs`). */
const produced: Record<string, string> = {};

beforeAll(async () => {
  servers = testServers();
  passwords.push(servers.postgres.password);
  const tokenFile = join(dir, 'sa-token');
  writeFileSync(tokenFile, await requestToken(kubeHttpFor(servers.kube.kubeconfigs.admin), BOT_SERVICE_ACCOUNT, 3600));
  const log = createLogger({ level: 'debug', destination: new Writable({ write: (chunk: Buffer, _encoding, done) => ((logs += chunk.toString()), done()) }) });
  vault = new VaultClient({
    addr: servers.bao.addr,
    requestTimeoutMs: 10_000,
    log,
    auth: { method: 'kubernetes', role: servers.bao.role, mountPath: servers.bao.kubernetesAuthPath, tokenFile },
  });
});

afterAll(async () => {
  vault?.stop();
  rmSync(dir, { recursive: true, force: true });
  await expectNoSecretLeaks(passwords, { extra: { ...produced, log: logs } });
});

/** As root: the static role's current password, as an application would get it. */
async function currentPassword(role: string): Promise<string> {
  const body = await root<{ data: { password: string } }>('GET', `${servers.bao.database.mount}/static-creds/${role}`);
  passwords.push(body.data.password);
  return body.data.password;
}

async function root<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${servers.bao.addr}/v1/${path}`, { method, headers: { 'x-vault-token': servers.bao.rootToken, 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  if (!res.ok) throw new Error(`OpenBao ${method} ${path}: ${res.status}`);
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

async function logIn(user: string, password: string): Promise<void> {
  const client = new pg.Client({ host: '127.0.0.1', port: servers.postgres.port, user, password, database: 'postgres', connectionTimeoutMillis: 5_000 });
  await client.connect();
  await client.query('SELECT 1');
  await client.end();
}

async function superuser(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: servers.postgres.url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

const caught = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error as Error);

describe('rotateStaticRole against OpenBao and PostgreSQL', () => {
  it('static role app: the database password really changes — the old one fails, the new one logs in', async () => {
    const { staticRole } = servers.bao.database;
    const old = await currentPassword(staticRole);
    await logIn('app', old);

    const rotated = await rotateStaticRole(vault, staticRole);
    produced.rotation = JSON.stringify(rotated);
    expect(rotated).toMatchObject({ role: 'app', username: 'app', database: servers.bao.database.connection, rotationPeriodSeconds: 86400 });
    expect(Date.parse(rotated.after)).toBeGreaterThan(Date.parse(String(rotated.before)));

    const fresh = await currentPassword(staticRole);
    expect(fresh).not.toBe(old);
    await expect(logIn('app', old)).rejects.toMatchObject({ code: '28P01' });
    await expect(logIn('app', fresh)).resolves.toBeUndefined();
  });

  it('an unknown role is NotFound; a mount outside Lookout\'s policy is refused by Vault, named by its capability', async () => {
    const unknown = await caught(rotateStaticRole(vault, `ghost_${randomBytes(3).toString('hex')}`));
    produced.unknown = String(unknown?.message);
    expect(unknown).toBeInstanceOf(NotFound);
    expect(unknown?.message).toMatch(/no database static role `ghost_/);

    const outside = await caught(rotateStaticRole(vault, 'app', 'other-database'));
    produced.outside = String(outside?.message);
    expect(outside).toBeInstanceOf(VaultError);
    expect(outside).toMatchObject({ reason: 'forbidden', message: expect.stringContaining('capability `read`') });
  });

  it('a database that does not answer: Unavailable naming role and connection, nothing of the connection URL or credentials; the old password still works', async () => {
    const suffix = randomBytes(3).toString('hex');
    const role = `broken_${suffix}`;
    const connection = `broken-${suffix}`;
    const { mount } = servers.bao.database;
    await superuser(`CREATE ROLE ${role} LOGIN PASSWORD '${randomBytes(12).toString('hex')}'`);
    const config = (port: number, verify: boolean) => ({
      plugin_name: 'postgresql-database-plugin',
      connection_url: `postgresql://{{username}}:{{password}}@127.0.0.1:${port}/postgres?sslmode=disable`,
      username: servers.postgres.user,
      password: servers.postgres.password,
      allowed_roles: role,
      verify_connection: verify,
    });
    await root('POST', `${mount}/config/${connection}`, config(servers.postgres.port, true));
    await root('POST', `${mount}/static-roles/${role}`, { db_name: connection, username: role, rotation_period: '24h' });
    const before = await currentPassword(role);
    // Nothing listens there any more.
    const deadPort = await freePort();
    await root('POST', `${mount}/config/${connection}`, config(deadPort, false));

    const error = await caught(rotateStaticRole(vault, role));
    produced.unreachable = String(error?.message);
    expect(error).toBeInstanceOf(Unavailable);
    expect(error?.message).toContain(`static role \`${role}\` in its database (connection \`${connection}\`)`);
    for (const leak of [String(deadPort), 'postgresql://', '127.0.0.1']) expect(error?.message).not.toContain(leak);
    await expect(logIn(role, before)).resolves.toBeUndefined();
  });
});
