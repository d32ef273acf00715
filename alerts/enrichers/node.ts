import type { Condition, Node } from '../../src/kube/kube-objects.ts';
import type { KubeReadView } from '../../src/kube/kube-reader.ts';
import type { Enricher, EnrichmentFact } from './enrichment.ts';
import { FACT_LIMITS } from './enrichment.ts';
import { ago, clipLine, clipLines, code, dotted, suffix, text } from './format.ts';
import type { Redactor } from './redact.ts';
import { withSafeErrors } from './source-errors.ts';

export interface NodeEnricherOptions {
  reader: KubeReadView;
  now: () => number;
  /** Condition messages come from the kubelet and node problem detectors, which may quote anything. */
  redactor: Redactor;
}

/** Conditions whose True means trouble; for Ready it is the other way round. */
const PRESSURE = new Set(['MemoryPressure', 'DiskPressure', 'PIDPressure', 'NetworkUnavailable']);

/**
 * Node conditions and pressure, for node alerts. Pod alerts often carry a `node` label too
 * (from kube_pod_info joins); there the pod source already names the node, and reading every
 * node of a storm would spend the request budget on what the pod line says, so this source
 * only looks at alerts that name a node and no pod.
 */
export function createNodeEnricher({ reader, now, redactor }: NodeEnricherOptions): Enricher {
  return {
    source: 'node',
    async enrich(_alert, target, signal) {
      const { node: name } = target;
      if (name === undefined || target.pod !== undefined) return undefined;
      const node = await withSafeErrors(() => reader.getNode(name, signal));
      if (node === undefined) return { source: 'node', summary: `node ${code(name)} not found`, detail: `*Node* ${code(name)} not found (removed from the cluster?).` };
      return describeNode(node, now(), redactor);
    },
  };
}

function describeNode(node: Node, now: number, redactor: Redactor): EnrichmentFact {
  const conditions = node.status?.conditions ?? [];
  const ready = conditions.find((condition) => condition.type === 'Ready');
  const pressures = conditions.filter((condition) => PRESSURE.has(condition.type) && condition.status === 'True');
  const cordoned = node.spec?.unschedulable === true;

  const readyText =
    ready === undefined
      ? 'Ready unknown'
      : ready.status === 'True'
        ? 'Ready'
        : `${ready.status === 'Unknown' ? 'NotReady (kubelet stopped posting)' : 'NotReady'}${ready.reason && ready.status !== 'Unknown' ? ` (${text(ready.reason, 60)})` : ''}${suffix(ago(ready.lastTransitionTime, now))}`;
  const summary = dotted([
    code(node.metadata.name),
    readyText,
    ...pressures.map((condition) => `${text(condition.type, 40)}${suffix(ago(condition.lastTransitionTime, now))}`),
    cordoned && 'cordoned',
  ]);

  const lines = [dotted([`*Node* ${code(node.metadata.name)}`, readyText, cordoned && 'cordoned (unschedulable)', node.status?.nodeInfo?.kubeletVersion && `kubelet ${text(node.status.nodeInfo.kubeletVersion, 40)}`])];
  for (const condition of conditions) lines.push(conditionLine(condition, now, redactor));
  const taints = node.spec?.taints ?? [];
  if (taints.length > 0) {
    lines.push(`Taints: ${taints.map((taint) => code(`${taint.key}${taint.value ? `=${taint.value}` : ''}:${taint.effect}`)).join(', ')}`);
  }
  return { source: 'node', summary: clipLine(summary, FACT_LIMITS.summary), detail: clipLines(lines.join('\n'), FACT_LIMITS.detail) };
}

function conditionLine(condition: Condition, now: number, redactor: Redactor): string {
  const bad = condition.type === 'Ready' ? condition.status !== 'True' : condition.status !== 'False';
  return (
    `• ${bad ? '⚠️ ' : ''}${text(condition.type, 40)}=${text(condition.status, 10)}` +
    `${condition.reason ? ` (${text(condition.reason, 60)})` : ''}` +
    `${bad && condition.message ? ` — ${text(redactor.redact(condition.message), 240)}` : ''}` +
    `${condition.lastTransitionTime ? ` since ${ago(condition.lastTransitionTime, now) ?? '?'}` : ''}`
  );
}
