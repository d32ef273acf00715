import type { Condition, HorizontalPodAutoscaler } from '../../src/kube/kube-objects.ts';
import type { KubeReadView, WorkloadObject } from '../../src/kube/kube-reader.ts';
import type { Enricher, EnrichmentFact } from './enrichment.ts';
import { FACT_LIMITS } from './enrichment.ts';
import { ago, clipLine, clipLines, code, dotted, text } from './format.ts';
import { resolveOwnerChain, type OwnerChain } from './owner-chain.ts';
import type { Redactor } from './redact.ts';
import { withSafeErrors } from './source-errors.ts';

export interface WorkloadEnricherOptions {
  reader: KubeReadView;
  now: () => number;
  /** Condition messages repeat what a controller was refused (an admission webhook quoting the pod spec). */
  redactor: Redactor;
}

/** Kinds an HPA can scale (scaleTargetRef); DaemonSets and Jobs have no replica count to scale. */
const SCALABLE = new Set(['Deployment', 'StatefulSet', 'ReplicaSet']);

/**
 * The workload behind the alert — named by its labels, or found from the pod's owner chain —
 * with its replica counts, whether a rollout is in progress, paused or stuck, and its HPA's
 * bounds (an HPA pinned at its maximum explains a lot of saturation alerts).
 */
export function createWorkloadEnricher({ reader, now, redactor }: WorkloadEnricherOptions): Enricher {
  return {
    source: 'workload',
    async enrich(_alert, target, signal) {
      const { namespace } = target;
      if (namespace === undefined || (target.pod === undefined && target.workload === undefined)) return undefined;
      return withSafeErrors(async () => {
        const chain = await resolveOwnerChain(reader, target, signal);
        const ref = chain.workload;
        if (ref === undefined) return undefined;
        const [workload, hpas] = await Promise.all([
          reader.getWorkload(ref.kind, namespace, ref.name, signal),
          SCALABLE.has(ref.kind) ? reader.listHorizontalPodAutoscalers(namespace, signal) : Promise.resolve([]),
        ]);
        if (workload === undefined) {
          return { source: 'workload', summary: `${ref.kind} ${code(ref.name)} not found`, detail: `*${ref.kind}* ${code(`${namespace}/${ref.name}`)} not found.` };
        }
        // An HPA alert's own HPA is the hpa source's to describe; here it would say it twice.
        const hpa = target.horizontalPodAutoscaler === undefined
          ? hpas.find((candidate) => candidate.spec.scaleTargetRef.kind === ref.kind && candidate.spec.scaleTargetRef.name === ref.name)
          : undefined;
        return describe(workload, hpa, chain, now(), redactor);
      });
    },
  };
}

interface Shape {
  /** ready 2/3 · updated 2 · available 2 */
  counts: string[];
  /** rollout in progress / paused / stuck; job failed… */
  state?: string;
  /** Conditions worth a line in the thread. */
  conditions: Condition[];
}

function describe(workload: WorkloadObject, hpa: HorizontalPodAutoscaler | undefined, chain: OwnerChain, now: number, redactor: Redactor): EnrichmentFact {
  const shape = shapeOf(workload);
  const name = workload.object.metadata.name;
  const hpaSummary = hpa ? hpaText(hpa) : undefined;
  const summary = dotted([`${workload.kind} ${code(name)}`, ...shape.counts, shape.state, hpaSummary]);

  const lines = [dotted([`*${workload.kind}* ${code(`${workload.object.metadata.namespace ?? ''}/${name}`)}`, ...shape.counts, shape.state])];
  const path = chainText(chain, workload);
  if (path !== undefined) lines.push(path);
  for (const condition of shape.conditions) {
    lines.push(`${conditionLine(condition, redactor)}${condition.lastTransitionTime ? ` ${ago(condition.lastTransitionTime, now) ?? ''}` : ''}`);
  }
  if (hpa) {
    lines.push(`*HPA* ${code(hpa.metadata.name)} · ${hpaText(hpa)}`);
    for (const condition of hpa.status?.conditions ?? []) {
      if (condition.type === 'ScalingLimited' ? condition.status !== 'True' : condition.status !== 'False') continue;
      lines.push(conditionLine(condition, redactor));
    }
  }
  return { source: 'workload', summary: clipLine(summary, FACT_LIMITS.summary), detail: clipLines(lines.join('\n'), FACT_LIMITS.detail) };
}

