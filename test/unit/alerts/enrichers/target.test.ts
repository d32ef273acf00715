import { describe, expect, it } from 'vitest';
import { defaultEnrichmentConfig, enrichmentSchema } from '../../../../alerts/enrichers/enrichment-config.ts';
import { confirmTarget, readTarget, resolveTarget } from '../../../../alerts/enrichers/target.ts';
import { podSchema } from '../../../../src/kube/kube-objects.ts';
import {
  FakeReader,
  cartDeployment,
  cartReplicaSet,
  crashLoopingPod,
  exporterPod,
  healthyPod,
  never,
  webHpa,
} from './kube-fixtures.ts';

const labels = defaultEnrichmentConfig().labels;
const scrape = defaultEnrichmentConfig().scrapeTargets;

/*
 * Labels as kube-prometheus-stack's defaults leave them on kube-state-metrics series
 * (honor_labels: true, the exporter's target labels kept where the series has none), and as
 * kube-prometheus leaves them (namespace, pod, service, endpoint dropped; container kept).
 */
const EXPORTER = { pod: exporterPod.metadata.name, container: 'kube-state-metrics', service: 'kps-kube-state-metrics', endpoint: 'http', job: 'kube-state-metrics', instance: '10.0.4.7:8080' };
const stack = (own: Record<string, string>): Record<string, string> => ({ namespace: 'monitoring', ...EXPORTER, ...own });
const kubePrometheus = (own: Record<string, string>): Record<string, string> => ({ container: 'kube-rbac-proxy-main', job: 'kube-state-metrics', instance: '10.0.4.7:8443', ...own });

function cluster(): FakeReader {
  return new FakeReader()
    .addPod(crashLoopingPod)
    .addPod(healthyPod)
    .addPod(exporterPod)
    .addWorkload({ kind: 'ReplicaSet', object: cartReplicaSet })
    .addWorkload({ kind: 'Deployment', object: cartDeployment });
}

const resolve = (alertLabels: Record<string, string>, reader: FakeReader = cluster()) =>
  confirmTarget(readTarget(alertLabels, labels, scrape), reader, scrape, never);

