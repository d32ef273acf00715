import { describe, expect, it } from 'vitest';
import { createEventsEnricher } from '../../../../alerts/enrichers/events.ts';
import { eventSchema } from '../../../../src/kube/kube-objects.ts';
import { FakeReader, NOW, alertWith, cartReplicaSet, crashLoopingPod, defaultRedactor, never, warningEvent } from './kube-fixtures.ts';

const POD = 'cart-7d9f8c6b5-x2x9q';
const alert = alertWith({ namespace: 'shop', pod: POD }, '2026-03-02T09:55:00Z');
const enricher = (reader: FakeReader) => createEventsEnricher({ reader, now: () => NOW, redactor: defaultRedactor });

function readerWithEvents(): FakeReader {
  const reader = new FakeReader().addPod(crashLoopingPod).addWorkload({ kind: 'ReplicaSet', object: cartReplicaSet });
  reader.events.set(`shop/Pod/${POD}`, [
    warningEvent({ name: 'e1', kind: 'Pod', object: POD, reason: 'BackOff', message: 'Back-off restarting failed container app in pod cart', count: 9, last: '2026-03-02T09:58:00Z' }),
    warningEvent({ name: 'e2', kind: 'Pod', object: POD, reason: 'Unhealthy', message: 'Readiness probe failed: HTTP probe failed with statuscode: 503', count: 3, last: '2026-03-02T09:50:00Z' }),
    // The same reason again from a second event object (the kubelet restarted): counted together, newest message wins.
    warningEvent({ name: 'e3', kind: 'Pod', object: POD, reason: 'BackOff', message: 'Back-off restarting failed container app (newest)', count: 5, last: '2026-03-02T09:59:30Z' }),
    // Older than the alert's start minus an hour: old news.
    warningEvent({ name: 'e4', kind: 'Pod', object: POD, reason: 'FailedMount', message: 'MountVolume.SetUp failed', count: 2, last: '2026-03-02T07:00:00Z' }),
  ]);
  reader.events.set('shop/ReplicaSet/cart-7d9f8c6b5', [
    warningEvent({
      name: 'e5',
      kind: 'ReplicaSet',
      object: 'cart-7d9f8c6b5',
      reason: 'FailedCreate',
      message: 'Error creating: pods "cart-7d9f8c6b5-zz" is forbidden: exceeded quota: compute, requested: memory=2Gi',
      count: 4,
      last: '2026-03-02T09:57:00Z',
    }),
  ]);
  return reader;
}

