import { describe, expect, it } from 'vitest';
import type { LookoutReads } from '../../../commands/command.ts';
import { KubeApiError } from '../../../src/kube/kube-http.ts';
import { findSecretConsumers, type ConsumerQuery } from '../../../src/vault/secret-consumers.ts';

const NS = 'payments';
const ES = `/apis/external-secrets.io/v1/namespaces/${NS}/externalsecrets`;
const STORE = `/apis/external-secrets.io/v1/namespaces/${NS}/secretstores/vault`;
const query: ConsumerQuery = { path: 'secret/payments/db', mount: 'secret', namespace: NS, restart: [] };

/** Lookout's reads over fixed objects; a path not listed answers 404 as the API server would. */
function readsOf(objects: Record<string, unknown>, denied: readonly string[] = []): LookoutReads & { paths: string[] } {
  const paths: string[] = [];
  return {
    paths,
    async get<T>(path: string): Promise<T> {
      paths.push(path);
      if (denied.includes(path)) throw new KubeApiError('GET', path, 403, 'Forbidden', 'forbidden');
      if (!(path in objects)) {
        if (path.startsWith('/apis/apps/v1/')) return { items: [] } as T;
        throw new KubeApiError('GET', path, 404, 'NotFound', 'not found');
      }
      return objects[path] as T;
    },
  };
}

function deployment(name: string, annotations: Record<string, string>, podSpec: Record<string, unknown> = {}) {
  return { metadata: { name, annotations }, spec: { template: { spec: { containers: [{ name: 'app' }], ...podSpec } } } };
}

const vaultStore = (vault: Record<string, unknown>) => ({ spec: { provider: { vault: { server: 'https://vault:8200', ...vault } } } });
const externalSecret = (name: string, spec: Record<string, unknown>) => ({ metadata: { name }, spec: { secretStoreRef: { name: 'vault', kind: 'SecretStore' }, ...spec } });