describe('confirmTarget: the object the alert is about, never the exporter', () => {
  it.each<[string, Record<string, string>, Record<string, unknown>]>([
    ['KubeDeploymentReplicasMismatch (kube-prometheus-stack)', stack({ namespace: 'shop', deployment: 'cart' }), { namespace: 'shop', workload: { kind: 'Deployment', name: 'cart' } }],
    ['KubeStatefulSetReplicasMismatch', stack({ namespace: 'db', statefulset: 'postgres' }), { namespace: 'db', workload: { kind: 'StatefulSet', name: 'postgres' } }],
    ['KubeDaemonSetRolloutStuck', stack({ namespace: 'kube-system', daemonset: 'cilium' }), { namespace: 'kube-system', workload: { kind: 'DaemonSet', name: 'cilium' } }],
    ['KubeJobFailed', stack({ namespace: 'batch', job_name: 'nightly-1', condition: 'true' }), { namespace: 'batch', workload: { kind: 'Job', name: 'nightly-1' } }],
    ["KubeNodeNotReady: the namespace is the exporter's too", stack({ node: 'node-4', condition: 'Ready', status: 'true' }), { node: 'node-4' }],
    ['KubePersistentVolumeErrors', stack({ persistentvolume: 'pv-0042', phase: 'Failed' }), { persistentVolume: 'pv-0042' }],
    ['KubePersistentVolumeClaim pending', stack({ namespace: 'shop', persistentvolumeclaim: 'data-db-0', phase: 'Pending' }), { namespace: 'shop', persistentVolumeClaim: 'data-db-0' }],
    ['KubeQuotaAlmostFull', stack({ namespace: 'shop', resourcequota: 'compute', resource: 'requests.cpu', type: 'used' }), { namespace: 'shop', resourceQuota: 'compute' }],
    ['KubePdbNotEnoughHealthyPods', stack({ namespace: 'shop', poddisruptionbudget: 'cart' }), { namespace: 'shop', podDisruptionBudget: 'cart' }],
    ['KubeDeploymentReplicasMismatch (kube-prometheus)', kubePrometheus({ namespace: 'shop', deployment: 'cart' }), { namespace: 'shop', workload: { kind: 'Deployment', name: 'cart' } }],
    ['KubeNodeNotReady (kube-prometheus)', kubePrometheus({ node: 'node-4', condition: 'Ready' }), { node: 'node-4' }],
    [
      'KubePersistentVolumeFillingUp (kubelet series: the claim, and the node whose kubelet mounts it)',
      { namespace: 'shop', persistentvolumeclaim: 'data-db-0', node: 'node-2', service: 'kps-kubelet', endpoint: 'https-metrics', job: 'kubelet', metrics_path: '/metrics' },
      { namespace: 'shop', persistentVolumeClaim: 'data-db-0', node: 'node-2' },
    ],
  ])('%s', async (_alert, alertLabels, expected) => {
    expect(await resolve(alertLabels)).toEqual(expected);
  });

  it('names an HPA and, after one list of the namespace, the workload it scales', async () => {
    const reader = cluster();
    reader.hpas.set('shop', [webHpa]);
    expect(await resolve(stack({ namespace: 'shop', horizontalpodautoscaler: 'web' }), reader)).toEqual({
      namespace: 'shop',
      horizontalPodAutoscaler: 'web',
      workload: { kind: 'Deployment', name: 'cart' },
    });
    expect(reader.calls).toEqual(['hpas shop']);
  });

  it("keeps a workload alert's pod when it belongs to that workload, with its container", async () => {
    const reader = cluster();
    const target = await resolve({ namespace: 'shop', deployment: 'cart', pod: crashLoopingPod.metadata.name, container: 'app' }, reader);
    expect(target).toEqual({ namespace: 'shop', workload: { kind: 'Deployment', name: 'cart' }, pod: crashLoopingPod.metadata.name, container: 'app' });
    expect(reader.calls).toEqual([`pod shop/${crashLoopingPod.metadata.name}`, 'replicaset shop/cart-7d9f8c6b5']);
  });

  it('drops a pod that exists in the namespace but belongs to another workload', async () => {
    const other = podSchema.parse({ ...healthyPod, metadata: { ...healthyPod.metadata, name: 'search-1', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'search', controller: true }] } });
    const reader = cluster().addPod(other);
    expect(await resolve({ namespace: 'shop', deployment: 'cart', pod: 'search-1' }, reader)).toEqual({ namespace: 'shop', workload: { kind: 'Deployment', name: 'cart' } });
  });

  it("drops an exporter pod even in the workload's own namespace, and a pod it cannot read", async () => {
    const reader = cluster();
    expect(await resolve(stack({ deployment: 'kps-kube-state-metrics' }), reader)).toEqual({ namespace: 'monitoring', workload: { kind: 'Deployment', name: 'kps-kube-state-metrics' } });
    reader.failWith = new Error('connection reset');
    expect(await resolve({ namespace: 'shop', deployment: 'cart', pod: crashLoopingPod.metadata.name }, reader)).toEqual({ namespace: 'shop', workload: { kind: 'Deployment', name: 'cart' } });
  });

  it('says less without a Kubernetes reader: no unconfirmed pod', async () => {
    const candidate = readTarget({ namespace: 'shop', deployment: 'cart', pod: crashLoopingPod.metadata.name }, labels, scrape);
    expect(await confirmTarget(candidate, undefined, scrape, never)).toEqual({ namespace: 'shop', workload: { kind: 'Deployment', name: 'cart' } });
  });

  it('keeps the pod of a pod alert that also names its node (cAdvisor), but not the exporter on that node', async () => {
    expect(await resolve({ namespace: 'shop', pod: crashLoopingPod.metadata.name, container: 'app', node: 'node-2' })).toEqual({
      namespace: 'shop',
      pod: crashLoopingPod.metadata.name,
      container: 'app',
      node: 'node-2',
    });
    // Wrong node: the pod runs elsewhere, so the labels are not about it.
    expect(await resolve({ namespace: 'shop', pod: crashLoopingPod.metadata.name, node: 'node-9' })).toEqual({ node: 'node-9' });
    // The exporter runs on node-4 itself: still not the target.
    expect(await resolve(stack({ node: 'node-4' }))).toEqual({ node: 'node-4' });
  });

  it("drops a container the pod does not have (the exporter's, kept by kube-prometheus on pod-level series)", async () => {
    expect(await resolve({ namespace: 'shop', pod: crashLoopingPod.metadata.name, container: 'sidecar-x' })).toEqual({ namespace: 'shop', pod: crashLoopingPod.metadata.name });
    expect(await resolve(kubePrometheus({ namespace: 'shop', pod: crashLoopingPod.metadata.name }))).toEqual({ namespace: 'shop', pod: crashLoopingPod.metadata.name });
  });

  it("keeps a pod alert as it is: KubePodCrashLooping and KubePodNotReady carry the pod's own labels", async () => {
    expect(await resolve({ namespace: 'shop', pod: crashLoopingPod.metadata.name, container: 'app', reason: 'CrashLoopBackOff', service: 'kps-kube-state-metrics', job: 'kube-state-metrics' })).toEqual({
      namespace: 'shop',
      pod: crashLoopingPod.metadata.name,
      container: 'app',
    });
    expect(await resolve({ namespace: 'shop', pod: 'cart-gone-1' })).toEqual({ namespace: 'shop', pod: 'cart-gone-1' });
  });

  it('takes exporter containers and pod labels from the configuration', async () => {
    const custom = enrichmentSchema.parse({ scrapeTargets: { containers: ['my-exporter'], podLabels: { team: ['observability'] } } }).scrapeTargets;
    expect(readTarget({ namespace: 'shop', pod: 'cart-1', container: 'my-exporter' }, labels, custom).target).toEqual({ namespace: 'shop', pod: 'cart-1' });
    expect(readTarget({ namespace: 'shop', pod: 'cart-1', container: 'kube-state-metrics' }, labels, custom).target).toEqual({ namespace: 'shop', pod: 'cart-1', container: 'kube-state-metrics' });
    const labelled = podSchema.parse({ ...crashLoopingPod, metadata: { ...crashLoopingPod.metadata, labels: { team: 'observability' } } });
    const reader = cluster().addPod(labelled);
    expect(await confirmTarget(readTarget({ namespace: 'shop', deployment: 'cart', pod: labelled.metadata.name }, labels, custom), reader, custom, never)).toEqual({
      namespace: 'shop',
      workload: { kind: 'Deployment', name: 'cart' },
    });
  });
});

