import { describe, expect, it } from 'vitest';
import { SourceUnavailable } from '../../../../alerts/enrichers/enrichment.ts';
import { createPodEnricher } from '../../../../alerts/enrichers/pod.ts';
import { KubeApiError } from '../../../../src/kube/kube-http.ts';
import { KubeReadError } from '../../../../src/kube/kube-reader.ts';
import { FakeReader, NOW, alertWith, crashLoopingPod, defaultRedactor as redactor, evictedPod, healthyPod, imagePullPod, never } from './kube-fixtures.ts';

function enricher(reader: FakeReader) {
  return createPodEnricher({ reader, now: () => NOW, redactor });
}

const alert = alertWith({ namespace: 'shop', pod: 'x' });

describe('pod enricher', () => {
  it('says CrashLoopBackOff, restarts, the last OOM kill and the node in one line', async () => {
    const reader = new FakeReader().addPod(crashLoopingPod);
    const fact = await enricher(reader).enrich(alert, { namespace: 'shop', pod: 'cart-7d9f8c6b5-x2x9q' }, never);
    expect(fact?.summary).toBe(
      '`cart-7d9f8c6b5-x2x9q` · CrashLoopBackOff · 14 restarts · last OOMKilled <!date^1772445420^{ago}|3m ago> · `node-2`',
    );
    expect(reader.calls).toEqual(['pod shop/cart-7d9f8c6b5-x2x9q']);
  });

  it('lists every container in the thread detail, with image, state, restarts and the last termination', async () => {
    const reader = new FakeReader().addPod(crashLoopingPod);
    const fact = await enricher(reader).enrich(alert, { namespace: 'shop', pod: 'cart-7d9f8c6b5-x2x9q' }, never);
    expect(fact?.detail?.split('\n')).toEqual([
      '*Pod* `shop/cart-7d9f8c6b5-x2x9q` · Running · ready 1/2 · node `node-2` · age 2h',
      '• `envoy` · `envoyproxy/envoy:v1.31.0` · running since <!date^1772438407^{date_short_pretty} {time_secs}|2026-03-02 08:00:07 UTC> · ready · 0 restarts',
      '• `app` · `registry.example.com/shop/cart:1.4.2` · waiting: CrashLoopBackOff · not ready · 14 restarts · last terminated OOMKilled <!date^1772445420^{date_short_pretty} {time_secs}|2026-03-02 09:57:00 UTC> <!date^1772445420^{ago}|3m ago>',
      '   > back-off 5m0s restarting failed container=app pod=cart-7d9f8c6b5-x2x9q_shop(p-1)',
    ]);
  });

  it('focuses on the container the alert names', async () => {
    const reader = new FakeReader().addPod(crashLoopingPod);
    const fact = await enricher(reader).enrich(alert, { namespace: 'shop', pod: 'cart-7d9f8c6b5-x2x9q', container: 'envoy' }, never);
    expect(fact?.summary).toBe('`cart-7d9f8c6b5-x2x9q` · Running, 1/2 ready · `node-2`');
  });

  it('shows ImagePullBackOff and redacts the credentials in the kubelet message', async () => {
    const reader = new FakeReader().addPod(imagePullPod);
    const fact = await enricher(reader).enrich(alert, { namespace: 'shop', pod: 'cart-6c5b4d9f7-abcde' }, never);
    expect(fact?.summary).toBe('`cart-6c5b4d9f7-abcde` · ImagePullBackOff · `node-1`');
    expect(fact?.detail).toContain('waiting: ImagePullBackOff');
    expect(fact?.detail).toContain('https://robot:[REDACTED]@registry.example.com/token');
    expect(fact?.detail).not.toContain('s3cr3t');
  });

  it('keeps a healthy pod short', async () => {
    const reader = new FakeReader().addPod(healthyPod);
    const fact = await enricher(reader).enrich(alert, { namespace: 'shop', pod: 'cart-7d9f8c6b5-healthy' }, never);
    expect(fact?.summary).toBe('`cart-7d9f8c6b5-healthy` · Running · `node-3`');
    expect(fact?.detail?.split('\n')[0]).toBe('*Pod* `shop/cart-7d9f8c6b5-healthy` · Running · ready 1/1 · node `node-3` · age 2d');
  });

  it("leads with the pod's own reason when it was evicted", async () => {
    const reader = new FakeReader().addPod(evictedPod);
    const fact = await enricher(reader).enrich(alert, { namespace: 'batch', pod: 'worker-0' }, never);
    expect(fact?.summary).toBe('`worker-0` · Evicted · last ContainerStatusUnknown (exit 137) <!date^1772443800^{ago}|30m ago> · `node-4`');
    expect(fact?.detail).toContain('> Evicted: The node was low on resource: memory. Threshold quantity: 100Mi, available: 51200Ki.');
  });

  it('says when the pod is gone, which is news in itself', async () => {
    const fact = await enricher(new FakeReader()).enrich(alert, { namespace: 'shop', pod: 'cart-old' }, never);
    expect(fact?.summary).toBe('`cart-old` no longer exists');
  });

  it('does nothing without a pod in the target', async () => {
    const reader = new FakeReader();
    expect(await enricher(reader).enrich(alert, { namespace: 'shop', workload: { kind: 'Deployment', name: 'cart' } }, never)).toBeUndefined();
    expect(await enricher(reader).enrich(alert, { node: 'node-2' }, never)).toBeUndefined();
    expect(reader.calls).toEqual([]);
  });

  it('fails with a safe reason, never the server message', async () => {
    const reader = new FakeReader();
    reader.failWith = new KubeApiError('GET', '/api/v1/namespaces/shop/pods/x', 403, 'Forbidden', 'pods "x" is forbidden: User "system:serviceaccount:lookout:lookout" cannot get resource');
    const failure = await enricher(reader).enrich(alert, { namespace: 'shop', pod: 'x' }, never).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SourceUnavailable);
    expect((failure as SourceUnavailable).reason).toBe('forbidden');
    expect((failure as SourceUnavailable).message).not.toContain('system:serviceaccount');
  });

  it('fails with "invalid response" when the answer has the wrong shape', async () => {
    const reader = new FakeReader();
    reader.failWith = new KubeReadError('invalid response');
    const failure = await enricher(reader).enrich(alert, { namespace: 'shop', pod: 'x' }, never).catch((error: unknown) => error);
    expect((failure as SourceUnavailable).reason).toBe('invalid response');
  });

  it('escapes what it quotes from the object', async () => {
    const reader = new FakeReader().addPod({
      ...healthyPod,
      status: { ...healthyPod.status, phase: 'Running', reason: 'Weird<b>&"', message: '<!channel> look' },
    });
    const fact = await enricher(reader).enrich(alert, { namespace: 'shop', pod: 'cart-7d9f8c6b5-healthy' }, never);
    expect(fact?.summary).toContain('Weird&lt;b&gt;&amp;"');
    expect(fact?.detail).toContain('&lt;!channel&gt; look');
    expect(fact?.detail).not.toContain('<!channel>');
  });
});