describe('events enricher', () => {
  it('counts Warning events by reason for the pod and its controller, newest first', async () => {
    const reader = readerWithEvents();
    const fact = await enricher(reader).enrich(alert, { namespace: 'shop', pod: POD }, never);
    expect(fact?.summary).toBe('⚠️ BackOff ×14, FailedCreate ×4, Unhealthy ×3');
    expect(fact?.detail?.split('\n')).toEqual([
      '*Warning events* for Pod `cart-7d9f8c6b5-x2x9q`, ReplicaSet `cart-7d9f8c6b5`, newest first:',
      '• *BackOff* ×14 · Pod `cart-7d9f8c6b5-x2x9q` · <!date^1772445570^{ago}|30s ago> — Back-off restarting failed container app (newest)',
      '• *FailedCreate* ×4 · ReplicaSet `cart-7d9f8c6b5` · <!date^1772445420^{ago}|3m ago> — Error creating: pods "cart-7d9f8c6b5-zz" is forbidden: exceeded quota: compute, requested: memory=2Gi',
      '• *Unhealthy* ×3 · Pod `cart-7d9f8c6b5-x2x9q` · <!date^1772445000^{ago}|10m ago> — Readiness probe failed: HTTP probe failed with statuscode: 503',
    ]);
    expect(reader.calls).toEqual([
      `pod shop/${POD}`,
      'replicaset shop/cart-7d9f8c6b5',
      `events shop/Pod/${POD}`,
      'events shop/ReplicaSet/cart-7d9f8c6b5',
    ]);
  });

  it('names how many more reasons there are beyond the first three', async () => {
    const reader = readerWithEvents();
    reader.events.get(`shop/Pod/${POD}`)?.push(
      warningEvent({ name: 'e6', kind: 'Pod', object: POD, reason: 'FailedScheduling', message: '0/5 nodes are available', last: '2026-03-02T09:40:00Z' }),
    );
    const fact = await enricher(reader).enrich(alert, { namespace: 'shop', pod: POD }, never);
    expect(fact?.summary).toBe('⚠️ BackOff ×14, FailedCreate ×4, Unhealthy ×3 +1 more');
  });

  it('reads events.k8s.io-style events (series and eventTime, no lastTimestamp)', async () => {
    const reader = new FakeReader().addPod({ ...crashLoopingPod, metadata: { ...crashLoopingPod.metadata, ownerReferences: [] } });
    reader.events.set(`shop/Pod/${POD}`, [
      eventSchema.parse({
        metadata: { name: 'e7', namespace: 'shop', creationTimestamp: '2026-03-02T09:00:00Z' },
        involvedObject: { kind: 'Pod', name: POD },
        type: 'Warning',
        reason: 'OOMKilling',
        message: 'Memory cgroup out of memory: Killed process 4242 (java)',
        firstTimestamp: null,
        lastTimestamp: null,
        eventTime: '2026-03-02T09:00:00.123456Z',
        series: { count: 6, lastObservedTime: '2026-03-02T09:56:00.000000Z' },
        reportingComponent: 'kernel-monitor',
      }),
    ]);
    const fact = await enricher(reader).enrich(alert, { namespace: 'shop', pod: POD }, never);
    expect(fact?.summary).toBe('⚠️ OOMKilling ×6');
    expect(fact?.detail).toContain('<!date^1772445360^{ago}|4m ago>');
  });

  it('redacts and escapes event messages', async () => {
    const reader = new FakeReader().addPod(crashLoopingPod);
    reader.events.set(`shop/Pod/${POD}`, [
      warningEvent({ name: 'e8', kind: 'Pod', object: POD, reason: 'Unhealthy', message: 'Liveness probe failed: curl -H "Authorization: Bearer abcdefghijklmnop" <http://x>', last: '2026-03-02T09:58:00Z' }),
    ]);
    const fact = await enricher(reader).enrich(alert, { namespace: 'shop', pod: POD }, never);
    expect(fact?.detail).toContain('Bearer [REDACTED]" &lt;http://x&gt;');
    expect(fact?.detail).not.toContain('abcdefghijklmnop');
  });

  it('uses the workload the labels name when there is no pod', async () => {
    const reader = new FakeReader();
    reader.events.set('batch/Job/nightly-28911', [
      warningEvent({ name: 'e9', kind: 'Job', object: 'nightly-28911', namespace: 'batch', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit', last: '2026-03-02T09:54:00Z' }),
    ]);
    const fact = await enricher(reader).enrich(alert, { namespace: 'batch', workload: { kind: 'Job', name: 'nightly-28911' } }, never);
    expect(fact?.summary).toBe('⚠️ BackoffLimitExceeded ×1');
    expect(reader.calls).toEqual(['events batch/Job/nightly-28911']);
  });

  it('says in the thread that there were none, and nothing in the main message', async () => {
    const reader = new FakeReader().addPod(crashLoopingPod).addWorkload({ kind: 'ReplicaSet', object: cartReplicaSet });
    const fact = await enricher(reader).enrich(alert, { namespace: 'shop', pod: POD }, never);
    expect(fact).toEqual({
      source: 'events',
      summary: '',
      detail: '*Warning events*: none recent for Pod `cart-7d9f8c6b5-x2x9q`, ReplicaSet `cart-7d9f8c6b5`.',
    });
  });

  it('does nothing for alerts without a namespace', async () => {
    expect(await enricher(new FakeReader()).enrich(alert, { node: 'node-2' }, never)).toBeUndefined();
  });
});
