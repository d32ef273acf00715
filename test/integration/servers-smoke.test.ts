import { createSign, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { reviewAccess } from '../../src/kube/access-review.ts';
import { KubeApiError, type KubeHttp } from '../../src/kube/kube-http.ts';
import { waitFor } from '../support/free-port.ts';
import { eventually, freshNamespace, roleBinding, statusOf } from '../support/kube-test-helpers.ts';
import { BOT_SERVICE_ACCOUNT, requestToken } from '../support/servers/kube-bootstrap.ts';
import { createOrReplace, ensureObject } from '../support/servers/kube-objects.ts';
import { kubeHttpFor } from '../support/servers/kubeconfigs.ts';
import { testServers, type TestServers } from '../support/servers/test-servers.ts';

// Proof that each server is the real thing and behaves as Lookout's features assume
// (docs/testing.md, "Real test servers"). Names are unique per run: the servers are shared
// with every other integration test file.

let servers: TestServers;
let admin: KubeHttp;
const unique = () => randomBytes(4).toString('hex');

beforeAll(() => {
  servers = testServers();
  admin = kubeHttpFor(servers.kube.kubeconfigs.admin);
});

const newNamespace = () => freshNamespace(admin, 'smoke');

describe('kube-apiserver', () => {
  it('is the real kube-apiserver v1.36.3 and knows the bot by its TokenRequest token', async () => {
    const version = await admin.request<{ gitVersion: string }>({ method: 'GET', path: '/version' });
    expect(version.gitVersion).toBe('v1.36.3');

    const bot = kubeHttpFor(servers.kube.kubeconfigs.bot);
    const review = await bot.request<{ status: { userInfo: { username: string; groups: string[] } } }>({
      method: 'POST',
      path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
    });
    expect(review.status.userInfo.username).toBe('system:serviceaccount:lookout:lookout');
    expect(review.status.userInfo.groups).toContain('system:serviceaccounts:lookout');
  });

  it("applies manifests/base/rbac.yaml: the bot may ask SubjectAccessReviews but not get a Secret", async () => {
    const bot = kubeHttpFor(servers.kube.kubeconfigs.bot);
    const decision = await reviewAccess(bot, { username: 'slack:alice', groups: [] }, { verb: 'get', group: '', resource: 'pods', namespace: 'shop' });
    expect(decision.allowed).toBe(false);
    // It may list Secrets (the certificate inventory, docs/rbac.md), never get one by name.
    expect(await statusOf(bot.request({ method: 'GET', path: '/api/v1/namespaces/shop/secrets/db' }))).toBe(403);
  });

  it('gives bob the user and group of his client certificate', async () => {
    const bob = kubeHttpFor(servers.kube.kubeconfigs.bob);
    const review = await bob.request<{ status: { userInfo: { username: string; groups: string[] } } }>({
      method: 'POST',
      path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
    });
    expect(review.status.userInfo).toMatchObject({ username: 'slack:bob', groups: expect.arrayContaining(['slack:sre', 'system:authenticated']) });
  });

  it('RBAC denies alice without a RoleBinding and allows her after one is created', async () => {
    const namespace = await newNamespace();
    const alice = kubeHttpFor(servers.kube.kubeconfigs.alice);
    const listPods = () => alice.request({ method: 'GET', path: `/api/v1/namespaces/${namespace}/pods` });

    const denied = await listPods().catch((error: unknown) => error);
    expect(denied).toBeInstanceOf(KubeApiError);
    expect((denied as KubeApiError).status).toBe(403);
    expect((denied as KubeApiError).reason).toBe('Forbidden');

    await createOrReplace(admin, roleBinding(namespace, 'alice-view', { kind: 'ClusterRole', name: 'view' }, { kind: 'User', name: 'slack:alice' }));
    await eventually('alice to be allowed', async () => (await statusOf(listPods())) === 200);
    // Only where the binding is: the next namespace is still closed to her.
    expect(await statusOf(alice.request({ method: 'GET', path: `/api/v1/namespaces/${await newNamespace()}/pods` }))).toBe(403);
  });

  it('honours Impersonate-User with two Impersonate-Group lines sent by KubeHttp, and a fetch() that joins them is denied', async () => {
    const namespace = await newNamespace();
    const id = unique();
    const [firstGroup, secondGroup] = [`slack:first-${id}`, `slack:second-${id}`];
    const impersonate = { username: `slack:carol-${id}`, groups: [firstGroup, secondGroup] };
    const listPods = { method: 'GET' as const, path: `/api/v1/namespaces/${namespace}/pods` };

    expect(await statusOf(admin.request({ ...listPods, impersonate }))).toBe(403);
    // Only the SECOND group is bound: a server that saw one group, or only the first, denies.
    await createOrReplace(admin, roleBinding(namespace, 'second-group-view', { kind: 'ClusterRole', name: 'view' }, { kind: 'Group', name: secondGroup }));
    await eventually('the second group to be allowed', async () => (await statusOf(admin.request({ ...listPods, impersonate }))) === 200);
    const list = await admin.request<{ kind: string }>({ ...listPods, impersonate });
    expect(list.kind).toBe('PodList');

    // The same impersonation through fetch(): Headers joins the repeated header into one
    // "first, second" value, which the API server takes as ONE group name, bound to nothing.
    const caller = await impersonatorToken(namespace);
    trustTestCa();
    const viaFetch = (groups: string[]) => {
      const headers = new Headers({ authorization: `Bearer ${caller}`, 'impersonate-user': impersonate.username });
      for (const group of groups) headers.append('impersonate-group', group);
      return fetch(`${servers.kube.url}${listPods.path}`, { headers });
    };
    const joined = await viaFetch([firstGroup, secondGroup]);
    expect(joined.status).toBe(403);
    expect(((await joined.json()) as { message: string }).message).toContain(`User "slack:carol-${id}" cannot list`);
    // The caller and its impersonation rights are fine: the second group alone is allowed.
    const single = await viaFetch([secondGroup]);
    expect(single.status).toBe(200);
    await single.text();
  });

  it('answers a SubjectAccessReview exactly as RBAC decides the real request', async () => {
    const namespace = await newNamespace();
    const id = unique();
    const person = { username: `slack:dave-${id}`, groups: [`slack:team-${id}`] };
    await createOrReplace(admin, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'scale-reader', namespace },
      rules: [{ apiGroups: ['apps'], resources: ['deployments', 'deployments/scale'], verbs: ['get'] }],
    });
    await createOrReplace(admin, roleBinding(namespace, 'team-scale-reader', { kind: 'Role', name: 'scale-reader' }, { kind: 'Group', name: person.groups[0] ?? '' }));

    const getScale = { verb: 'get', group: 'apps', resource: 'deployments', subresource: 'scale', namespace, name: 'cart' };
    await eventually('the binding to reach the authorizer', async () => (await reviewAccess(admin, person, getScale)).allowed);

    const cases = [
      { attributes: getScale, allowed: true, real: { method: 'GET' as const, path: `/apis/apps/v1/namespaces/${namespace}/deployments/cart/scale` } },
      {
        attributes: { ...getScale, verb: 'patch' },
        allowed: false,
        real: { method: 'PATCH' as const, path: `/apis/apps/v1/namespaces/${namespace}/deployments/cart/scale`, body: { spec: { replicas: 2 } }, contentType: 'application/merge-patch+json' },
      },
      { attributes: { verb: 'delete', group: '', resource: 'pods', namespace, name: 'cart-1' }, allowed: false, real: { method: 'DELETE' as const, path: `/api/v1/namespaces/${namespace}/pods/cart-1` } },
      { attributes: { ...getScale, namespace: 'payments' }, allowed: false, real: { method: 'GET' as const, path: '/apis/apps/v1/namespaces/payments/deployments/cart/scale' } },
    ];
    for (const { attributes, allowed, real } of cases) {
      expect((await reviewAccess(admin, person, attributes)).allowed, JSON.stringify(attributes)).toBe(allowed);
      // The real request, impersonated: allowed ones get past RBAC (404: there is no deployment).
      expect(await statusOf(admin.request({ ...real, impersonate: person })), JSON.stringify(attributes)).toBe(allowed ? 404 : 403);
    }
  });

  it('serves the hand-written cert-manager Certificate CRD with a status subresource', async () => {
    const path = '/apis/cert-manager.io/v1/namespaces/shop/certificates';
    const name = `smoke-${unique()}`;
    await admin.request({
      method: 'POST',
      path,
      body: { apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name }, spec: { secretName: `${name}-tls`, dnsNames: ['shop.example.com'], issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer' } } },
    });
    const status = { notAfter: '2030-01-01T00:00:00Z', renewalTime: '2029-12-01T00:00:00Z', conditions: [{ type: 'Ready', status: 'True', reason: 'Ready' }] };
    const written = await admin.request<{ status: typeof status }>({
      method: 'PATCH',
      path: `${path}/${name}/status`,
      body: { status },
      contentType: 'application/merge-patch+json',
    });
    expect(written.status).toEqual(status);
    // The schema is typed: a condition status outside True/False/Unknown is refused.
    const invalid = admin.request({ method: 'PATCH', path: `${path}/${name}/status`, body: { status: { conditions: [{ type: 'Ready', status: 'Yes' }] } }, contentType: 'application/merge-patch+json' });
    expect(await statusOf(invalid)).toBe(422);
  });

  it("serves the hand-written External Secrets CRDs: an ExternalSecret and its store, typed where Lookout reads them", async () => {
    const name = `smoke-${unique()}`;
    await admin.request({
      method: 'POST',
      path: '/apis/external-secrets.io/v1/namespaces/payments/secretstores',
      body: { apiVersion: 'external-secrets.io/v1', kind: 'SecretStore', metadata: { name }, spec: { provider: { vault: { server: servers.bao.addr, path: 'secret', version: 'v2', auth: {} } } } },
    });
    const externalSecret = { secretStoreRef: { name, kind: 'SecretStore' }, target: { name: `${name}-creds` }, data: [{ secretKey: 'password', remoteRef: { key: 'payments/db', property: 'password' } }] };
    const path = '/apis/external-secrets.io/v1/namespaces/payments/externalsecrets';
    const created = await admin.request<{ spec: unknown }>({ method: 'POST', path, body: { apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', metadata: { name }, spec: externalSecret } });
    expect(created.spec).toEqual(externalSecret);
    const badPolicy = admin.request({ method: 'POST', path, body: { apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', metadata: { name: `${name}-bad` }, spec: { refreshPolicy: 'Sometimes' } } });
    expect(await statusOf(badPolicy)).toBe(422);
    const noKey = admin.request({ method: 'POST', path, body: { apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', metadata: { name: `${name}-nokey` }, spec: { data: [{ secretKey: 'p', remoteRef: {} }] } } });
    expect(await statusOf(noKey)).toBe(422);
  });
});

/** A ServiceAccount token allowed to impersonate users and groups (and nothing else). */
async function impersonatorToken(namespace: string): Promise<string> {
  const account = { namespace, name: 'impersonator' };
  await ensureObject(admin, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: account });
  const name = `smoke-impersonator-${namespace}`;
  await createOrReplace(admin, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name },
    rules: [{ apiGroups: [''], resources: ['users', 'groups'], verbs: ['impersonate'] }],
  });
  await createOrReplace(admin, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
    subjects: [{ kind: 'ServiceAccount', ...account }],
  });
  return requestToken(admin, account, 600);
}

/** fetch() takes no per-request CA: trust the test CA process-wide (this worker only). */
function trustTestCa(): void {
  const ca = readFileSync(servers.kube.caFile, 'utf8');
  const current = getCACertificates('default');
  if (!current.includes(ca)) setDefaultCACertificates([...current, ca]);
}

describe('OpenBao', () => {
  const bao = (method: string, path: string, token: string, body?: unknown) =>
    fetch(`${servers.bao.addr}/v1/${path}`, {
      method,
      headers: { 'x-vault-token': token, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  it('KV v2 at secret/ rejects a write whose check-and-set version is stale', async () => {
    const path = `secret/data/smoke/${unique()}`;
    const root = servers.bao.rootToken;
    const first = await bao('POST', path, root, { options: { cas: 0 }, data: { password: 'one' } });
    expect(first.status).toBe(200);
    expect(((await first.json()) as { data: { version: number } }).data.version).toBe(1);

    const second = await bao('POST', path, root, { options: { cas: 1 }, data: { password: 'two' } });
    expect(((await second.json()) as { data: { version: number } }).data.version).toBe(2);

    for (const staleCas of [0, 1]) {
      const stale = await bao('POST', path, root, { options: { cas: staleCas }, data: { password: 'lost update' } });
      expect(stale.status).toBe(400);
      expect(await stale.text()).toContain('check-and-set parameter did not match');
    }
    const read = (await (await bao('GET', path, root)).json()) as { data: { data: { password: string }; metadata: { version: number } } };
    expect(read.data.data.password).toBe('two');
    expect(read.data.metadata.version).toBe(2);
  });

  it('Kubernetes login succeeds with the bot ServiceAccount token and fails with forged ones', async () => {
    const login = (jwt: string) =>
      fetch(`${servers.bao.addr}/v1/auth/${servers.bao.kubernetesAuthPath}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ role: servers.bao.role, jwt }),
      });
    const jwt = await requestToken(admin, BOT_SERVICE_ACCOUNT, 600);

    const ok = await login(jwt);
    expect(ok.status).toBe(200);
    const auth = ((await ok.json()) as { auth: { client_token: string; policies: string[]; metadata: Record<string, string> } }).auth;
    expect(auth.metadata).toMatchObject({ service_account_name: 'lookout', service_account_namespace: 'lookout' });
    expect(auth.policies).toContain('lookout');
    // The role's policy: KV data under secret/ yes, anything else no.
    const write = await bao('POST', `secret/data/smoke/${unique()}`, auth.client_token, { data: { k: 'v' } });
    expect(write.status).toBe(200);
    await write.text();
    const mounts = await bao('GET', 'sys/mounts', auth.client_token);
    expect(mounts.status).toBe(403);
    await mounts.text();

    // Same claims, signed by a key the apiserver does not know.
    const [header, payload] = jwt.split('.') as [string, string, string];
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const forged = `${header}.${payload}.${createSign('RSA-SHA256').update(`${header}.${payload}`).sign(privateKey, 'base64url')}`;
    // A real signature over other claims (the namespace changed).
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: 'system:serviceaccount:lookout:admin' })).toString('base64url')}.${jwt.split('.')[2]}`;
    for (const bad of [forged, tampered]) {
      const denied = await login(bad);
      expect(denied.status).toBe(403);
      expect(await denied.text()).not.toContain('client_token');
    }
  });
});

describe('PostgreSQL', () => {
  /** Connects, runs `sql`, disconnects; rejects with pg's error (its `code` is PostgreSQL's SQLSTATE). */
  async function query(config: pg.ClientConfig, sql: string): Promise<Record<string, unknown>[]> {
    const client = new pg.Client({ connectionTimeoutMillis: 5_000, ...config });
    await client.connect();
    try {
      return (await client.query(sql)).rows as Record<string, unknown>[];
    } finally {
      await client.end();
    }
  }

  it('is a real PostgreSQL on 127.0.0.1 only, durability off, and wants the superuser password over TCP and the socket', async () => {
    const { url, socketDir, port, password } = servers.postgres;
    const [settings] = await query({ connectionString: url }, "SELECT version(), current_user, current_setting('listen_addresses') AS listen, current_setting('fsync') AS fsync");
    expect(settings).toMatchObject({ current_user: 'postgres', listen: '127.0.0.1', fsync: 'off' });
    expect(settings?.version).toMatch(/^PostgreSQL \d+/);
    // The socket in the run directory, with the same password authentication.
    expect(await query({ host: socketDir, port, user: 'postgres', password, database: 'postgres' }, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    for (const host of ['127.0.0.1', socketDir]) {
      await expect(query({ host, port, user: 'postgres', password: `${password}x`, database: 'postgres' }, 'SELECT 1')).rejects.toMatchObject({ code: '28P01' });
    }
  });
});

describe('OpenBao database engine', () => {
  const bao = async <T>(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${servers.bao.addr}/v1/${path}`, {
      method,
      headers: { 'x-vault-token': token, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  };
  const logIn = async (user: string, password: string) => {
    const client = new pg.Client({ host: '127.0.0.1', port: servers.postgres.port, user, password, database: 'postgres', connectionTimeoutMillis: 5_000 });
    await client.connect();
    await client.end();
  };
  const passwordOf = async (role: string) =>
    (await bao<{ data: { password: string; username: string } }>('GET', `${servers.bao.database.mount}/static-creds/${role}`, servers.bao.rootToken)).body.data;

  it("manages PostgreSQL role app with static role app: the password it holds logs in", async () => {
    const { username, password } = await passwordOf(servers.bao.database.staticRole);
    expect(username).toBe('app');
    await expect(logIn('app', password)).resolves.toBeUndefined();
    await expect(logIn('app', `${password}x`)).rejects.toMatchObject({ code: '28P01' });
  });

  it("Lookout's policy reads and rotates static roles but never reads their passwords; a rotation really changes the password", async () => {
    // A role of this test's own, so rotating it does not disturb other files.
    const role = `smoke_${unique()}`;
    const client = new pg.Client({ connectionString: servers.postgres.url });
    await client.connect();
    await client.query(`CREATE ROLE ${role} LOGIN PASSWORD '${randomBytes(12).toString('hex')}'`);
    await client.end();
    const { mount, connection } = servers.bao.database;
    expect((await bao('POST', `${mount}/static-roles/${role}`, servers.bao.rootToken, { db_name: connection, username: role, rotation_period: '24h' })).status).toBe(204);

    const jwt = await requestToken(admin, BOT_SERVICE_ACCOUNT, 600);
    const login = await bao<{ auth: { client_token: string } }>('POST', `auth/${servers.bao.kubernetesAuthPath}/login`, '', { role: servers.bao.role, jwt });
    const lookout = login.body.auth.client_token;

    const read = await bao<{ data: Record<string, unknown> }>('GET', `${mount}/static-roles/${role}`, lookout);
    expect(read.status).toBe(200);
    expect(read.body.data).toMatchObject({ username: role, db_name: connection, rotation_period: 86400, last_vault_rotation: expect.any(String) });
    expect(Object.keys(read.body.data)).not.toContain('password');
    expect((await bao('GET', `${mount}/static-creds/${role}`, lookout)).status).toBe(403);
    expect((await bao('GET', `${mount}/config/${connection}`, lookout)).status).toBe(403);

    const before = await passwordOf(role);
    expect((await bao('POST', `${mount}/rotate-role/${role}`, lookout)).status).toBe(204);
    const after = await passwordOf(role);
    expect(after.password).not.toBe(before.password);
    await expect(logIn(role, before.password)).rejects.toMatchObject({ code: '28P01' });
    await expect(logIn(role, after.password)).resolves.toBeUndefined();
  });
});

describe('Loki', () => {
  it('returns pushed lines from query_range', async () => {
    const loki = servers.loki;
    const stream = `smoke-${unique()}`;
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    const lines = ['OOMKilled: container api', 'back-off restarting failed container'];
    const push = await fetch(`${loki.url}/loki/api/v1/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ streams: [{ stream: { namespace: 'shop', pod: stream }, values: lines.map((line, i) => [String(nowNs + BigInt(i)), line]) }] }),
    });
    expect(push.status).toBe(204);

    const query = new URLSearchParams({ query: `{pod="${stream}"}`, start: String(nowNs - 60_000_000_000n), end: String(nowNs + 60_000_000_000n), direction: 'forward' });
    const found = await waitFor(
      'the pushed lines to be queryable',
      async () => {
        const res = await fetch(`${loki.url}/loki/api/v1/query_range?${query}`);
        const body = (await res.json()) as { data: { result: { values: [string, string][] }[] } };
        const values = body.data.result.flatMap((r) => r.values.map(([, line]) => line));
        return values.length === lines.length ? values : undefined;
      },
      20_000,
      200,
    );
    expect(found).toEqual(lines);
  });
});

describe('Alertmanager', () => {
  it('is ready and accepts alerts', async () => {
    const res = await fetch(`${servers.alertmanager.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ labels: { alertname: `Smoke${unique()}`, severity: 'info' } }]),
    });
    expect(res.status).toBe(200);
    await res.text();
  });
});
