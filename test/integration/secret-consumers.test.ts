import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeApiError, type KubeHttp } from '../../src/kube/kube-http.ts';
import { LookoutKubeReads } from '../../src/kube/lookout-reads.ts';
import { PersonKubeClient } from '../../src/kube/person-kube.ts';
import { forceSyncAndWait, readSyncBaseline, restartsAfterSync, FORCE_SYNC_ANNOTATION } from '../../src/vault/external-secret-sync.ts';
import { findSecretConsumers, type ConsumerQuery } from '../../src/vault/secret-consumers.ts';
import { eventually, freshNamespace, roleBinding } from '../support/kube-test-helpers.ts';
import { playExternalSecretsController } from '../support/external-secrets-controller.ts';
import { expectNoSecretLeaks } from '../support/secret-leaks.ts';
import { createOrReplace } from '../support/servers/kube-objects.ts';
import { kubeHttpFor } from '../support/servers/kubeconfigs.ts';
import { testServers, type TestServers } from '../support/servers/test-servers.ts';

/*
 * Finding the consumers of a rotated Vault path, against the real kube-apiserver with Lookout's
 * own RBAC (manifests/base/rbac.yaml, as the bot), and syncing ExternalSecrets as a person
 * (slack:alice, impersonated by the bot, with a Role of this file's own) against the real
 * OpenBao. No External Secrets controller runs here: the test plays its part — a loop that, when
 * an ExternalSecret's force-sync annotation changes, reads the path from OpenBao and writes the
 * target Secret, as ESO would. That loop is the only stand-in; which workloads are found, the
 * RBAC, the annotation patch and the Secret reads are the real API server's.
 */

let servers: TestServers;
let admin: KubeHttp;
let namespace: string;
let query: ConsumerQuery;
const vaultPath = `secret/consumers-${randomBytes(3).toString('hex')}/db`;
const values: string[] = [];

const ALICE = { username: 'slack:alice', groups: [], derivation: [] };

beforeAll(async () => {
  servers = testServers();
  admin = kubeHttpFor(servers.kube.kubeconfigs.admin);
  namespace = await freshNamespace(admin, 'consumers');
  query = { path: vaultPath, mount: 'secret', namespace, restart: [] };
  await writeVault({ password: newValue(), username: 'app' });

  const create = (path: string, body: object) => admin.request({ method: 'POST', path, body });
  const apps = `/apis/apps/v1/namespaces/${namespace}`;
  const eso = `/apis/external-secrets.io/v1/namespaces/${namespace}`;
  await create(`${eso}/secretstores`, { apiVersion: 'external-secrets.io/v1', kind: 'SecretStore', metadata: { name: 'vault' }, spec: { provider: { vault: { server: servers.bao.addr, path: 'secret', version: 'v2' } } } });
  const keyInStore = vaultPath.slice('secret/'.length);
  await create(`${eso}/externalsecrets`, externalSecret('db', 'db-creds', keyInStore));
  // A second ExternalSecret of the same path, that "ESO" never refreshes in this test.
  await create(`${eso}/externalsecrets`, externalSecret('stuck', 'stuck-creds', `secret/data/${keyInStore}`));
  await create(`${eso}/externalsecrets`, externalSecret('elsewhere', 'other-creds', 'other/db'));
  for (const name of ['db-creds', 'stuck-creds', 'other-creds']) await create(`/api/v1/namespaces/${namespace}/secrets`, { metadata: { name }, data: await vaultData() });

  await create(`${apps}/deployments`, workload('api', { 'lookout.dev/vault-secrets': `secret/other,${vaultPath}` }, {}));
  await create(`${apps}/deployments`, workload('worker', {}, { containers: [{ name: 'worker', image: 'x', env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db-creds', key: 'password' } } }] }] }));
  await create(`${apps}/deployments`, workload('reloaded', { 'reloader.stakater.com/auto': 'true' }, { volumes: [{ name: 'creds', secret: { secretName: 'db-creds' } }] }));
  await create(`${apps}/deployments`, workload('stale', {}, { volumes: [{ name: 'creds', projected: { sources: [{ secret: { name: 'stuck-creds' } }] } }] }));
  await create(`${apps}/deployments`, workload('unrelated', {}, { volumes: [{ name: 'creds', secret: { secretName: 'other-creds' } }] }));
  await create(`${apps}/statefulsets`, workload('migrator', {}, { initContainers: [{ name: 'migrate', image: 'x', envFrom: [{ secretRef: { name: 'db-creds' } }] }] }, { serviceName: 'migrator' }));
});

afterAll(async () => {
  await admin?.request({ method: 'DELETE', path: `/api/v1/namespaces/${namespace}` }).catch(() => undefined);
});

function newValue(): string {
  const value = `pw-${randomBytes(12).toString('base64url')}`;
  values.push(value);
  return value;
}

async function writeVault(data: Record<string, string>): Promise<void> {
  const res = await fetch(`${servers.bao.addr}/v1/${vaultPath.replace(/^secret\//, 'secret/data/')}`, {
    method: 'POST',
    headers: { 'x-vault-token': servers.bao.rootToken, 'content-type': 'application/json' },
    body: JSON.stringify({ data }),
  });
  expect(res.status).toBe(200);
  await res.text();
}

/** The path's current data as a Secret's `data` (base64), as ESO would write it. */
async function vaultData(): Promise<Record<string, string>> {
  const res = await fetch(`${servers.bao.addr}/v1/${vaultPath.replace(/^secret\//, 'secret/data/')}`, { headers: { 'x-vault-token': servers.bao.rootToken } });
  const { data } = (await res.json()) as { data: { data: Record<string, string> } };
  return Object.fromEntries(Object.entries(data.data).map(([key, value]) => [key, Buffer.from(value).toString('base64')]));
}

function externalSecret(name: string, target: string, key: string) {
  return {
    apiVersion: 'external-secrets.io/v1',
    kind: 'ExternalSecret',
    metadata: { name },
    spec: { refreshInterval: '1h', secretStoreRef: { name: 'vault', kind: 'SecretStore' }, target: { name: target }, dataFrom: [{ extract: { key } }] },
  };
}

function workload(name: string, annotations: Record<string, string>, podSpec: Record<string, unknown>, spec: Record<string, unknown> = {}) {
  return {
    metadata: { name, annotations },
    spec: {
      ...spec,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'x' }], ...podSpec } },
    },
  };
}

/** Gives alice a Role in the test's namespace; resolves once RBAC answers with it. */
async function grantAlice(name: string, rules: object[]): Promise<void> {
  await createOrReplace(admin, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace }, rules });
  await createOrReplace(admin, roleBinding(namespace, name, { kind: 'Role', name }, { kind: 'User', name: ALICE.username }));
}

