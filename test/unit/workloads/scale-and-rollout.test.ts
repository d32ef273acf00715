import { describe, expect, it } from 'vitest';
import { DEFAULT_COMMAND_SETTINGS, type LookoutReads, type PersonKube, type PersonKubeRequest } from '../../../commands/command.ts';
import scale, { scaleTo, type ScaleArgs } from '../../../commands/scale.ts';
import type { CommandContext } from '../../../commands/command.ts';
import { Conflict, Forbidden } from '../../../src/errors.ts';
import { KubeApiError } from '../../../src/kube/kube-http.ts';
import { followRollout, readRollout } from '../../../src/workloads/rollout-progress.ts';
import { checkRestart, restartStamp } from '../../../src/workloads/restart-workload.ts';
import type { WorkloadRef } from '../../../src/workloads/workload-ref.ts';
import { recordingLogger } from '../../helpers/fakes.ts';

const cart: WorkloadRef = { kind: 'Deployment', namespace: 'shop', name: 'cart' };
const log = recordingLogger().log;
const ctx = { settings: DEFAULT_COMMAND_SETTINGS, log };

/** The person's Kubernetes: a scale subresource with `replicas`, recording writes. */
function personKube(replicas: number, options: { failWith?: KubeApiError } = {}) {
  const writes: PersonKubeRequest[] = [];
  let current = replicas;
  const kube: PersonKube = {
    async request<T>(request: PersonKubeRequest): Promise<T> {
      if (options.failWith) throw options.failWith;
      if (request.method === 'GET') return { metadata: { resourceVersion: `rv${current}` }, spec: { replicas: current } } as T;
      writes.push(request);
      return {} as T;
    },
  };
  return { kube, writes, set: (value: number) => void (current = value) };
}

function reads(objects: Record<string, unknown>): LookoutReads {
  return { get: async <T>(path: string) => (objects[path] ?? { items: [] }) as T };
}

const HPAS = '/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers';

describe('scaleTo', () => {
  it('writes through the scale subresource with a merge patch carrying the resourceVersion read', async () => {
    const { kube, writes } = personKube(2);
    const reply = await scaleTo(ctx, kube, reads({}), cart, 5);
    expect(reply.text).toBe('shop/cart: 2 → 5 replicas');
    expect(reply.auditDetail).toBe('replicas 2 → 5');
    expect(writes).toEqual([{ method: 'PATCH', path: '/apis/apps/v1/namespaces/shop/deployments/cart/scale', contentType: 'application/merge-patch+json', body: { metadata: { resourceVersion: 'rv2' }, spec: { replicas: 5 } } }]);
  });

  it('refuses above the namespace maximum, naming it, before any call', async () => {
    const { kube, writes } = personKube(2);
    await expect(scaleTo({ ...ctx, settings: { ...DEFAULT_COMMAND_SETTINGS, scale: { maxReplicas: 50, maxReplicasByNamespace: { shop: 8 } } } }, kube, reads({}), cart, 9)).rejects.toThrow(/limit of 8 for namespace shop/);
    expect(writes).toEqual([]);
  });

  it('refuses when an HPA scales the workload, naming its bounds', async () => {
    const { kube, writes } = personKube(2);
    const hpa = { items: [{ metadata: { name: 'cart-hpa' }, spec: { scaleTargetRef: { kind: 'Deployment', name: 'cart' }, minReplicas: 2, maxReplicas: 10 }, status: { currentReplicas: 4 } }] };
    const attempt = scaleTo(ctx, kube, reads({ [HPAS]: hpa }), cart, 5);
    await expect(attempt).rejects.toBeInstanceOf(Conflict);
    await expect(attempt).rejects.toThrow('HPA `cart-hpa` (min 2, max 10, current 4)');
    expect(writes).toEqual([]);
  });

  it('an HPA of another workload does not count', async () => {
    const { kube } = personKube(2);
    const hpa = { items: [{ metadata: { name: 'x' }, spec: { scaleTargetRef: { kind: 'StatefulSet', name: 'cart' }, maxReplicas: 3 } }] };
    expect((await scaleTo(ctx, kube, reads({ [HPAS]: hpa }), cart, 3)).text).toBe('shop/cart: 2 → 3 replicas');
  });

  it('asks before scaling to 0; at Confirm a changed count is a conflict and nothing is written', async () => {
    const person = personKube(4);
    const reply = await scaleTo(ctx, person.kube, reads({}), cart, 0);
    expect(reply.confirm).toMatchObject({ style: 'danger', confirmLabel: 'Scale to 0' });
    expect(person.writes).toEqual([]);
    person.set(6);
    await expect(reply.confirm!.run()).rejects.toThrow('now has 6 replicas, not 4');
    expect(person.writes).toEqual([]);
    person.set(4);
    expect((await reply.confirm!.run()).text).toBe('shop/cart: 4 → 0 replicas');
    expect(person.writes).toHaveLength(1);
  });

  it("planning again at a Confirm click (ask: 'always') asks even for a change that needs no question, and writes nothing", async () => {
    const person = personKube(1);
    const reply = await scaleTo(ctx, person.kube, reads({}), cart, 3, { ask: 'always' });
    expect(reply.text).toBe('Scale *shop/cart* from 1 to 3 replicas? This adds 2 pods.');
    expect(reply.confirm).toMatchObject({ title: 'Scale up?', question: 'shop/cart: 1 → 3 replicas. This adds 2 pods.' });
    expect(person.writes).toEqual([]);
    // Scaling down by one of four needs no question when typed, but one when planned again.
    person.set(4);
    expect((await scaleTo(ctx, person.kube, reads({}), cart, 3, { ask: 'always' })).confirm?.question).toBe('shop/cart: 4 → 3 replicas. This removes 1 of 4 pods.');
    expect(person.writes).toEqual([]);
  });

  it('a 403 on the read names the get permission on the scale subresource', async () => {
    const { kube } = personKube(2, { failWith: new KubeApiError('GET', '/x', 403, 'Forbidden', 'deployments.apps "cart" is forbidden: User "slack:bob" …') });
    const attempt = scaleTo(ctx, kube, reads({}), cart, 3);
    await expect(attempt).rejects.toBeInstanceOf(Forbidden);
    await expect(attempt).rejects.toThrow('Not allowed: this needs `get` on `deployments/scale.apps` named cart in namespace shop.');
  });

  it('the same count changes nothing', async () => {
    const { kube, writes } = personKube(3);
    expect((await scaleTo(ctx, kube, reads({}), cart, 3)).text).toContain('already has 3 replicas');
    expect(writes).toEqual([]);
  });
});

