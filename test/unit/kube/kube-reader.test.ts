import { describe, expect, it } from 'vitest';
import { KubeApiError, type KubeRequest } from '../../../src/kube/kube-http.ts';
import { KubeReadError, KubeReader, type KubeRequester } from '../../../src/kube/kube-reader.ts';
import { ManualClock, freshMetrics, metricValue } from '../../helpers/fakes.ts';

interface Call {
  request: KubeRequest;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** A KubeHttp whose answers the test gives, one call at a time. */
class FakeKube implements KubeRequester {
  readonly calls: Call[] = [];

  request<T>(request: KubeRequest): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.calls.push({ request, resolve: resolve as (value: unknown) => void, reject });
    });
  }

  /** Calls not answered yet whose signal has not aborted. */
  get live(): Call[] {
    return this.calls.filter((call) => call.request.signal?.aborted !== true);
  }
}

/** Lets pending promise callbacks run; no time passes. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function pod(name: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'shop',
      uid: `uid-${name}`,
      creationTimestamp: '2026-01-01T00:00:00Z',
      managedFields: [{ manager: 'kubelet', fieldsV1: { 'f:status': {} } }],
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"big":"blob"}' },
    },
    spec: { nodeName: 'node-2', containers: [{ name: 'app', image: 'shop/cart:1.4.2', env: [{ name: 'PASSWORD', value: 'hunter2' }] }] },
    status: { phase: 'Running', containerStatuses: [{ name: 'app', ready: true, restartCount: 0, state: { running: {} } }] },
  };
}

function setup(options: { maxConcurrent?: number; cacheTtlMs?: number } = {}) {
  const kube = new FakeKube();
  const clock = new ManualClock();
  const metrics = freshMetrics();
  const reader = new KubeReader({
    http: kube,
    requests: metrics.kubeRequests,
    now: clock.now,
    cacheTtlMs: options.cacheTtlMs ?? 10_000,
    maxConcurrent: options.maxConcurrent ?? 8,
    requestTimeoutMs: 60_000,
  });
  return { kube, clock, metrics, reader };
}

describe('KubeReader', () => {
  it('reads a pod by its path, as the bot (no impersonation), keeping only the fields it uses', async () => {
    const { kube, reader, metrics } = setup();
    const read = reader.getPod('shop', 'cart-1');
    await settle();
    expect(kube.calls).toHaveLength(1);
    const [call] = kube.calls;
    expect(call?.request).toMatchObject({ method: 'GET', path: '/api/v1/namespaces/shop/pods/cart-1' });
    expect(call?.request.impersonate).toBeUndefined();
    call?.resolve(pod('cart-1'));
    const result = await read;
    expect(result?.spec?.nodeName).toBe('node-2');
    expect(result?.status?.containerStatuses?.[0]?.ready).toBe(true);
    expect(JSON.stringify(result)).not.toContain('managedFields');
    expect(JSON.stringify(result)).not.toContain('hunter2');
    expect(await metricValue(metrics, 'lookout_kube_requests_total', { resource: 'pods', outcome: 'ok' })).toBe(1);
  });

  it('reads the kinds alerts name besides pods and workloads, each at its API path', async () => {
    const { kube, reader } = setup();
    const reads = [
      reader.listPods('shop', 'app=cart,tier in (web)'),
      reader.listPods('shop', undefined),
      reader.getPodDisruptionBudget('shop', 'cart'),
      reader.getResourceQuota('shop', 'compute'),
      reader.getPersistentVolumeClaim('shop', 'data-db-0'),
      reader.getPersistentVolume('pv-1'),
    ];
    await settle();
    expect(kube.calls.map((call) => [call.request.path, call.request.query])).toEqual([
      ['/api/v1/namespaces/shop/pods', { limit: '500', labelSelector: 'app=cart,tier in (web)' }],
      ['/api/v1/namespaces/shop/pods', { limit: '500' }],
      ['/apis/policy/v1/namespaces/shop/poddisruptionbudgets/cart', undefined],
      ['/api/v1/namespaces/shop/resourcequotas/compute', undefined],
      ['/api/v1/namespaces/shop/persistentvolumeclaims/data-db-0', undefined],
      ['/api/v1/persistentvolumes/pv-1', undefined],
    ]);
    kube.calls[0]?.resolve({ apiVersion: 'v1', kind: 'PodList', metadata: {}, items: [pod('cart-1')] });
    kube.calls[1]?.resolve({ apiVersion: 'v1', kind: 'PodList', metadata: {}, items: [] });
    for (const call of kube.calls.slice(2)) call.reject(new KubeApiError('GET', call.request.path, 404, 'NotFound', 'not found'));
    const [selected, all, ...missing] = await Promise.all(reads);
    expect((selected as Array<{ metadata: { name: string } }>).map((item) => item.metadata.name)).toEqual(['cart-1']);
    expect(all).toEqual([]);
    expect(missing).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('shares one request between callers while it is pending', async () => {
    const { kube, reader, metrics } = setup();
    const reads = [reader.getPod('shop', 'cart-1'), reader.getPod('shop', 'cart-1'), reader.getPod('shop', 'cart-1')];
    await settle();
    expect(kube.calls).toHaveLength(1);
    kube.calls[0]?.resolve(pod('cart-1'));
    const results = await Promise.all(reads);
    expect(results.map((result) => result?.metadata.name)).toEqual(['cart-1', 'cart-1', 'cart-1']);
    expect(await metricValue(metrics, 'lookout_kube_requests_total')).toBe(1);
  });

  it('reuses an answer until the TTL passes, then asks again', async () => {
    const { kube, reader, clock } = setup({ cacheTtlMs: 10_000 });
    const first = reader.getPod('shop', 'cart-1');
    await settle();
    kube.calls[0]?.resolve(pod('cart-1'));
    await first;

    clock.advance(9_999);
    expect((await reader.getPod('shop', 'cart-1'))?.metadata.name).toBe('cart-1');
    expect(kube.calls).toHaveLength(1);

    clock.advance(1);
    const again = reader.getPod('shop', 'cart-1');
    await settle();
    expect(kube.calls).toHaveLength(2);
    kube.calls[1]?.resolve(pod('cart-1'));
    await again;
  });

  it('with a TTL of 0 shares pending requests but caches nothing', async () => {
    const { kube, reader } = setup({ cacheTtlMs: 0 });
    const first = reader.getPod('shop', 'cart-1');
    await settle();
    kube.calls[0]?.resolve(pod('cart-1'));
    await first;
    const second = reader.getPod('shop', 'cart-1');
    await settle();
    expect(kube.calls).toHaveLength(2);
    kube.calls[1]?.resolve(pod('cart-1'));
    await second;
  });

  it('answers undefined for a 404 and caches that too', async () => {
    const { kube, reader, metrics } = setup();
    const read = reader.getWorkload('Deployment', 'shop', 'gone');
    await settle();
    expect(kube.calls[0]?.request.path).toBe('/apis/apps/v1/namespaces/shop/deployments/gone');
    kube.calls[0]?.reject(new KubeApiError('GET', '/apis/apps/v1/namespaces/shop/deployments/gone', 404, 'NotFound', 'deployments.apps "gone" not found'));
    expect(await read).toBeUndefined();
    expect(await reader.getWorkload('Deployment', 'shop', 'gone')).toBeUndefined();
    expect(kube.calls).toHaveLength(1);
    expect(await metricValue(metrics, 'lookout_kube_requests_total', { resource: 'deployments', outcome: 'not_found' })).toBe(1);
  });

  it('does not cache failures, and counts them by outcome', async () => {
    const { kube, reader, metrics } = setup();
    const first = reader.getPod('shop', 'cart-1');
    await settle();
    kube.calls[0]?.reject(new KubeApiError('GET', '/api/v1/namespaces/shop/pods/cart-1', 403, 'Forbidden', 'pods "cart-1" is forbidden: User "lookout" cannot get'));
    await expect(first).rejects.toBeInstanceOf(KubeApiError);

    const second = reader.getPod('shop', 'cart-1');
    await settle();
    expect(kube.calls).toHaveLength(2);
    kube.calls[1]?.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' }));
    await expect(second).rejects.toThrow('ECONNREFUSED');

    expect(await metricValue(metrics, 'lookout_kube_requests_total', { outcome: 'forbidden' })).toBe(1);
    expect(await metricValue(metrics, 'lookout_kube_requests_total', { outcome: 'unreachable' })).toBe(1);
  });

  it('rejects an answer of the wrong shape with a safe reason', async () => {
    const { kube, reader } = setup();
    const read = reader.getPod('shop', 'cart-1');
    await settle();
    kube.calls[0]?.resolve({ kind: 'Status', metadata: { name: 42 } });
    await expect(read).rejects.toMatchObject({ name: 'KubeReadError', reason: 'invalid response' });
    await expect(read).rejects.toBeInstanceOf(KubeReadError);
  });

  it('keeps at most maxConcurrent requests in flight and runs the rest as slots free up', async () => {
    const { kube, reader } = setup({ maxConcurrent: 3 });
    const reads = Array.from({ length: 10 }, (_, index) => reader.getPod('shop', `cart-${index}`));
    await settle();
    expect(kube.calls).toHaveLength(3);

    let answered = 0;
    let maxPending = 0;
    while (answered < 10) {
      const pending = kube.calls.length - answered;
      maxPending = Math.max(maxPending, pending);
      const call = kube.calls[answered];
      const name = call?.request.path.split('/').pop() ?? '';
      call?.resolve(pod(name));
      answered += 1;
      await settle();
    }
    expect(maxPending).toBe(3);
    const results = await Promise.all(reads);
    expect(results.map((result) => result?.metadata.name)).toEqual(Array.from({ length: 10 }, (_, index) => `cart-${index}`));
  });

  it('a caller that gives up does not cancel the lookup for the others', async () => {
    const { kube, reader } = setup();
    const impatient = new AbortController();
    const a = reader.getPod('shop', 'cart-1', impatient.signal);
    const b = reader.getPod('shop', 'cart-1');
    await settle();
    impatient.abort(new DOMException('deadline', 'TimeoutError'));
    await expect(a).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(kube.calls[0]?.request.signal?.aborted).toBe(false);
    kube.calls[0]?.resolve(pod('cart-1'));
    expect((await b)?.metadata.name).toBe('cart-1');
  });

  it('aborts the request when every caller gave up, and the next caller starts afresh', async () => {
    const { kube, reader, metrics } = setup();
    const controller = new AbortController();
    const a = reader.getPod('shop', 'cart-1', controller.signal);
    const b = reader.getPod('shop', 'cart-1', controller.signal);
    await settle();
    controller.abort();
    await expect(a).rejects.toMatchObject({ name: 'AbortError' });
    await expect(b).rejects.toMatchObject({ name: 'AbortError' });
    expect(kube.calls[0]?.request.signal?.aborted).toBe(true);
    kube.calls[0]?.reject(new DOMException('aborted', 'AbortError'));

    const c = reader.getPod('shop', 'cart-1');
    await settle();
    expect(kube.calls).toHaveLength(2);
    kube.calls[1]?.resolve(pod('cart-1'));
    expect((await c)?.metadata.name).toBe('cart-1');
    expect(await metricValue(metrics, 'lookout_kube_requests_total', { outcome: 'aborted' })).toBe(1);
  });

  it('never sends a queued request whose callers gave up while it waited for a slot', async () => {
    const { kube, reader } = setup({ maxConcurrent: 1 });
    const first = reader.getPod('shop', 'cart-1');
    const controller = new AbortController();
    const queued = reader.getPod('shop', 'cart-2', controller.signal);
    await settle();
    controller.abort();
    await expect(queued).rejects.toMatchObject({ name: 'AbortError' });
    kube.calls[0]?.resolve(pod('cart-1'));
    await first;
    await settle();
    expect(kube.calls.map((call) => call.request.path)).toEqual(['/api/v1/namespaces/shop/pods/cart-1']);
  });

  it('lists Warning events about one object with a field selector', async () => {
    const { kube, reader } = setup();
    const read = reader.listWarningEvents('shop', { kind: 'Pod', name: 'cart-1' });
    await settle();
    expect(kube.calls[0]?.request).toMatchObject({
      path: '/api/v1/namespaces/shop/events',
      query: { fieldSelector: 'involvedObject.kind=Pod,involvedObject.name=cart-1,type=Warning', limit: '200' },
    });
    kube.calls[0]?.resolve({
      kind: 'EventList',
      items: [
        {
          metadata: { name: 'cart-1.17a', namespace: 'shop' },
          involvedObject: { kind: 'Pod', name: 'cart-1' },
          type: 'Warning',
          reason: 'BackOff',
          message: 'Back-off restarting failed container app',
          count: 14,
          eventTime: null,
          lastTimestamp: '2026-01-01T00:10:00Z',
        },
      ],
    });
    const events = await read;
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ reason: 'BackOff', count: 14 });
  });

  it('lists HPAs per namespace, so one request serves every workload there', async () => {
    const { kube, reader } = setup();
    const a = reader.listHorizontalPodAutoscalers('shop');
    const b = reader.listHorizontalPodAutoscalers('shop');
    await settle();
    expect(kube.calls).toHaveLength(1);
    expect(kube.calls[0]?.request.path).toBe('/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers');
    kube.calls[0]?.resolve({ items: [] });
    expect(await a).toEqual([]);
    expect(await b).toEqual([]);
  });

  it('reads each workload kind from its API group', async () => {
    const { kube, reader } = setup();
    for (const kind of ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'] as const) {
      void reader.getWorkload(kind, 'shop', 'x').catch(() => undefined);
    }
    void reader.getNode('node-2').catch(() => undefined);
    await settle();
    expect(kube.calls.map((call) => call.request.path)).toEqual([
      '/apis/apps/v1/namespaces/shop/deployments/x',
      '/apis/apps/v1/namespaces/shop/statefulsets/x',
      '/apis/apps/v1/namespaces/shop/daemonsets/x',
      '/apis/apps/v1/namespaces/shop/replicasets/x',
      '/apis/batch/v1/namespaces/shop/jobs/x',
      '/api/v1/nodes/node-2',
    ]);
  });

  it('keeps a name from escaping its path segment', async () => {
    const { kube, reader } = setup();
    void reader.getPod('shop', '..').catch(() => undefined);
    void reader.getPod('shop', 'a/b?c').catch(() => undefined);
    await settle();
    expect(kube.calls.map((call) => call.request.path)).toEqual([
      '/api/v1/namespaces/shop/pods/%2E%2E',
      '/api/v1/namespaces/shop/pods/a%2Fb%3Fc',
    ]);
  });
});
