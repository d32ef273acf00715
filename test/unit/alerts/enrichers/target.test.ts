import { describe, expect, it } from 'vitest';
import { defaultEnrichmentConfig, enrichmentSchema } from '../../../../alerts/enrichers/enrichment-config.ts';
import { resolveTarget } from '../../../../alerts/enrichers/target.ts';

const labels = defaultEnrichmentConfig().labels;

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

  it('keeps a node alone for node alerts and alongside the pod otherwise', () => {
    expect(resolveTarget({ alertname: 'KubeNodeNotReady', node: 'worker-2', instance: '10.0.0.2:8080' }, labels)).toEqual({ node: 'worker-2' });
    expect(resolveTarget({ namespace: 'shop', pod: 'cart-1', node: 'worker-2' }, labels)).toEqual({ namespace: 'shop', pod: 'cart-1', node: 'worker-2' });
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
