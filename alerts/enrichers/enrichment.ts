import type { TrackedAlert } from '../group-state.ts';

/**
 * The contract between enrichment sources (one module per source in alerts/enrichers/) and the
 * pipeline that runs them within the time budget and renders what they found.
 */

export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Job' | 'ReplicaSet';

/** The Kubernetes objects an alert is about, read from its labels (alerts/enrichers/target.ts). */
export interface AlertTarget {
  namespace?: string;
  pod?: string;
  container?: string;
  /** Named by the labels, or found by following a pod's owner chain. */
  workload?: { kind: WorkloadKind; name: string };
  node?: string;
  persistentVolumeClaim?: string;
  persistentVolume?: string;
  horizontalPodAutoscaler?: string;
  podDisruptionBudget?: string;
  resourceQuota?: string;
  /** A certificate the alert names (cert-manager's or Lookout's expiry metrics; certificate-target.ts). */
  certificate?: CertificateTarget;
}

/** A cert-manager Certificate or a kubernetes.io/tls Secret, in the target's namespace. */
export interface CertificateTarget {
  kind: 'Certificate' | 'Secret';
  name: string;
  /** For a Secret: the cert-manager Certificate that manages it, when it has one. */
  managedBy?: string;
}

export type EnrichmentSource = 'pod' | 'workload' | 'hpa' | 'pdb' | 'quota' | 'volume' | 'events' | 'node' | 'logs' | 'certificate';

/** What one source found about one alert. All text is Slack mrkdwn, already escaped and redacted. */
export interface EnrichmentFact {
  source: EnrichmentSource;
  /** One short line for the main message; empty when this source has nothing worth a line there. */
  summary: string;
  /** Longer text for the group's thread detail message (code blocks allowed). */
  detail?: string;
}

/** A source that could not answer, shown as a short note, e.g. "logs unavailable: timeout". */
export interface SourceFailure {
  source: EnrichmentSource;
  /** Short and safe to show: never a server message, which can quote request content. */
  reason: string;
}

export interface Enricher {
  source: EnrichmentSource;
  /**
   * @returns undefined when the target gives this source nothing to look at (no pod label, say).
   * @throws when the source fails; the pipeline turns that into a SourceFailure and a metric.
   */
  enrich(alert: TrackedAlert, target: AlertTarget, signal: AbortSignal): Promise<EnrichmentFact | undefined>;
}

/** Where enrichment comes from: target resolution plus the enrichers (built by alerts/enrichers/index.ts). */
export interface EnrichmentSources {
  /**
   * The objects the alert is about (alerts/enrichers/target.ts), confirmed by lookups where a
   * label may be the exporter's. Never rejects for a failed lookup: it then says less.
   */
  resolveTarget(alert: TrackedAlert, signal: AbortSignal): AlertTarget | Promise<AlertTarget>;
  /** In the order their facts should be shown: certificate, pod, workload, hpa, pdb, quota, volume, events, node, logs. */
  enrichers: readonly Enricher[];
}

/** Everything known about one alert of a group, keyed by fingerprint in GroupEnrichment. */
export interface AlertEnrichment {
  target: AlertTarget;
  facts: EnrichmentFact[];
  failures: SourceFailure[];
  /** False while some source has not answered yet (its result will come by an edit). */
  complete: boolean;
}

export type GroupEnrichment = Record<string, AlertEnrichment>;

/**
 * What a source throws when it cannot answer. `reason` is short and safe to show in Slack
 * ("timeout", "forbidden", "HTTP 503", "unreachable"); the original error stays in `cause`
 * for logs. Anything else a source throws should be shown as a generic "error".
 */
export class SourceUnavailable extends Error {
  readonly reason: string;

  constructor(reason: string, options?: ErrorOptions) {
    super(reason, options);
    this.name = 'SourceUnavailable';
    this.reason = reason;
  }
}

/**
 * Sources keep `summary` and `detail` within these lengths (UTF-16 units, after escaping), so the
 * pipeline can place a fact in one Block Kit section (3000 chars) without cutting mrkdwn apart.
 */
export const FACT_LIMITS = { summary: 300, detail: 2800 } as const;
