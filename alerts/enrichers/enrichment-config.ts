import { z } from 'zod';
import { DEFAULT_REDACT_PATTERNS, compilePattern } from './redact-patterns.ts';

/**
 * The `enrichment:` section of the config file: how alert labels name Kubernetes objects, how
 * to find their logs in Loki, what to redact, and how hard the sources may lean on their backends.
 * Loki's URL is not here: it comes from LOKI_URL.
 */

/** Prometheus label names (classic charset): the only ones LogQL accepts unquoted in a selector. */
const labelName = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'must be a Prometheus label name');

/** Candidates for one field of the target, tried in order; the first present, non-empty one wins. */
const labelNames = (defaults: string[]) => z.array(labelName).min(1).default(defaults);

/**
 * `exported_*` come first: when Prometheus scrapes kube-state-metrics (or cAdvisor through a
 * proxy) without `honor_labels: true`, the target labels that service discovery attached —
 * the namespace, pod and container of the exporter itself — keep the plain names, and the
 * labels the exporter reported about the object are renamed to `exported_namespace`,
 * `exported_pod`, `exported_container`. Where present, they are the ones the alert is about;
 * with an exported namespace the plain pod and container are the exporter's own, so resolveTarget
 * then reads only exported ones.
 * Setups with honor_labels (kube-prometheus-stack's default) never have them, so this costs nothing.
 * Workload labels get no fallback: service discovery does not attach deployment or node labels
 * under those names, so they do not collide.
 */
const targetLabelsSchema = z.strictObject({
  namespace: labelNames(['exported_namespace', 'namespace']),
  pod: labelNames(['exported_pod', 'pod']),
  container: labelNames(['exported_container', 'container']),
  deployment: labelNames(['deployment']),
  statefulset: labelNames(['statefulset']),
  daemonset: labelNames(['daemonset']),
  replicaset: labelNames(['replicaset']),
  /** kube-state-metrics says job_name; `job` is Prometheus' scrape job and must not be read here. */
  job: labelNames(['job_name']),
  node: labelNames(['node']),
  persistentVolumeClaim: labelNames(['persistentvolumeclaim']),
  persistentVolume: labelNames(['persistentvolume']),
  horizontalPodAutoscaler: labelNames(['horizontalpodautoscaler']),
  podDisruptionBudget: labelNames(['poddisruptionbudget']),
  resourceQuota: labelNames(['resourcequota']),
});

/**
 * How to recognise the scrape target itself — the exporter whose own namespace, pod and
 * container labels Prometheus keeps on series that have none (kube-prometheus-stack keeps
 * them with honor_labels; kube-prometheus keeps container="kube-rbac-proxy-main").
 */
const scrapeTargetsSchema = z.strictObject({
  /** `container` label values that are an exporter's container, never the object's. */
  containers: z.array(z.string().min(1)).default(['kube-state-metrics', 'kube-rbac-proxy-main', 'kube-rbac-proxy-self', 'kube-rbac-proxy']),
  /** A pod with one of these label values is an exporter: never the target of an alert that names another object. */
  podLabels: z
    .record(z.string().min(1), z.array(z.string().min(1)).min(1))
    .default({ 'app.kubernetes.io/name': ['kube-state-metrics'], 'k8s-app': ['kube-state-metrics'], app: ['kube-state-metrics'] }),
});

/** A JavaScript regular expression; `(?i)` at the start means case-insensitive, as in Go. */
const redactPattern = z.string().min(1).refine(
  (source) => {
    try {
      return !compilePattern(source).test('');
    } catch {
      return false;
    }
  },
  { message: 'must be a valid regular expression that does not match an empty string' },
);

// In a module of their own (no zod), so the store's worker thread can redact without loading the schema.
export { DEFAULT_REDACT_PATTERNS, compilePattern };

/**
 * Lines that look like trouble, as a LogQL (RE2) regex: Loki applies it as a `|~` filter, so
 * the excerpt prefers these lines without fetching everything. RE2 syntax, not JavaScript's.
 */
const DEFAULT_ERROR_PATTERN =
  String.raw`(?i)\b(err|error|errors|fatal|panic|panicked|exception|fail|failed|failure|crit|critical|emerg|oom|oomkilled|killed|traceback|refused|denied|unavailable|timeout|timed out)\b`;

const lokiSchema = z.strictObject({
  /** Stream labels that carry the pod's coordinates; log agents differ (Promtail, Alloy, Vector…). */
  labels: z
    .strictObject({
      namespace: labelName.default('namespace'),
      pod: labelName.default('pod'),
      container: labelName.default('container'),
    })
    .prefault({}),
  /** The excerpt covers [startsAt - windowBeforeMs, startsAt + windowAfterMs]. */
  windowBeforeMs: z.number().int().min(0).default(5 * 60_000),
  windowAfterMs: z.number().int().min(0).default(60_000),
  maxLines: z.number().int().min(1).max(100).default(20),
  errorPattern: z.string().min(1).default(DEFAULT_ERROR_PATTERN),
  /** Grafana base URL for an "Open in Explore" link; no link without it. */
  grafanaUrl: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).optional(),
  /** UID of Grafana's Loki data source; without it Explore opens with the default data source. */
  grafanaDatasourceUid: z.string().min(1).optional(),
  /** Grafana organisation holding that data source (the link's `orgId`); Grafana's first is 1. */
  grafanaOrgId: z.number().int().positive().default(1),
  /** X-Scope-OrgID sent to a multi-tenant Loki. */
  tenant: z.string().min(1).optional(),
  maxConcurrentRequests: z.number().int().min(1).max(64).default(4),
  /** Per request; the pipeline's own time budget usually ends it sooner. */
  requestTimeoutMs: z.number().int().positive().default(5000),
});

const kubeSchema = z.strictObject({
  maxConcurrentRequests: z.number().int().min(1).max(64).default(8),
  requestTimeoutMs: z.number().int().positive().default(5000),
});

export const enrichmentSchema = z.strictObject({
  /** Which label names say namespace, pod, deployment… (kube-state-metrics and cAdvisor by default). */
  labels: targetLabelsSchema.prefault({}),
  scrapeTargets: scrapeTargetsSchema.prefault({}),
  loki: lokiSchema.prefault({}),
  kube: kubeSchema.prefault({}),
  /** Regexes whose matches in log lines and event messages are replaced by [REDACTED]. Replaces the defaults. */
  redact: z.array(redactPattern).default([...DEFAULT_REDACT_PATTERNS]),
  /**
   * How long a Kubernetes answer is reused. Short: alerts in a storm share lookups, yet a
   * message edited a minute later shows fresh state.
   */
  cacheTtlMs: z.number().int().min(0).default(10_000),
});

export type EnrichmentConfig = z.output<typeof enrichmentSchema>;
export type TargetLabelsConfig = EnrichmentConfig['labels'];
export type ScrapeTargetsConfig = EnrichmentConfig['scrapeTargets'];
export type LokiConfig = EnrichmentConfig['loki'];

/** The config with every default, for callers without a config file section. */
export function defaultEnrichmentConfig(): EnrichmentConfig {
  return enrichmentSchema.parse({});
}