describe('resolveTarget', () => {
  it('reads a kube-state-metrics pod alert', () => {
    const target = resolveTarget(
      { alertname: 'KubePodCrashLooping', namespace: 'shop', pod: 'cart-7d9f8c6b5-x2x9q', container: 'app', job: 'kube-state-metrics' },
      labels,
    );
    expect(target).toEqual({ namespace: 'shop', pod: 'cart-7d9f8c6b5-x2x9q', container: 'app' });
  });

  it('reads workloads with job_name, never the scrape job', () => {
    expect(resolveTarget({ namespace: 'batch', job_name: 'nightly-28911', job: 'kube-state-metrics' }, labels)).toEqual({
      namespace: 'batch',
      workload: { kind: 'Job', name: 'nightly-28911' },
    });
    expect(resolveTarget({ namespace: 'db', statefulset: 'postgres' }, labels).workload).toEqual({ kind: 'StatefulSet', name: 'postgres' });
    expect(resolveTarget({ namespace: 'kube-system', daemonset: 'cilium' }, labels).workload).toEqual({ kind: 'DaemonSet', name: 'cilium' });
  });

  it('prefers the owning workload when labels name a Deployment and its ReplicaSet', () => {
    const target = resolveTarget({ namespace: 'shop', replicaset: 'cart-7d9f8c6b5', deployment: 'cart' }, labels);
    expect(target.workload).toEqual({ kind: 'Deployment', name: 'cart' });
  });

  it('prefers exported_* labels, which hold the object when honor_labels is off', () => {
    const target = resolveTarget(
      { namespace: 'monitoring', pod: 'kube-state-metrics-0', container: 'kube-state-metrics', exported_namespace: 'shop', exported_pod: 'cart-1', exported_container: 'app' },
      labels,
    );
    expect(target).toEqual({ namespace: 'shop', pod: 'cart-1', container: 'app' });
  });

  it("never pairs an exported namespace with the exporter's own pod and container", () => {
    // kube_deployment_* scraped without honor_labels: the metric has no pod label, so the plain
    // pod and container that service discovery attached are kube-state-metrics' own.
    const target = resolveTarget(
      { namespace: 'monitoring', pod: 'kube-state-metrics-0', container: 'kube-state-metrics', exported_namespace: 'shop', deployment: 'cart' },
      labels,
    );
    expect(target).toEqual({ namespace: 'shop', workload: { kind: 'Deployment', name: 'cart' } });
  });

  it('falls back to the plain label when the exported one is empty', () => {
    expect(resolveTarget({ exported_namespace: '', namespace: 'shop', pod: 'cart-1' }, labels)).toEqual({ namespace: 'shop', pod: 'cart-1' });
  });

  it('keeps a node alone for node alerts; a pod beside it waits for a lookup', () => {
    expect(resolveTarget({ alertname: 'KubeNodeNotReady', node: 'worker-2', instance: '10.0.0.2:8080' }, labels)).toEqual({ node: 'worker-2' });
    expect(readTarget({ namespace: 'shop', pod: 'cart-1', container: 'app', node: 'worker-2' }, labels, scrape)).toEqual({
      target: { node: 'worker-2' },
      confirm: { namespace: 'shop', pod: 'cart-1', container: 'app', belongsTo: { node: 'worker-2' } },
    });
  });

  it('reads persistent volume claims', () => {
    expect(resolveTarget({ namespace: 'db', persistentvolumeclaim: 'data-postgres-0' }, labels)).toEqual({
      namespace: 'db',
      persistentVolumeClaim: 'data-postgres-0',
    });
  });

  it('drops namespaced names without a namespace, since a name alone is ambiguous', () => {
    expect(resolveTarget({ pod: 'cart-1', deployment: 'cart' }, labels)).toEqual({});
  });

  it('ignores values that cannot be object names instead of putting them in an API path', () => {
    expect(resolveTarget({ namespace: 'shop', pod: '../../secrets/x', deployment: '<none>' }, labels)).toEqual({ namespace: 'shop' });
    expect(resolveTarget({ namespace: 'Shop Prod', pod: 'cart-1' }, labels)).toEqual({});
  });

  it("skips cAdvisor's pod sandbox and pod-level series", () => {
    expect(resolveTarget({ namespace: 'shop', pod: 'cart-1', container: 'POD' }, labels).container).toBeUndefined();
    expect(resolveTarget({ namespace: 'shop', pod: 'cart-1', container: '' }, labels).container).toBeUndefined();
  });

  it('does not read inherited properties as labels', () => {
    expect(resolveTarget(JSON.parse('{"namespace":"shop"}') as Record<string, string>, { ...labels, pod: ['constructor'] })).toEqual({
      namespace: 'shop',
    });
  });

  it('uses configured label names in order', () => {
    const config = enrichmentSchema.parse({ labels: { namespace: ['k8s_namespace', 'namespace'], pod: ['k8s_pod'] } }).labels;
    expect(resolveTarget({ k8s_namespace: 'shop', namespace: 'other', k8s_pod: 'cart-1', pod: 'ignored' }, config)).toEqual({
      namespace: 'shop',
      pod: 'cart-1',
    });
  });
});