describe('findSecretConsumers against the real apiserver, reading as Lookout (its ClusterRole from the manifest)', () => {
  it('finds annotated workloads, ExternalSecrets of the path and the workloads using their Secrets; Reloader-managed ones are skipped', async () => {
    const bot = new LookoutKubeReads(kubeHttpFor(servers.kube.kubeconfigs.bot));
    const found = await findSecretConsumers(bot, { ...query, restart: [{ kind: 'Deployment', namespace, name: 'unrelated' }] });
    expect(found.problems).toEqual([]);
    expect(found.externalSecrets.map((e) => [e.name, e.secretName])).toEqual([
      ['db', 'db-creds'],
      ['stuck', 'stuck-creds'],
    ]);
    const byName = Object.fromEntries(found.consumers.map((c) => [`${c.workload.kind}/${c.workload.name}`, c.reasons.map((r) => r.text)]));
    expect(byName).toEqual({
      'Deployment/unrelated': ['named with --restart'],
      'Deployment/api': ['annotated lookout.dev/vault-secrets'],
      'Deployment/worker': ['uses Secret db-creds (container worker: env DB_PASSWORD)'],
      'Deployment/stale': ['uses Secret stuck-creds (projected volume creds)'],
      'StatefulSet/migrator': ['uses Secret db-creds (init container migrate: envFrom)'],
    });
    expect(found.skipped).toEqual([{ workload: { kind: 'Deployment', namespace, name: 'reloaded' }, reason: 'Reloader restarts it when Secret db-creds changes (reloader.stakater.com/auto)' }]);
  });
});

