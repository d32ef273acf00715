import { describe, expect, it } from 'vitest';
import { createWorkloadEnricher } from '../../../../alerts/enrichers/workload.ts';
import { deploymentSchema, horizontalPodAutoscalerSchema } from '../../../../src/kube/kube-objects.ts';
import {
  FakeReader,
  NOW,
  alertWith,
  cartDeployment,
  cartHpa,
  cartReplicaSet,
  crashLoopingPod,
  daemonSetSchema,
  defaultRedactor,
  jobSchema,
  never,
  statefulSetSchema,
} from './kube-fixtures.ts';

function shopReader(): FakeReader {
  const reader = new FakeReader()
    .addPod(crashLoopingPod)
    .addWorkload({ kind: 'ReplicaSet', object: cartReplicaSet })
    .addWorkload({ kind: 'Deployment', object: cartDeployment });
  reader.hpas.set('shop', [cartHpa]);
  return reader;
}

const alert = alertWith({ namespace: 'shop', pod: 'cart-7d9f8c6b5-x2x9q' });
const enricher = (reader: FakeReader) => createWorkloadEnricher({ reader, now: () => NOW, redactor: defaultRedactor });

describe('workload enricher', () => {
  it('redacts condition messages, which quote what an admission webhook refused', async () => {
    const refused = deploymentSchema.parse({
      ...cartDeployment,
      status: {
        ...cartDeployment.status,
        conditions: [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: 'admission webhook denied: env TOKEN="Bearer abcdef0123456789" is not allowed' }],
      },
    });
    const reader = new FakeReader().addWorkload({ kind: 'Deployment', object: refused });
    const fact = await enricher(reader).enrich(alert, { namespace: 'shop', workload: { kind: 'Deployment', name: 'cart' } }, never);
    expect(fact?.detail).toContain('ReplicaFailure=True (FailedCreate) — admission webhook denied: env TOKEN="Bearer [REDACTED]"');
    expect(fact?.detail).not.toContain('abcdef0123456789');
  });

  it('follows the pod to its ReplicaSet and Deployment, and finds the HPA pinned at max', async () => {
    const reader = shopReader();
    const fact = await enricher(reader).enrich(alert, { namespace: 'shop', pod: 'cart-7d9f8c6b5-x2x9q' }, never);
    expect(fact?.summary).toBe('Deployment `cart` · ready 2/3 · updated 2 · available 2 · rollout in progress · HPA 2–3 *at max* (3)');
    expect(reader.calls).toEqual(['pod shop/cart-7d9f8c6b5-x2x9q', 'replicaset shop/cart-7d9f8c6b5', 'deployment shop/cart', 'hpas shop']);
    expect(fact?.detail?.split('\n')).toEqual([
      '*Deployment* `shop/cart` · ready 2/3 · updated 2 · available 2 · rollout in progress',
      'Pod `cart-7d9f8c6b5-x2x9q` → ReplicaSet `cart-7d9f8c6b5` → Deployment `cart`',
      '• Available=False (MinimumReplicasUnavailable) — Deployment does not have minimum availability.',
      '*HPA* `cart` · HPA 2–3 *at max* (3)',
      '• ScalingLimited=True (TooManyReplicas) — the desired replica count is more than the maximum replica count',
    ]);
  });

  it('uses the workload the labels name without reading the pod', async () => {
    const reader = shopReader();
    const fact = await enricher(reader).enrich(alert, { namespace: 'shop', workload: { kind: 'Deployment', name: 'cart' } }, never);
    expect(fact?.summary).toMatch(/^Deployment `cart` · ready 2\/3/);
    expect(reader.calls).toEqual(['deployment shop/cart', 'hpas shop']);
  });

  it('shows an HPA with room to scale as such', async () => {
    const reader = shopReader();
    reader.hpas.set('shop', [
      horizontalPodAutoscalerSchema.parse({ ...cartHpa, spec: { ...cartHpa.spec, maxReplicas: 10 }, status: { currentReplicas: 3, desiredReplicas: 5 } }),
    ]);
    const fact = await enricher(reader).enrich(alert, { namespace: 'shop', workload: { kind: 'Deployment', name: 'cart' } }, never);
    expect(fact?.summary).toContain('HPA 2–10 (now 3, wants 5)');
    expect(fact?.summary).not.toContain('at max');
  });

  it('ignores HPAs that scale something else', async () => {
    const reader = shopReader();
    reader.hpas.set('shop', [horizontalPodAutoscalerSchema.parse({ ...cartHpa, spec: { ...cartHpa.spec, scaleTargetRef: { kind: 'Deployment', name: 'checkout' } } })]);
    const fact = await enricher(reader).enrich(alert, { namespace: 'shop', workload: { kind: 'Deployment', name: 'cart' } }, never);
    expect(fact?.summary).not.toContain('HPA');
  });

  it('says when a rollout is paused or stuck rather than in progress', async () => {
    const reader = shopReader();
    reader.addWorkload({ kind: 'Deployment', object: { ...cartDeployment, spec: { replicas: 3, paused: true } } });
    let fact = await enricher(reader).enrich(alert, { namespace: 'shop', workload: { kind: 'Deployment', name: 'cart' } }, never);
    expect(fact?.summary).toContain('rollout paused');

    const stuck = {
      ...cartDeployment,
      status: {
        ...cartDeployment.status,
        conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "cart-7d9f8c6b5" has timed out progressing.' }],
      },
    };
    reader.addWorkload({ kind: 'Deployment', object: stuck });
    fact = await enricher(reader).enrich(alert, { namespace: 'shop', workload: { kind: 'Deployment', name: 'cart' } }, never);
    expect(fact?.summary).toContain('rollout stuck (ProgressDeadlineExceeded)');
    expect(fact?.detail).toContain('• Progressing=False (ProgressDeadlineExceeded) — ReplicaSet "cart-7d9f8c6b5" has timed out progressing.');
  });

  it('says nothing about a rollout when the Deployment is settled', async () => {
    const reader = shopReader();
    reader.addWorkload({
      kind: 'Deployment',
      object: { ...cartDeployment, status: { observedGeneration: 7, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3, conditions: [] } },
    });
    reader.hpas.set('shop', []);
    const fact = await enricher(reader).enrich(alert, { namespace: 'shop', workload: { kind: 'Deployment', name: 'cart' } }, never);
    expect(fact?.summary).toBe('Deployment `cart` · ready 3/3 · updated 3 · available 3');
  });

  it('describes StatefulSets mid-update, DaemonSets and failed Jobs', async () => {
    const reader = new FakeReader()
      .addWorkload({
        kind: 'StatefulSet',
        object: statefulSetSchema.parse({
          metadata: { name: 'postgres', namespace: 'db', generation: 2 },
          spec: { replicas: 3 },
          status: { observedGeneration: 2, replicas: 3, readyReplicas: 2, availableReplicas: 2, updatedReplicas: 1, currentRevision: 'postgres-6c8', updateRevision: 'postgres-7f9' },
        }),
      })
      .addWorkload({
        kind: 'DaemonSet',
        object: daemonSetSchema.parse({
          metadata: { name: 'cilium', namespace: 'kube-system', generation: 4 },
          status: { observedGeneration: 4, desiredNumberScheduled: 5, currentNumberScheduled: 5, numberReady: 4, numberAvailable: 4, updatedNumberScheduled: 5, numberMisscheduled: 0 },
        }),
      })
      .addWorkload({
        kind: 'Job',
        object: jobSchema.parse({
          metadata: { name: 'nightly-28911', namespace: 'batch' },
          spec: { completions: 1, backoffLimit: 6 },
          status: { failed: 7, conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' }] },
        }),
      });
    const sts = await enricher(reader).enrich(alert, { namespace: 'db', workload: { kind: 'StatefulSet', name: 'postgres' } }, never);
    expect(sts?.summary).toBe('StatefulSet `postgres` · ready 2/3 · updated 1 · available 2 · rollout in progress');
    const ds = await enricher(reader).enrich(alert, { namespace: 'kube-system', workload: { kind: 'DaemonSet', name: 'cilium' } }, never);
    expect(ds?.summary).toBe('DaemonSet `cilium` · ready 4/5 · updated 5 · available 4');
    const job = await enricher(reader).enrich(alert, { namespace: 'batch', workload: { kind: 'Job', name: 'nightly-28911' } }, never);
    expect(job?.summary).toBe('Job `nightly-28911` · active 0 · succeeded 0/1 · failed 7/7 · failed (BackoffLimitExceeded)');
    expect(job?.detail).toContain('• Failed=True (BackoffLimitExceeded) — Job has reached the specified backoff limit');
    // Neither DaemonSets nor Jobs can have an HPA: no list request for them.
    expect(reader.calls.filter((call) => call.startsWith('hpas'))).toEqual(['hpas db']);
  });

  it('stops at a bare ReplicaSet, and at controllers it does not know', async () => {
    const bareRs = { ...cartReplicaSet, metadata: { ...cartReplicaSet.metadata, ownerReferences: [] } };
    const reader = new FakeReader().addPod(crashLoopingPod).addWorkload({ kind: 'ReplicaSet', object: bareRs });
    const fact = await enricher(reader).enrich(alert, { namespace: 'shop', pod: 'cart-7d9f8c6b5-x2x9q' }, never);
    expect(fact?.summary).toBe('ReplicaSet `cart-7d9f8c6b5` · ready 0/2 · available 0');

    const rolloutPod = { ...crashLoopingPod, metadata: { ...crashLoopingPod.metadata, ownerReferences: [{ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', name: 'cart', controller: true }] } };
    const other = new FakeReader().addPod(rolloutPod);
    expect(await enricher(other).enrich(alert, { namespace: 'shop', pod: 'cart-7d9f8c6b5-x2x9q' }, never)).toBeUndefined();
  });

  it('reports a workload that is gone', async () => {
    const fact = await enricher(new FakeReader()).enrich(alert, { namespace: 'shop', workload: { kind: 'Deployment', name: 'cart' } }, never);
    expect(fact?.summary).toBe('Deployment `cart` not found');
  });

  it('does nothing for node alerts', async () => {
    const reader = new FakeReader();
    expect(await enricher(reader).enrich(alert, { node: 'node-2' }, never)).toBeUndefined();
    expect(reader.calls).toEqual([]);
  });
});
