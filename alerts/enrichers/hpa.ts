import type { HorizontalPodAutoscaler, HpaMetric } from '../../src/kube/kube-objects.ts';
import type { KubeReadView } from '../../src/kube/kube-reader.ts';
import type { Enricher, EnrichmentFact } from './enrichment.ts';
import { FACT_LIMITS } from './enrichment.ts';
import { ago, clipLine, clipLines, code, dotted, suffix, text } from './format.ts';
import type { Redactor } from './redact.ts';
import { withSafeErrors } from './source-errors.ts';

export interface HpaEnricherOptions {
  reader: KubeReadView;
  now: () => number;
  /** Condition messages quote metric names and adapter errors. */
  redactor: Redactor;
}

/**
 * The HorizontalPodAutoscaler an alert names (KubeHpaMaxedOut, KubeHpaReplicasMismatch): its
 * bounds, current and desired replicas, each metric against its target, and the conditions
 * that explain why it does not scale. Its scale target is described by the workload source
 * (target.ts puts it in the target).
 */
export function createHpaEnricher({ reader, now, redactor }: HpaEnricherOptions): Enricher {
  return {
    source: 'hpa',
    async enrich(_alert, target, signal) {
      const { namespace, horizontalPodAutoscaler: name } = target;
      if (namespace === undefined || name === undefined) return undefined;
      return withSafeErrors(async () => {
        // The namespace's list, which target resolution already read (one cached request).
        const hpa = (await reader.listHorizontalPodAutoscalers(namespace, signal)).find((candidate) => candidate.metadata.name === name);
        if (hpa === undefined) return { source: 'hpa', summary: `HPA ${code(name)} not found`, detail: `*HPA* ${code(`${namespace}/${name}`)} not found.` };
        return describeHpa(hpa, now(), redactor);
      });
    },
  };
}

function describeHpa(hpa: HorizontalPodAutoscaler, now: number, redactor: Redactor): EnrichmentFact {
  const min = hpa.spec.minReplicas ?? 1;
  const max = hpa.spec.maxReplicas;
  const current = hpa.status?.currentReplicas ?? 0;
  const desired = hpa.status?.desiredReplicas ?? current;
  const ref = hpa.spec.scaleTargetRef;
  const state = current >= max && desired >= max ? '*at max*' : desired !== current ? `wants ${desired}` : undefined;
  const counts = [`min ${min}`, `max ${max}`, `current ${current}`, `desired ${desired}`];
  const summary = dotted([`HPA ${code(hpa.metadata.name)}`, ...counts, state]);

  const lines = [dotted([`*HPA* ${code(`${hpa.metadata.namespace ?? ''}/${hpa.metadata.name}`)}`, ...counts, state, `scales ${text(ref.kind, 40)} ${code(ref.name)}`])];
  const currents = hpa.status?.currentMetrics ?? [];
  for (const [index, metric] of (hpa.spec.metrics ?? []).entries()) {
    const name = metricName(metric);
    const observed = currents.find((candidate) => candidate.type === metric.type && metricName(candidate) === name) ?? currents[index];
    lines.push(`• ${text(metric.type, 30)} ${code(name, 80)}: ${valueText(observed === undefined ? undefined : sourceOf(observed)?.current, 'unknown')} of target ${valueText(sourceOf(metric)?.target, '?')}`);
  }
  for (const condition of hpa.status?.conditions ?? []) {
    // AbleToScale and ScalingActive are trouble when False; ScalingLimited when True.
    const trouble = condition.type === 'ScalingLimited' ? condition.status === 'True' : condition.status !== 'True';
    lines.push(
      `• ${trouble ? '⚠️ ' : ''}${text(condition.type, 40)}=${text(condition.status, 10)}${condition.reason ? ` (${text(condition.reason, 60)})` : ''}` +
        `${condition.message ? ` — ${text(redactor.redact(condition.message), 240)}` : ''}${suffix(ago(condition.lastTransitionTime, now))}`,
    );
  }
  return { source: 'hpa', summary: clipLine(summary, FACT_LIMITS.summary), detail: clipLines(lines.join('\n'), FACT_LIMITS.detail) };
}

function sourceOf(metric: HpaMetric) {
  return metric.resource ?? metric.containerResource ?? metric.pods ?? metric.object ?? metric.external ?? undefined;
}

/** "cpu", "requests_per_second": a resource's name or the custom metric's. */
function metricName(metric: HpaMetric): string {
  const source = sourceOf(metric);
  return source?.name ?? source?.metric?.name ?? '?';
}

type MetricValue = NonNullable<NonNullable<ReturnType<typeof sourceOf>>['target']>;

/** "95%", "250m", "1k": utilisation in percent of the request, else the raw quantity. */
function valueText(value: MetricValue | null | undefined, missing: string): string {
  if (value == null) return missing;
  if (value.averageUtilization != null) return `${value.averageUtilization}%`;
  const quantity = value.averageValue ?? value.value;
  return quantity == null ? missing : code(quantity, 40);
}
