import { describe, expect, it } from 'vitest';
import type { PersonKube, PersonKubeRequest } from '../../../commands/command.ts';
import { KubeApiError } from '../../../src/kube/kube-http.ts';
import { forceSyncAndWait, readSyncBaseline, restartsAfterSync, type SyncOutcome } from '../../../src/vault/external-secret-sync.ts';
import type { SecretConsumer, SyncingExternalSecret } from '../../../src/vault/secret-consumers.ts';

const db: SyncingExternalSecret = { namespace: 'payments', name: 'db', secretName: 'db-creds', entries: ['dataFrom[0] extract'] };
const api: SyncingExternalSecret = { namespace: 'payments', name: 'api', secretName: 'api-creds', entries: ['data[0] token'] };

/**
 * The person's Kubernetes over a few Secrets; `onPatch` plays the External Secrets controller
 * (what it writes when the force-sync annotation changes). GETs of `denied` Secrets answer 403.
 */
function personKube(secrets: Record<string, Record<string, string> | undefined>, options: { onPatch?: (name: string) => void; denied?: string[]; patchDenied?: boolean } = {}) {
  const requests: PersonKubeRequest[] = [];
  const kube: PersonKube = {
    async request<T>(request: PersonKubeRequest): Promise<T> {
      requests.push(request);
      const name = request.path.split('/').pop() ?? '';
      if (request.method === 'PATCH') {
        if (options.patchDenied) throw new KubeApiError('PATCH', request.path, 403, 'Forbidden', 'no');
        options.onPatch?.(name);
        return {} as T;
      }
      if (options.denied?.includes(name)) throw new KubeApiError('GET', request.path, 403, 'Forbidden', 'no');
      const data = secrets[name];
      if (!data) throw new KubeApiError('GET', request.path, 404, 'NotFound', 'no');
      return { data } as T;
    },
  };
  return { kube, requests, secrets };
}

const fast = { timeoutMs: 200, pollIntervalMs: 5 };