describe('findSecretConsumers', () => {
  it('annotated workloads match the exact path only, among comma-separated paths', async () => {
    const reads = readsOf({
      '/apis/apps/v1/namespaces/payments/deployments': {
        items: [
          deployment('api', { 'lookout.dev/vault-secrets': 'secret/payments/api , secret/payments/db' }),
          deployment('prefix', { 'lookout.dev/vault-secrets': 'secret/payments/db2,secret/payments' }),
          deployment('data-form', { 'lookout.dev/vault-secrets': 'secret/data/payments/db' }),
        ],
      },
      '/apis/apps/v1/namespaces/payments/statefulsets': { items: [{ metadata: { name: 'db', annotations: { 'lookout.dev/vault-secrets': 'secret/payments/db' } } }] },
    });
    const found = await findSecretConsumers(reads, query);
    expect(found.consumers.map((c) => [c.workload.kind, c.workload.name, c.reasons.map((r) => r.source)])).toEqual([
      ['Deployment', 'api', ['annotation']],
      ['StatefulSet', 'db', ['annotation']],
    ]);
    expect(found.externalSecrets).toEqual([]);
    expect(found.problems).toEqual([]);
  });

  it('--restart workloads come first, and a found one joins their entry instead of a second one', async () => {
    const reads = readsOf({ '/apis/apps/v1/namespaces/payments/deployments': { items: [deployment('api', { 'lookout.dev/vault-secrets': 'secret/payments/db' })] } });
    const found = await findSecretConsumers(reads, {
      ...query,
      restart: [
        { kind: 'Deployment', namespace: NS, name: 'api' },
        { kind: 'DaemonSet', namespace: NS, name: 'agent' },
      ],
    });
    expect(found.consumers.map((c) => [c.workload.name, c.reasons.map((r) => r.source)])).toEqual([
      ['api', ['requested', 'annotation']],
      ['agent', ['requested']],
    ]);
  });

  it('ExternalSecrets: data and dataFrom keys in every form ESO accepts, target name defaulting to its own', async () => {
    const reads = readsOf({
      [STORE]: vaultStore({ path: 'secret', version: 'v2' }),
      '/apis/external-secrets.io/v1/clustersecretstores/shared': vaultStore({}),
      '/apis/external-secrets.io/v1/namespaces/payments/secretstores/aws': { spec: { provider: { aws: { service: 'SecretsManager' } } } },
      [ES]: {
        items: [
          externalSecret('short-key', { target: { name: 'db-creds' }, data: [{ secretKey: 'password', remoteRef: { key: 'payments/db', property: 'password' } }] }),
          externalSecret('full-key', { dataFrom: [{ extract: { key: 'secret/payments/db' } }] }),
          externalSecret('cluster-store', { secretStoreRef: { name: 'shared', kind: 'ClusterSecretStore' }, data: [{ secretKey: 'p', remoteRef: { key: 'secret/data/payments/db' } }] }),
          externalSecret('entry-store', { secretStoreRef: { name: 'aws' }, data: [{ secretKey: 'p', remoteRef: { key: 'payments/db' }, sourceRef: { storeRef: { name: 'vault' } } }] }),
          externalSecret('other-path', { data: [{ secretKey: 'p', remoteRef: { key: 'payments/db-replica' } }] }),
          externalSecret('other-provider', { secretStoreRef: { name: 'aws' }, data: [{ secretKey: 'p', remoteRef: { key: 'secret/payments/db' } }] }),
          externalSecret('wrong-mount', { secretStoreRef: { name: 'shared', kind: 'ClusterSecretStore' }, data: [{ secretKey: 'p', remoteRef: { key: 'payments/db' } }] }),
        ],
      },
    });
    const found = await findSecretConsumers(reads, query);
    expect(found.externalSecrets).toEqual([
      { namespace: NS, name: 'short-key', secretName: 'db-creds', entries: ['data[0] password'] },
      { namespace: NS, name: 'full-key', secretName: 'full-key', entries: ['dataFrom[0] extract'] },
      { namespace: NS, name: 'cluster-store', secretName: 'cluster-store', entries: ['data[0] p'] },
      { namespace: NS, name: 'entry-store', secretName: 'entry-store', entries: ['data[0] p'] },
    ]);
    // Each store is read once, however many ExternalSecrets use it.
    expect(reads.paths.filter((path) => path === STORE)).toHaveLength(1);
  });

  it('an entry picking a key the rotation does not change, a pinned version and CreatedOnce are not synced', async () => {
    const reads = readsOf({
      [STORE]: vaultStore({ path: 'secret' }),
      [ES]: {
        items: [
          externalSecret('username-only', { data: [{ secretKey: 'u', remoteRef: { key: 'payments/db', property: 'username' } }] }),
          externalSecret('nested-password', { data: [{ secretKey: 'p', remoteRef: { key: 'payments/db', property: 'password.current' } }] }),
          externalSecret('pinned', { data: [{ secretKey: 'p', remoteRef: { key: 'payments/db', version: '3' } }] }),
          externalSecret('once', { refreshPolicy: 'CreatedOnce', dataFrom: [{ extract: { key: 'payments/db' } }] }),
        ],
      },
    });
    const found = await findSecretConsumers(reads, { ...query, keys: ['password'] });
    expect(found.externalSecrets.map((e) => e.name)).toEqual(['nested-password']);
    expect(found.unsyncedExternalSecrets).toEqual([
      { name: 'pinned', reason: 'data[0] pins version 3: it keeps the old value' },
      { name: 'once', reason: 'refreshPolicy CreatedOnce: External Secrets never updates its Secret' },
    ]);
    // Without `keys`, an entry with a property counts whatever key it picks.
    const all = await findSecretConsumers(reads, query);
    expect(all.externalSecrets.map((e) => e.name)).toEqual(['username-only', 'nested-password']);
  });

  it('workloads using a synced Secret are consumers, with how; Reloader-managed ones are skipped with why', async () => {
    const reads = readsOf({
      [STORE]: vaultStore({ path: 'secret' }),
      [ES]: { items: [externalSecret('db', { target: { name: 'db-creds' }, dataFrom: [{ extract: { key: 'payments/db' } }] })] },
      '/apis/apps/v1/namespaces/payments/deployments': {
        items: [
          deployment('env-user', {}, { containers: [{ name: 'api', env: [{ name: 'PW', valueFrom: { secretKeyRef: { name: 'db-creds', key: 'password' } } }] }] }),
          deployment('auto', { 'reloader.stakater.com/auto': 'true' }, { volumes: [{ name: 'c', secret: { secretName: 'db-creds' } }] }),
          deployment('secret-auto', { 'secret.reloader.stakater.com/auto': 'true' }, { volumes: [{ name: 'c', projected: { sources: [{ secret: { name: 'db-creds' } }] } }] }),
          deployment('listed', { 'secret.reloader.stakater.com/reload': 'other, db-creds', 'lookout.dev/vault-secrets': 'secret/payments/db' }),
          deployment('auto-elsewhere', { 'reloader.stakater.com/auto': 'true', 'lookout.dev/vault-secrets': 'secret/payments/db' }),
          deployment('auto-false', { 'reloader.stakater.com/auto': 'false' }, { volumes: [{ name: 'c', secret: { secretName: 'db-creds' } }] }),
          deployment('unrelated', { 'reloader.stakater.com/auto': 'true' }, { volumes: [{ name: 'c', secret: { secretName: 'other' } }] }),
        ],
      },
      '/apis/apps/v1/namespaces/payments/daemonsets': {
        items: [deployment('requested-auto', { 'reloader.stakater.com/auto': 'true' }, { initContainers: [{ name: 'init', envFrom: [{ secretRef: { name: 'db-creds' } }] }] })],
      },
    });
    const found = await findSecretConsumers(reads, { ...query, restart: [{ kind: 'DaemonSet', namespace: NS, name: 'requested-auto' }] });
    expect(found.consumers.map((c) => [c.workload.name, c.reasons.map((r) => r.text)])).toEqual([
      ['requested-auto', ['named with --restart', 'uses Secret db-creds (init container init: envFrom)']],
      ['env-user', ['uses Secret db-creds (container api: env PW)']],
      // Reloader's auto annotation covers only Secrets the pod spec uses: this one reads Vault itself.
      ['auto-elsewhere', ['annotated lookout.dev/vault-secrets']],
      ['auto-false', ['uses Secret db-creds (secret volume c)']],
    ]);
    expect(found.skipped.map((s) => [s.workload.name, s.reason])).toEqual([
      ['auto', 'Reloader restarts it when Secret db-creds changes (reloader.stakater.com/auto)'],
      ['secret-auto', 'Reloader restarts it when Secret db-creds changes (secret.reloader.stakater.com/auto)'],
      ['listed', 'Reloader restarts it when Secret db-creds changes (secret.reloader.stakater.com/reload)'],
    ]);
  });

  it('without External Secrets installed there is nothing to sync and no problem; a refused list or store is a problem, not a failure', async () => {
    const withoutEso = await findSecretConsumers(readsOf({}), query);
    expect(withoutEso).toMatchObject({ externalSecrets: [], problems: [] });

    const refusedList = await findSecretConsumers(readsOf({}, [ES]), query);
    expect(refusedList.problems).toEqual([expect.stringContaining('Lookout may not list ExternalSecrets in payments')]);

    const refusedStore = await findSecretConsumers(
      readsOf({ [ES]: { items: [externalSecret('db', { dataFrom: [{ extract: { key: 'payments/db' } }] })] } }, [STORE]),
      query,
    );
    expect(refusedStore.externalSecrets).toEqual([]);
    expect(refusedStore.problems).toEqual([expect.stringContaining('Lookout may not read SecretStore vault')]);

    const missingStore = await findSecretConsumers(readsOf({ [ES]: { items: [externalSecret('db', { dataFrom: [{ extract: { key: 'payments/db' } }] })] } }), query);
    expect(missingStore.problems).toEqual(['ExternalSecret db uses SecretStore vault, which does not exist; it was not matched.']);
  });

  it('a failed workload list is an error (a partial list would miss consumers silently)', async () => {
    const reads = readsOf({}, ['/apis/apps/v1/namespaces/payments/statefulsets']);
    await expect(findSecretConsumers(reads, query)).rejects.toBeInstanceOf(KubeApiError);
  });
});
