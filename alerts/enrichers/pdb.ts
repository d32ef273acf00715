import type { LabelSelector, Pod, PodDisruptionBudget } from '../../src/kube/kube-objects.ts';
import { POD_LIMIT, type KubeReadView } from '../../src/kube/kube-reader.ts';
import type { Enricher, EnrichmentFact } from './enrichment.ts';
import { FACT_LIMITS } from './enrichment.ts';
import { clipLine, clipLines, code, dotted, plural, text } from './format.ts';
import type { Redactor } from './redact.ts';
import { withSafeErrors } from './source-errors.ts';

export interface PdbEnricherOptions {
  reader: KubeReadView;
  /** Condition messages (SyncFailed) quote what the disruption controller could not read. */
  redactor: Redactor;
}

/** Unhealthy pods named in the thread; the count says how many more there are. */
const UNHEALTHY_SHOWN = 10;

/**
 * The PodDisruptionBudget an alert names: disruptions allowed, healthy against desired, and
 * which of its pods are not Ready (listed by the PDB's own selector) — what blocks a drain.
 */
export function createPdbEnricher({ reader, redactor }: PdbEnricherOptions): Enricher {
  return {
    source: 'pdb',
    async enrich(_alert, target, signal) {
      const { namespace, podDisruptionBudget: name } = target;
      if (namespace === undefined || name === undefined) return undefined;
      return withSafeErrors(async () => {
        const pdb = await reader.getPodDisruptionBudget(namespace, name, signal);
        if (pdb === undefined) return { source: 'pdb', summary: `PDB ${code(name)} not found`, detail: `*PodDisruptionBudget* ${code(`${namespace}/${name}`)} not found.` };
        const selector = selectorText(pdb.spec?.selector);
        // No selector (or one Lookout cannot write as a query): no pods to list, rather than all of them.
        const pods = selector === undefined ? undefined : await reader.listPods(namespace, selector, signal);
        return describePdb(pdb, pods, redactor);
      });
    },
  };
}

function describePdb(pdb: PodDisruptionBudget, pods: Pod[] | undefined, redactor: Redactor): EnrichmentFact {
  const status = pdb.status;
  const allowed = status?.disruptionsAllowed ?? 0;
  const counts = [`disruptions allowed ${allowed}`, `healthy ${status?.currentHealthy ?? 0}/${status?.desiredHealthy ?? 0}`, `expected pods ${status?.expectedPods ?? 0}`];
  const unhealthy = (pods ?? []).filter((pod) => !isReady(pod));
  const summary = dotted([`PDB ${code(pdb.metadata.name)}`, ...counts, pods !== undefined && unhealthy.length > 0 && plural(unhealthy.length, 'unhealthy pod')]);

  const spec = pdb.spec;
  const rule = spec?.minAvailable != null ? `minAvailable ${text(String(spec.minAvailable), 20)}` : spec?.maxUnavailable != null ? `maxUnavailable ${text(String(spec.maxUnavailable), 20)}` : undefined;
  const lines = [dotted([`*PodDisruptionBudget* ${code(`${pdb.metadata.namespace ?? ''}/${pdb.metadata.name}`)}`, rule, ...counts])];
  if (pods !== undefined) {
    // A full page may not be all of them: say what was seen, not more.
    const seen = pods.length >= POD_LIMIT ? ` (of the first ${POD_LIMIT} listed)` : '';
    if (unhealthy.length === 0) lines.push(`All ${plural(pods.length, 'selected pod')} Ready${seen}.`);
    else {
      const shown = unhealthy.slice(0, UNHEALTHY_SHOWN).map((pod) => `${code(pod.metadata.name)} (${text(pod.status?.phase ?? 'Unknown', 20)}${pod.metadata.deletionTimestamp ? ', terminating' : ''})`);
      const more = unhealthy.length - shown.length;
      lines.push(`Unhealthy${seen}: ${shown.join(', ')}${more > 0 ? ` +${more} more` : ''}`);
    }
  }
  for (const condition of status?.conditions ?? []) {
    if (condition.status === 'True') continue;
    lines.push(`• ⚠️ ${text(condition.type, 40)}=${text(condition.status, 10)}${condition.reason ? ` (${text(condition.reason, 60)})` : ''}${condition.message ? ` — ${text(redactor.redact(condition.message), 240)}` : ''}`);
  }
  return { source: 'pdb', summary: clipLine(summary, FACT_LIMITS.summary), detail: clipLines(lines.join('\n'), FACT_LIMITS.detail) };
}

/** Ready as the disruption controller counts it: the Ready condition True and not being deleted. */
function isReady(pod: Pod): boolean {
  return pod.metadata.deletionTimestamp == null && (pod.status?.conditions ?? []).some((condition) => condition.type === 'Ready' && condition.status === 'True');
}

/** Label values and keys a selector query can carry without quoting (the API has no quoting). */
const SELECTOR_PART = /^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$/;

/**
 * A LabelSelector as the `labelSelector` query parameter: `a=b,c in (d,e),!f`. Undefined for an
 * empty selector (a PDB with `{}` selects every pod of the namespace; Lookout does not list them
 * all) and for anything it cannot write safely.
 */
export function selectorText(selector: LabelSelector | null | undefined): string | undefined {
  if (selector == null) return undefined;
  const parts: string[] = [];
  const safe = (value: string): boolean => value === '' || SELECTOR_PART.test(value);
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (!SELECTOR_PART.test(key) || !safe(value)) return undefined;
    parts.push(`${key}=${value}`);
  }
  for (const { key, operator, values } of selector.matchExpressions ?? []) {
    if (!SELECTOR_PART.test(key) || !(values ?? []).every(safe)) return undefined;
    const list = (values ?? []).join(',');
    if (operator === 'In') parts.push(`${key} in (${list})`);
    else if (operator === 'NotIn') parts.push(`${key} notin (${list})`);
    else if (operator === 'Exists') parts.push(key);
    else if (operator === 'DoesNotExist') parts.push(`!${key}`);
    else return undefined;
  }
  return parts.length === 0 ? undefined : parts.join(',');
}