describe('enrichmentSchema', () => {
  it('has the documented defaults', () => {
    const config = defaultEnrichmentConfig();
    expect(config.loki).toMatchObject({
      labels: { namespace: 'namespace', pod: 'pod', container: 'container' },
      windowBeforeMs: 300_000,
      windowAfterMs: 60_000,
      maxLines: 20,
      maxConcurrentRequests: 4,
    });
    expect(config.kube.maxConcurrentRequests).toBe(8);
    expect(config.cacheTtlMs).toBe(10_000);
    expect(config.scrapeTargets).toEqual({
      containers: ['kube-state-metrics', 'kube-rbac-proxy-main', 'kube-rbac-proxy-self', 'kube-rbac-proxy'],
      podLabels: { 'app.kubernetes.io/name': ['kube-state-metrics'], 'k8s-app': ['kube-state-metrics'], app: ['kube-state-metrics'] },
    });
    expect(config.labels).toMatchObject({
      horizontalPodAutoscaler: ['horizontalpodautoscaler'],
      podDisruptionBudget: ['poddisruptionbudget'],
      resourceQuota: ['resourcequota'],
      persistentVolume: ['persistentvolume'],
    });
    expect(config.redact.length).toBeGreaterThanOrEqual(6);
  });

  it('rejects unknown keys, bad label names and patterns that would redact everything', () => {
    const result = enrichmentSchema.safeParse({
      lokii: {},
      loki: { labels: { pod: 'k8s.pod' }, grafanaUrl: 'javascript:alert(1)' },
      redact: ['(unclosed', 'a*'],
    });
    expect(result.success).toBe(false);
    const paths = result.error?.issues.map((issue) => issue.path.join('.')).sort();
    expect(paths).toEqual(['', 'loki.grafanaUrl', 'loki.labels.pod', 'redact.0', 'redact.1']);
  });
});
