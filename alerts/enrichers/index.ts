import type { Metrics } from '../../src/metrics.ts';
import { LokiClient, type LokiPort } from '../../src/integrations/loki.ts';
import { KubeReader, type KubeRequester } from '../../src/kube/kube-reader.ts';
import { DEFAULT_WARN_WITHIN_MS } from '../../src/certificates/expiry-window.ts';
import { createCertificateEnricher } from './certificate.ts';
import { readCertificateTarget, readsUntil, resolveCertificateTarget } from './certificate-target.ts';
import type { Enricher, EnrichmentSources } from './enrichment.ts';
import type { EnrichmentConfig } from './enrichment-config.ts';
import { createEventsEnricher } from './events.ts';
import { createHpaEnricher } from './hpa.ts';
import { createLogsEnricher } from './logs.ts';
import { createNodeEnricher } from './node.ts';
import { createPdbEnricher } from './pdb.ts';
import { createPodEnricher } from './pod.ts';
import { createQuotaEnricher } from './quota.ts';
import { createRedactor } from './redact.ts';
import { confirmTarget, readTarget } from './target.ts';
import { createVolumeEnricher } from './volume.ts';
import { createWorkloadEnricher } from './workload.ts';

export type { EnrichmentSources };

export interface EnrichmentSourcesOptions {
  /** Lookout's own Kubernetes client (a KubeHttp); without it the Kubernetes sources are left out. */
  kube?: KubeRequester;
  /** LOKI_URL; without it (and without `loki`) the logs source is left out. */
  lokiUrl?: string;
  /** A Loki client to share (with `/ops logs`); takes the place of one built from `lokiUrl`. */
  loki?: LokiPort;
  config: EnrichmentConfig;
  metrics: Metrics;
  now: () => number;
  /** Certificate expiries within this are highlighted (certificates.scan.warnWithin; default 21 d). */
  certificateWarnWithinMs?: number;
}

/**
 * Builds the enrichment sources that have a backend. The Kubernetes sources share one reader,
 * so the pod, its owner chain and its events are fetched once per alert however many sources
 * look at them, and once per storm for what alerts have in common.
 */
export function createEnrichmentSources({ kube, lokiUrl, loki: sharedLoki, config, metrics, now, certificateWarnWithinMs = DEFAULT_WARN_WITHIN_MS }: EnrichmentSourcesOptions): EnrichmentSources {
  const redactor = createRedactor(config.redact);
  const enrichers: Enricher[] = [];
  let reader: KubeReader | undefined;
  if (kube !== undefined) {
    reader = new KubeReader({
      http: kube,
      requests: metrics.kubeRequests,
      now,
      cacheTtlMs: config.cacheTtlMs,
      maxConcurrent: config.kube.maxConcurrentRequests,
      requestTimeoutMs: config.kube.requestTimeoutMs,
    });
    enrichers.push(
      createCertificateEnricher({ kube, now, redactor, warnWithinMs: certificateWarnWithinMs }),
      createPodEnricher({ reader, now, redactor }),
      createWorkloadEnricher({ reader, now, redactor }),
      createHpaEnricher({ reader, now, redactor }),
      createPdbEnricher({ reader, redactor }),
      createQuotaEnricher({ reader }),
      createVolumeEnricher({ reader, redactor }),
      createEventsEnricher({ reader, now, redactor }),
      createNodeEnricher({ reader, now, redactor }),
    );
  }
  const loki = sharedLoki ?? (lokiUrl !== undefined && lokiUrl !== '' ? createLokiClient(lokiUrl, config, metrics) : undefined);
  if (loki !== undefined) enrichers.push(createLogsEnricher({ loki, config: config.loki, redactor, now }));
  return {
    resolveTarget: (alert, signal) => {
      // An alert about a certificate is about nothing else: a pod label beside it is the exporter's.
      const certificate = readCertificateTarget(alert.labels);
      if (certificate !== undefined) return resolveCertificateTarget(certificate, kube === undefined ? undefined : readsUntil(kube, signal));
      return confirmTarget(readTarget(alert.labels, config.labels, config.scrapeTargets), reader, config.scrapeTargets, signal);
    },
    enrichers,
  };
}

/** Lookout's one Loki client (enrichment and `/ops logs` share its concurrency limit and metrics). */
export function createLokiClient(lokiUrl: string, config: EnrichmentConfig, metrics: Metrics): LokiClient {
  return new LokiClient({
    baseUrl: lokiUrl,
    maxConcurrent: config.loki.maxConcurrentRequests,
    requestTimeoutMs: config.loki.requestTimeoutMs,
    requests: metrics.lokiRequests,
    ...(config.loki.tenant === undefined ? {} : { tenant: config.loki.tenant }),
  });
}
