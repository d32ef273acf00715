import { describe, expect, it } from 'vitest';
import { createHpaEnricher } from '../../../../alerts/enrichers/hpa.ts';
import { createPdbEnricher, selectorText } from '../../../../alerts/enrichers/pdb.ts';
import { createQuotaEnricher, parseQuantity } from '../../../../alerts/enrichers/quota.ts';
import { createVolumeEnricher } from '../../../../alerts/enrichers/volume.ts';
import { podSchema } from '../../../../src/kube/kube-objects.ts';
import { POD_LIMIT } from '../../../../src/kube/kube-reader.ts';
import {
  FakeReader,
  NOW,
  alertWith,
  cartPdb,
  claimPod,
  computeQuota,
  defaultRedactor,
  failedVolume,
  healthyPod,
  never,
  pendingClaim,
  webHpa,
} from './kube-fixtures.ts';

/*
 * The sources for the kinds an alert can name besides pods and workloads: HPA, PDB,
 * ResourceQuota, PersistentVolumeClaim and PersistentVolume.
 */

const alert = alertWith({ alertname: 'KubeHpaMaxedOut' });

describe('hpa source', () => {
  const enricher = (reader: FakeReader) => createHpaEnricher({ reader, now: () => NOW, redactor: defaultRedactor });

  it('shows bounds, replicas, each metric against its target, and the conditions', async () => {
    const reader = new FakeReader();
    reader.hpas.set('shop', [webHpa]);
    const fact = await enricher(reader).enrich(alert, { namespace: 'shop', horizontalPodAutoscaler: 'web', workload: { kind: 'Deployment', name: 'cart' } }, never);
    expect(fact?.summary).toBe('HPA `web` · min 2 · max 3 · current 3 · desired 3 · *at max*');
    expect(fact?.detail?.split('\n')).toEqual([
      '*HPA* `shop/web` · min 2 · max 3 · current 3 · desired 3 · *at max* · scales Deployment `cart`',
      '• Resource `cpu`: 96% of target 70%',
      '• Pods `http_requests_per_second`: `150` of target `100`',
      '• AbleToScale=True (ReadyForNewScale)',
      '• ⚠️ ScalingLimited=True (TooManyReplicas) — the desired replica count is more than the maximum replica count',
    ]);
    expect(reader.calls).toEqual(['hpas shop']);
  });

  it('says the HPA is gone, and does nothing for targets without one', async () => {
    const reader = new FakeReader();
    expect((await enricher(reader).enrich(alert, { namespace: 'shop', horizontalPodAutoscaler: 'web' }, never))?.summary).toBe('HPA `web` not found');
    expect(await enricher(reader).enrich(alert, { namespace: 'shop', pod: 'cart-1' }, never)).toBeUndefined();
  });
});

describe('pdb source', () => {
  const readyPod = podSchema.parse({ ...healthyPod, metadata: { ...healthyPod.metadata, labels: { app: 'cart' } } });

  it('shows allowed disruptions, healthy/desired, and the pods that are not Ready', async () => {
    const reader = new FakeReader().addPod(readyPod).addPod(claimPod).addPod(healthyPod);
    reader.pdbs.set('shop/cart', cartPdb);
    const fact = await createPdbEnricher({ reader, redactor: defaultRedactor }).enrich(alert, { namespace: 'shop', podDisruptionBudget: 'cart' }, never);
    expect(fact?.summary).toBe('PDB `cart` · disruptions allowed 0 · healthy 1/2 · expected pods 3 · 1 unhealthy pod');
    expect(fact?.detail?.split('\n')).toEqual([
      '*PodDisruptionBudget* `shop/cart` · minAvailable 2 · disruptions allowed 0 · healthy 1/2 · expected pods 3',
      'Unhealthy: `db-0` (Pending)',
      '• ⚠️ DisruptionAllowed=False (InsufficientPods)',
    ]);
    // Only the PDB's pods, by its selector.
    expect(reader.calls).toEqual(['pdb shop/cart', 'pods shop app=cart']);
  });

  it('writes selectors as the API reads them, and refuses what it cannot write safely', () => {
    expect(
      selectorText({
        matchLabels: { app: 'cart', 'app.kubernetes.io/part-of': 'shop' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['web', 'api'] },
          { key: 'canary', operator: 'DoesNotExist' },
          { key: 'zone', operator: 'NotIn', values: ['a'] },
          { key: 'ready', operator: 'Exists' },
        ],
      }),
    ).toBe('app=cart,app.kubernetes.io/part-of=shop,tier in (web,api),!canary,zone notin (a),ready');
    expect(selectorText({})).toBeUndefined();
    expect(selectorText({ matchLabels: { app: 'a,b=c' } })).toBeUndefined();
    expect(selectorText({ matchExpressions: [{ key: 'x', operator: 'Gt', values: ['1'] }] })).toBeUndefined();
  });
});