function shapeOf(workload: WorkloadObject): Shape {
  const generation = workload.object.metadata.generation ?? 0;
  switch (workload.kind) {
    case 'Deployment': {
      const { spec, status } = workload.object;
      const desired = spec?.replicas ?? 1;
      const updated = status?.updatedReplicas ?? 0;
      const available = status?.availableReplicas ?? 0;
      const conditions = status?.conditions ?? [];
      const progressing = conditions.find((condition) => condition.type === 'Progressing');
      let state: string | undefined;
      if (spec?.paused === true) state = 'rollout paused';
      else if (progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded') state = 'rollout stuck (ProgressDeadlineExceeded)';
      else if ((status?.observedGeneration ?? 0) < generation || updated < desired || (status?.replicas ?? 0) > updated || available < updated) {
        state = 'rollout in progress';
      }
      return {
        counts: [`ready ${status?.readyReplicas ?? 0}/${desired}`, `updated ${updated}`, `available ${available}`],
        ...(state === undefined ? {} : { state }),
        // ReplicaFailure is the one Deployment condition whose True means trouble (pods refused by quota or a webhook).
        conditions: conditions.filter((condition) =>
          condition.type === 'ReplicaFailure' ? condition.status === 'True' : condition.status !== 'True' || condition.reason === 'ProgressDeadlineExceeded',
        ),
      };
    }
    case 'StatefulSet': {
      const { spec, status } = workload.object;
      const desired = spec?.replicas ?? 1;
      const updated = status?.updatedReplicas ?? 0;
      const rolling =
        (status?.observedGeneration ?? 0) < generation ||
        (status?.updateRevision != null && status.currentRevision != null && status.updateRevision !== status.currentRevision) ||
        updated < desired;
      return {
        counts: [`ready ${status?.readyReplicas ?? 0}/${desired}`, `updated ${updated}`, `available ${status?.availableReplicas ?? 0}`],
        ...(rolling ? { state: 'rollout in progress' } : {}),
        conditions: [],
      };
    }
    case 'DaemonSet': {
      const status = workload.object.status;
      const desired = status?.desiredNumberScheduled ?? 0;
      const updated = status?.updatedNumberScheduled ?? 0;
      const misscheduled = status?.numberMisscheduled ?? 0;
      const rolling = (status?.observedGeneration ?? 0) < generation || updated < desired;
      return {
        counts: [
          `ready ${status?.numberReady ?? 0}/${desired}`,
          `updated ${updated}`,
          `available ${status?.numberAvailable ?? 0}`,
          ...(misscheduled > 0 ? [`misscheduled ${misscheduled}`] : []),
        ],
        ...(rolling ? { state: 'rollout in progress' } : {}),
        conditions: [],
      };
    }
    case 'Job': {
      const { spec, status } = workload.object;
      const conditions = status?.conditions ?? [];
      const failed = conditions.find((condition) => condition.type === 'Failed' && condition.status === 'True');
      const complete = conditions.find((condition) => condition.type === 'Complete' && condition.status === 'True');
      const state = failed
        ? `failed${failed.reason ? ` (${text(failed.reason, 60)})` : ''}`
        : complete
          ? 'complete'
          : spec?.suspend === true
            ? 'suspended'
            : 'running';
      return {
        counts: [
          `active ${status?.active ?? 0}`,
          `succeeded ${status?.succeeded ?? 0}/${spec?.completions ?? 1}`,
          `failed ${status?.failed ?? 0}${spec?.backoffLimit != null ? `/${spec.backoffLimit + 1}` : ''}`,
        ],
        state,
        conditions: conditions.filter((condition) => condition.status === 'True' && condition.type !== 'Complete'),
      };
    }
    case 'ReplicaSet': {
      const { spec, status } = workload.object;
      return {
        counts: [`ready ${status?.readyReplicas ?? 0}/${spec?.replicas ?? 1}`, `available ${status?.availableReplicas ?? 0}`],
        conditions: [],
      };
    }
  }
}

/** "• Available=False (MinimumReplicasUnavailable) — message", the message redacted. */
function conditionLine(condition: Condition, redactor: Redactor): string {
  const reason = condition.reason ? ` (${text(condition.reason, 60)})` : '';
  const message = condition.message ? ` — ${text(redactor.redact(condition.message), 240)}` : '';
  return `• ${text(condition.type, 40)}=${text(condition.status, 10)}${reason}${message}`;
}

/** "HPA 2–10 (now 4)" or "HPA 2–3 at max (3)". */
function hpaText(hpa: HorizontalPodAutoscaler): string {
  const min = hpa.spec.minReplicas ?? 1;
  const max = hpa.spec.maxReplicas;
  const current = hpa.status?.currentReplicas ?? 0;
  const desired = hpa.status?.desiredReplicas ?? current;
  // Pinned: it already runs the maximum and still wants at least that many.
  if (current >= max && desired >= max) return `HPA ${min}–${max} *at max* (${current})`;
  return `HPA ${min}–${max} (now ${current}${desired !== current ? `, wants ${desired}` : ''})`;
}

/** "Pod `x` → ReplicaSet `y` → Deployment `z`" when the workload was found through the pod. */
function chainText(chain: OwnerChain, workload: WorkloadObject): string | undefined {
  if (chain.pod === undefined) return undefined;
  const links = [`Pod ${code(chain.pod.metadata.name)}`];
  if (chain.owner) links.push(`${text(chain.owner.kind, 40)} ${code(chain.owner.name)}`);
  if (chain.owner?.kind !== workload.kind || chain.owner.name !== workload.object.metadata.name) {
    links.push(`${workload.kind} ${code(workload.object.metadata.name)}`);
  }
  return links.join(' → ');
}