describe('rollout progress', () => {
  const path = '/apis/apps/v1/namespaces/shop/deployments/cart';

  it('is complete once the controller observed the generation and every replica is updated and available', async () => {
    const status = (observedGeneration: number, updated: number) => reads({ [path]: { metadata: { generation: 2 }, spec: { replicas: 3 }, status: { observedGeneration, replicas: 3, updatedReplicas: updated, readyReplicas: 3, availableReplicas: 3 } } });
    expect((await readRollout(status(1, 3), cart)).complete).toBe(false);
    expect((await readRollout(status(2, 2), cart)).complete).toBe(false);
    expect((await readRollout(status(2, 3), cart)).complete).toBe(true);
  });

  it('says why a Deployment stalled', async () => {
    const stalled = reads({ [path]: { metadata: { generation: 1 }, spec: { replicas: 3 }, status: { conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "cart-1" has timed out progressing.' }] } } });
    expect((await readRollout(stalled, cart)).stalled).toBe('ProgressDeadlineExceeded: ReplicaSet "cart-1" has timed out progressing.');
  });

  it('follows until complete, showing each new state once', async () => {
    let calls = 0;
    const changing: LookoutReads = {
      get: async <T>() => {
        calls += 1;
        const updated = Math.min(calls, 3);
        return { metadata: { generation: 1 }, spec: { replicas: 3 }, status: { observedGeneration: 1, replicas: 3, updatedReplicas: updated, readyReplicas: updated, availableReplicas: updated } } as T;
      },
    };
    const updates: string[] = [];
    const final = await followRollout({ reads: changing, ref: cart, timeoutMs: 10_000, pollIntervalMs: 1, headline: 'shop/cart: 1 → 3 replicas' })({ update: (content) => void updates.push(content.text), signal: new AbortController().signal });
    expect(updates).toEqual(['shop/cart: 1 → 3 replicas\n⏳ Rolling out: desired 3 · updated 1 · ready 1 · available 1', 'shop/cart: 1 → 3 replicas\n⏳ Rolling out: desired 3 · updated 2 · ready 2 · available 2']);
    expect(final.text).toBe('shop/cart: 1 → 3 replicas\n✅ Rollout complete: desired 3 · updated 3 · ready 3 · available 3');
  });

  it('gives up after the timeout, saying it is still rolling out', async () => {
    const stuck = reads({ [path]: { metadata: { generation: 1 }, spec: { replicas: 3 }, status: { observedGeneration: 1, replicas: 3 } } });
    let clock = 0;
    const final = await followRollout({ reads: stuck, ref: cart, timeoutMs: 1000, pollIntervalMs: 1, headline: 'h', now: () => (clock += 400) })({ update: () => undefined, signal: new AbortController().signal });
    expect(final.text).toContain('Still rolling out after 1 s');
  });
});

describe('restart checks', () => {
  it('refuses a paused Deployment and flags an OnDelete StatefulSet', async () => {
    await expect(checkRestart(reads({ '/apis/apps/v1/namespaces/shop/deployments/cart': { spec: { paused: true } } }), cart)).rejects.toThrow('shop/cart is paused');
    const db: WorkloadRef = { kind: 'StatefulSet', namespace: 'shop', name: 'db' };
    expect(await checkRestart(reads({ '/apis/apps/v1/namespaces/shop/statefulsets/db': { spec: { updateStrategy: { type: 'OnDelete' } } } }), db)).toEqual({ onDelete: true });
  });

  it('flags an OnDelete DaemonSet too: its pods are not replaced by a restart either, so there is no rollout to follow', async () => {
    const agent: WorkloadRef = { kind: 'DaemonSet', namespace: 'shop', name: 'agent' };
    const path = '/apis/apps/v1/namespaces/shop/daemonsets/agent';
    expect(await checkRestart(reads({ [path]: { spec: { updateStrategy: { type: 'OnDelete' } } } }), agent)).toEqual({ onDelete: true });
    expect(await checkRestart(reads({ [path]: { spec: { updateStrategy: { type: 'RollingUpdate' } } } }), agent)).toEqual({ onDelete: false });
  });

  it('stamps RFC 3339 to the second, in UTC', () => {
    expect(restartStamp(Date.parse('2026-12-02T10:15:15.123Z'))).toBe('2026-12-02T10:15:15Z');
    expect(restartStamp(Date.parse('2026-12-02T10:15:15.123Z'), '2026-12-02T10:15:14Z')).toBe('2026-12-02T10:15:15Z');
  });

  it('adds milliseconds when the template already has this second\'s stamp, so a second restart still rolls out', () => {
    expect(restartStamp(Date.parse('2026-12-02T10:15:15.123Z'), '2026-12-02T10:15:15Z')).toBe('2026-12-02T10:15:15.123Z');
  });
});

describe('/ops scale --hpa-min / --hpa-max', () => {
  const hpa = { items: [{ metadata: { name: 'cart-hpa' }, spec: { scaleTargetRef: { kind: 'Deployment', name: 'cart' }, minReplicas: 2, maxReplicas: 10 }, status: { currentReplicas: 4 } }] };
  const run = (args: ScaleArgs, kube: PersonKube, maxReplicasByNamespace: Record<string, number> = {}) =>
    scale.run({ args, settings: { ...DEFAULT_COMMAND_SETTINGS, scale: { maxReplicas: 50, maxReplicasByNamespace } }, log, kube, lookoutReads: reads({ [HPAS]: hpa }) } as unknown as CommandContext<ScaleArgs>);

  it('changes the bounds within the namespace maximum', async () => {
    const { kube, writes } = personKube(4);
    expect((await run({ target: cart, mode: 'hpa', max: 20 }, kube)).text).toContain('HPA `cart-hpa` max 10 → 20');
    expect(writes).toEqual([expect.objectContaining({ method: 'PATCH', path: `${HPAS}/cart-hpa`, body: { spec: { maxReplicas: 20 } } })]);
  });

  it('refuses bounds above the namespace maximum, naming it, as for a replica count', async () => {
    const { kube, writes } = personKube(4);
    await expect(run({ target: cart, mode: 'hpa', max: 500 }, kube)).rejects.toThrow("`--hpa-max 500` is above Lookout's limit of 50 replicas for namespace shop (config `scale.maxReplicas`); nothing was changed.");
    await expect(run({ target: cart, mode: 'hpa', min: 9 }, kube, { shop: 8 })).rejects.toThrow("`--hpa-min 9` is above Lookout's limit of 8 replicas for namespace shop");
    expect(writes).toEqual([]);
  });
});