describe('quota source', () => {
  it('shows used against hard for each resource, fullest first', async () => {
    const reader = new FakeReader();
    reader.quotas.set('shop/compute', computeQuota);
    const fact = await createQuotaEnricher({ reader }).enrich(alert, { namespace: 'shop', resourceQuota: 'compute' }, never);
    expect(fact?.summary).toBe('ResourceQuota `compute` · `requests.cpu` 3800m/4 (95%) · `requests.memory` 4Gi/8Gi (50%) · `pods` 7/20 (35%)');
    expect(fact?.detail?.split('\n')).toEqual([
      '*ResourceQuota* `shop/compute`, used/hard:',
      '• ⚠️ `requests.cpu` 3800m/4 (95%)',
      '• `requests.memory` 4Gi/8Gi (50%)',
      '• `pods` 7/20 (35%)',
    ]);
  });

  it('reads Kubernetes quantities', () => {
    expect(parseQuantity('500m')).toBe(0.5);
    expect(parseQuantity('4Gi')).toBe(4 * 2 ** 30);
    expect(parseQuantity('1.5k')).toBe(1500);
    expect(parseQuantity('1e3')).toBe(1000);
    expect(parseQuantity('12')).toBe(12);
    expect(parseQuantity('lots')).toBeNaN();
  });
});

describe('volume source', () => {
  const enricher = (reader: FakeReader) => createVolumeEnricher({ reader, redactor: defaultRedactor });

  it('shows a claim: phase, size, storage class, and the pod that mounts it', async () => {
    const reader = new FakeReader().addPod(claimPod).addPod(healthyPod);
    reader.claims.set('shop/data-db-0', pendingClaim);
    const fact = await enricher(reader).enrich(alert, { namespace: 'shop', persistentVolumeClaim: 'data-db-0' }, never);
    expect(fact?.summary).toBe('PVC `data-db-0` · Pending · requests 20Gi · class `fast-ssd` · used by pod `db-0`');
    expect(fact?.detail?.split('\n')).toEqual([
      '*PersistentVolumeClaim* `shop/data-db-0` · Pending · requests 20Gi · class `fast-ssd` · no volume bound',
      'used by pod `db-0`',
    ]);
  });

  it('says "mounted by no pod" only when it saw every pod of the namespace', async () => {
    const reader = new FakeReader().addPod(healthyPod);
    reader.claims.set('shop/data-db-0', pendingClaim);
    const target = { namespace: 'shop', persistentVolumeClaim: 'data-db-0' };
    expect((await enricher(reader).enrich(alert, target, never))?.summary).toContain('mounted by no pod');
    // A full page (the reader's limit) without the claim's pod: it may be on the next one.
    for (let index = 0; index < POD_LIMIT; index += 1) {
      reader.addPod(podSchema.parse({ ...healthyPod, metadata: { ...healthyPod.metadata, name: `filler-${index}` } }));
    }
    const fact = await enricher(reader).enrich(alert, target, never);
    expect(fact?.summary).toBe('PVC `data-db-0` · Pending · requests 20Gi · class `fast-ssd`');
    expect(fact?.detail).not.toContain('no pod');
  });

  it('shows a volume, its claim and that claim\'s pod, with the provisioner message redacted', async () => {
    const reader = new FakeReader().addPod(claimPod);
    reader.volumes.set('pv-0042', failedVolume);
    const fact = await enricher(reader).enrich(alert, { persistentVolume: 'pv-0042' }, never);
    expect(fact?.summary).toBe('PV `pv-0042` · Failed · capacity 20Gi · class `fast-ssd` · claim `shop/data-db-0` · used by pod `db-0`');
    expect(fact?.detail).toContain('> VolumeFailedRecycle: recycler failed: token=Bearer [REDACTED]');
    expect(fact?.detail).not.toContain('abcdef0123456789');
    expect(reader.calls).toEqual(['pv pv-0042', 'pods shop']);
  });
});