describe('forceSyncAndWait', () => {
  it('sets force-sync with a merge patch, and reports synced once the data changed', async () => {
    const world = personKube({ 'db-creds': { password: 'b2xk' } });
    const baseline = await readSyncBaseline(world.kube, [db]);
    let patched = false;
    const kube: PersonKube = {
      request: async <T>(request: PersonKubeRequest): Promise<T> => {
        if (request.method === 'PATCH') patched = true;
        // ESO writes the new value a few polls after the annotation.
        if (request.method === 'GET' && patched) world.secrets['db-creds'] = { password: 'bmV3' };
        return world.kube.request<T>(request);
      },
    };
    const outcomes = await forceSyncAndWait(kube, baseline, fast);
    expect(outcomes).toEqual([{ externalSecret: db, synced: true }]);
    const patch = world.requests.find((r) => r.method === 'PATCH');
    expect(patch).toMatchObject({
      path: '/apis/external-secrets.io/v1/namespaces/payments/externalsecrets/db',
      contentType: 'application/merge-patch+json',
      body: { metadata: { annotations: { 'force-sync': expect.stringMatching(/^\d+$/) } } },
    });
  });

  it('a key added or removed counts as a change, the same data in another order does not', async () => {
    const world = personKube({ 'db-creds': { a: 'MQ==', b: 'Mg==' } }, { onPatch: () => (world.secrets['db-creds'] = { b: 'Mg==', a: 'MQ==' }) });
    const unchanged = await forceSyncAndWait(world.kube, await readSyncBaseline(world.kube, [db]), fast);
    expect(unchanged).toEqual([{ externalSecret: db, synced: false, reason: 'Secret db-creds: did not change within 0.2 s' }]);

    const grown = personKube({ 'db-creds': { a: 'MQ==' } }, { onPatch: () => (grown.secrets['db-creds'] = { a: 'MQ==', b: '' }) });
    expect(await forceSyncAndWait(grown.kube, await readSyncBaseline(grown.kube, [db]), fast)).toEqual([{ externalSecret: db, synced: true }]);
  });

  it('a Secret that appears counts as synced; one that cannot be read or patched is an outcome naming the permission', async () => {
    const world = personKube({ 'db-creds': undefined }, { onPatch: (name) => name === 'db' && (world.secrets['db-creds'] = { p: 'eA==' }), denied: ['api-creds'] });
    const outcomes = await forceSyncAndWait(world.kube, await readSyncBaseline(world.kube, [db, api]), fast);
    expect(outcomes).toEqual([
      { externalSecret: db, synced: true },
      { externalSecret: api, synced: false, reason: 'Not allowed: this needs `get` on `secrets` named api-creds in namespace payments. (Secret api-creds)' },
    ]);
    // Nothing is patched for an ExternalSecret whose Secret cannot be watched.
    expect(world.requests.filter((r) => r.method === 'PATCH').map((r) => r.path)).toEqual(['/apis/external-secrets.io/v1/namespaces/payments/externalsecrets/db']);

    const refused = personKube({ 'db-creds': { p: 'eA==' } }, { patchDenied: true });
    const [outcome] = await forceSyncAndWait(refused.kube, await readSyncBaseline(refused.kube, [db]), fast);
    expect(outcome).toMatchObject({ synced: false, reason: expect.stringContaining('`patch` on `externalsecrets.external-secrets.io` named db') });
  });

  it('stops waiting when the signal aborts', async () => {
    const world = personKube({ 'db-creds': { p: 'eA==' } });
    const controller = new AbortController();
    const waiting = forceSyncAndWait(world.kube, await readSyncBaseline(world.kube, [db]), { timeoutMs: 60_000, pollIntervalMs: 60_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 10);
    expect(await waiting).toEqual([{ externalSecret: db, synced: false, reason: 'Secret db-creds: Lookout stopped waiting (shutting down)' }]);
  });

  it('an API server that stops answering after Vault was written is an outcome, not a crash of the reply', async () => {
    // The baseline was read; then the connection to the API server breaks (a KubeHttp network error).
    const world = personKube({ 'db-creds': { p: 'eA==' }, 'api-creds': { t: 'eQ==' } });
    const baseline = await readSyncBaseline(world.kube, [db, api]);
    const unreachable = (): never => {
      throw Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:6443'), { code: 'ECONNREFUSED' });
    };
    // ExternalSecret api's patch fails; db's goes through, then reading its Secret fails.
    const broken: PersonKube = { request: async <T>(request: PersonKubeRequest): Promise<T> => (request.path.endsWith('/externalsecrets/api') || request.method === 'GET' ? unreachable() : world.kube.request<T>(request)) };
    expect(await forceSyncAndWait(broken, baseline, fast)).toEqual([
      { externalSecret: db, synced: false, reason: 'Kubernetes did not answer for Secret db-creds (ECONNREFUSED)' },
      { externalSecret: api, synced: false, reason: 'Kubernetes did not answer for ExternalSecret api (ECONNREFUSED)' },
    ]);
  });
});

describe('restartsAfterSync', () => {
  const consumer = (name: string, reasons: SecretConsumer['reasons']): SecretConsumer => ({ workload: { kind: 'Deployment', namespace: 'payments', name }, reasons });
  const viaDb = { source: 'secret' as const, secretName: 'db-creds', externalSecret: 'db', text: 'uses Secret db-creds' };
  const viaApi = { source: 'secret' as const, secretName: 'api-creds', externalSecret: 'api', text: 'uses Secret api-creds' };
  const failedDb: SyncOutcome = { externalSecret: db, synced: false, reason: 'Secret db-creds: did not change within 30 s' };

  it('holds back only workloads whose every reason is a Secret that did not get the new value', () => {
    const result = restartsAfterSync(
      {
        consumers: [
          consumer('only-db', [viaDb]),
          consumer('db-and-api', [viaDb, viaApi]),
          consumer('annotated', [{ source: 'annotation', text: 'annotated' }, viaDb]),
          consumer('requested', [{ source: 'requested', text: 'named with --restart' }]),
        ],
      },
      [failedDb, { externalSecret: api, synced: true }],
    );
    expect(result.restart.map((c) => c.workload.name)).toEqual(['db-and-api', 'annotated', 'requested']);
    expect(result.heldBack).toEqual([
      { workload: { kind: 'Deployment', namespace: 'payments', name: 'only-db' }, reason: 'not restarted, it would get the old value: Secret db-creds: did not change within 30 s' },
    ]);
  });
});