describe('force-sync and wait, as the person', () => {
  it('the ExternalSecret the controller refreshes is synced and its consumers restart; the other times out and its consumer is held back; no value appears anywhere', async () => {
    await grantAlice('rotator', [
      { apiGroups: ['external-secrets.io'], resources: ['externalsecrets'], verbs: ['patch'] },
      { apiGroups: [''], resources: ['secrets'], verbs: ['get'] },
    ]);
    const alice = new PersonKubeClient({ kube: kubeHttpFor(servers.kube.kubeconfigs.bot), identity: async () => ALICE });
    await eventually('alice to read Secrets in the namespace', async () => {
      try {
        await alice.request({ method: 'GET', path: `/api/v1/namespaces/${namespace}/secrets/db-creds` });
        return true;
      } catch (error) {
        if (error instanceof KubeApiError && error.status === 403) return false;
        throw error;
      }
    });
    const found = await findSecretConsumers(new LookoutKubeReads(kubeHttpFor(servers.kube.kubeconfigs.bot)), query);
    const stop = playExternalSecretsController({ admin, namespace, names: ['db'], readData: vaultData });
    try {
      const baseline = await readSyncBaseline(alice, found.externalSecrets);
      await writeVault({ password: newValue(), username: 'app' });
      const outcomes = await forceSyncAndWait(alice, baseline, { timeoutMs: 3_000, pollIntervalMs: 100 });
      expect(outcomes.map((o) => [o.externalSecret.name, o.synced, o.synced ? '' : o.reason])).toEqual([
        ['db', true, ''],
        ['stuck', false, 'Secret stuck-creds: did not change within 3 s'],
      ]);
      const db = await admin.request<{ data: Record<string, string> }>({ method: 'GET', path: `/api/v1/namespaces/${namespace}/secrets/db-creds` });
      expect(db.data).toEqual(await vaultData());
      // Written as alice: the bot itself may not patch ExternalSecrets (rbac-manifests.test.ts).
      const es = await admin.request<{ metadata: { annotations: Record<string, string> } }>({
        method: 'GET',
        path: `/apis/external-secrets.io/v1/namespaces/${namespace}/externalsecrets/db`,
      });
      expect(es.metadata.annotations[FORCE_SYNC_ANNOTATION]).toMatch(/^\d+$/);

      const { restart, heldBack } = restartsAfterSync(found, outcomes);
      expect(restart.map((c) => c.workload.name)).toEqual(['api', 'worker', 'migrator']);
      expect(heldBack).toEqual([{ workload: { kind: 'Deployment', namespace, name: 'stale' }, reason: 'not restarted, it would get the old value: Secret stuck-creds: did not change within 3 s' }]);
      await expectNoSecretLeaks(values, { extra: { consumers: JSON.stringify(found), outcomes: JSON.stringify(outcomes), heldBack: JSON.stringify(heldBack) } });
    } finally {
      await stop();
    }
  });

  it('a person who may not read the Secret, or not patch the ExternalSecret, gets outcomes naming the permission; nothing is patched without a baseline', async () => {
    const bob = new PersonKubeClient({ kube: kubeHttpFor(servers.kube.kubeconfigs.bot), identity: async () => ({ username: 'slack:bob', groups: ['slack:sre'], derivation: [] }) });
    const found = await findSecretConsumers(new LookoutKubeReads(kubeHttpFor(servers.kube.kubeconfigs.bot)), query);
    const esPath = `/apis/external-secrets.io/v1/namespaces/${namespace}/externalsecrets/db`;
    const before = await admin.request<{ metadata: { resourceVersion: string } }>({ method: 'GET', path: esPath });
    const unread = await forceSyncAndWait(bob, await readSyncBaseline(bob, found.externalSecrets), { timeoutMs: 1_000, pollIntervalMs: 100 });
    expect(unread.map((o) => (o.synced ? 'synced' : o.reason))).toEqual([
      `Not allowed: this needs \`get\` on \`secrets\` named db-creds in namespace ${namespace}. (Secret db-creds)`,
      `Not allowed: this needs \`get\` on \`secrets\` named stuck-creds in namespace ${namespace}. (Secret stuck-creds)`,
    ]);
    const after = await admin.request<{ metadata: { resourceVersion: string } }>({ method: 'GET', path: esPath });
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);

    // Reading Secrets but not patching ExternalSecrets.
    await createOrReplace(admin, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'secret-reader', namespace }, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }] });
    await createOrReplace(admin, roleBinding(namespace, 'secret-reader', { kind: 'Role', name: 'secret-reader' }, { kind: 'Group', name: 'slack:sre' }));
    await eventually('bob to read Secrets', async () => typeof (await readSyncBaseline(bob, found.externalSecrets)).entries[0]?.before === 'string');
    const unpatched = await forceSyncAndWait(bob, await readSyncBaseline(bob, found.externalSecrets), { timeoutMs: 1_000, pollIntervalMs: 100 });
    expect(unpatched.map((o) => (o.synced ? 'synced' : o.reason))).toEqual([
      `Not allowed: this needs \`patch\` on \`externalsecrets.external-secrets.io\` named db in namespace ${namespace}. (ExternalSecret db)`,
      `Not allowed: this needs \`patch\` on \`externalsecrets.external-secrets.io\` named stuck in namespace ${namespace}. (ExternalSecret stuck)`,
    ]);
  });
});
