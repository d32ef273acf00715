import { describe, expect, it } from 'vitest';
import { SourceUnavailable } from '../../../../alerts/enrichers/enrichment.ts';
import { createEnrichmentSources } from '../../../../alerts/enrichers/index.ts';
import { defaultEnrichmentConfig, enrichmentSchema } from '../../../../alerts/enrichers/enrichment-config.ts';
import type { KubeRequest } from '../../../../src/kube/kube-http.ts';
import { freshMetrics, metricValue } from '../../../helpers/fakes.ts';
import { NOW, alertWith, crashLoopingPod, never } from './kube-fixtures.ts';

describe('createEnrichmentSources', () => {
  it('leaves out the sources whose backend is missing', () => {
    const sources = createEnrichmentSources({ config: defaultEnrichmentConfig(), metrics: freshMetrics(), now: () => NOW });
    expect(sources.enrichers).toEqual([]);
  });

  it('resolves targets with the configured label names', async () => {
    const config = enrichmentSchema.parse({ labels: { pod: ['k8s_pod_name'] } });
    const sources = createEnrichmentSources({ config, metrics: freshMetrics(), now: () => NOW });
    expect(await sources.resolveTarget(alertWith({ namespace: 'shop', k8s_pod_name: 'cart-1', pod: 'other' }), never)).toEqual({ namespace: 'shop', pod: 'cart-1' });
  });

  it('reads through one shared reader that counts its requests', async () => {
    const requests: KubeRequest[] = [];
    const kube = {
      request<T>(request: KubeRequest): Promise<T> {
        requests.push(request);
        return Promise.resolve(crashLoopingPod as T);
      },
    };
    const metrics = freshMetrics();
    const sources = createEnrichmentSources({ kube, config: defaultEnrichmentConfig(), metrics, now: () => NOW });
    const pod = sources.enrichers.find((enricher) => enricher.source === 'pod');
    const alert = alertWith({ namespace: 'shop', pod: 'cart-7d9f8c6b5-x2x9q' });
    const target = await sources.resolveTarget(alert, never);
    await pod?.enrich(alert, target, never);
    await pod?.enrich(alert, target, never);
    expect(requests.map((request) => request.path)).toEqual(['/api/v1/namespaces/shop/pods/cart-7d9f8c6b5-x2x9q']);
    expect(await metricValue(metrics, 'lookout_kube_requests_total', { resource: 'pods', outcome: 'ok' })).toBe(1);
  });

  it('gives up when the pipeline aborts, with "timeout" as the reason, and aborts the request nobody waits for', async () => {
    const requests: KubeRequest[] = [];
    const kube = {
      request<T>(request: KubeRequest): Promise<T> {
        requests.push(request);
        return new Promise<T>(() => undefined); // a Kubernetes API that never answers
      },
    };
    const sources = createEnrichmentSources({ kube, config: defaultEnrichmentConfig(), metrics: freshMetrics(), now: () => NOW });
    const alert = alertWith({ namespace: 'shop', pod: 'cart-7d9f8c6b5-x2x9q' });
    const deadline = new AbortController();
    const target = await sources.resolveTarget(alert, deadline.signal);
    const running = sources.enrichers.map((enricher) => enricher.enrich(alert, target, deadline.signal).catch((error: unknown) => error));
    await new Promise((resolve) => setImmediate(resolve));
    deadline.abort(new DOMException('enrichment budget spent', 'TimeoutError'));
    const outcomes = await Promise.all(running);
    const reasons = outcomes.map((outcome) => (outcome instanceof SourceUnavailable ? outcome.reason : outcome));
    // pod, workload and events wait for the pod; certificate, hpa, pdb, quota, volume and node have nothing to do for a pod alert.
    expect(sources.enrichers.map((enricher) => enricher.source)).toEqual(['certificate', 'pod', 'workload', 'hpa', 'pdb', 'quota', 'volume', 'events', 'node']);
    expect(reasons).toEqual([undefined, 'timeout', 'timeout', undefined, undefined, undefined, undefined, 'timeout', undefined]);
    expect(requests).toHaveLength(1);
    expect(requests[0]?.signal?.aborted).toBe(true);
  });
});
