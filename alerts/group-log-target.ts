import type { LogsArgs } from '../commands/logs-args.ts';
import type { GroupEnrichment } from './enrichers/enrichment.ts';
import type { GroupState } from './group-state.ts';

const WORKLOAD_KINDS = { Deployment: 'deployment', StatefulSet: 'statefulset', DaemonSet: 'daemonset' } as const;

/**
 * What the Show logs button reads for a group: the pod its firing alerts are about (their
 * container too, when they agree on one), else the Deployment, StatefulSet or DaemonSet they
 * share — as enrichment resolved them (stored server-side, labels confirmed by lookups).
 * Undefined when the alerts disagree or name nothing logs can be read from: no button then.
 */
export function groupLogTarget(state: GroupState, enrichment: GroupEnrichment | undefined): Omit<LogsArgs, 'previous'> | undefined {
  if (enrichment === undefined) return undefined;
  const firing = state.alerts.filter((alert) => alert.status === 'firing');
  const targets = firing.map((alert) => (Object.hasOwn(enrichment, alert.fingerprint) ? enrichment[alert.fingerprint]?.target : undefined));
  const [first, ...rest] = targets;
  if (first === undefined || first.namespace === undefined || rest.some((target) => target?.namespace !== first.namespace)) return undefined;
  const { namespace } = first;
  if (first.pod !== undefined && rest.every((target) => target?.pod === first.pod)) {
    const sameContainer = first.container !== undefined && rest.every((target) => target?.container === first.container);
    return { namespace, kind: 'pod', name: first.pod, ...(sameContainer && first.container !== undefined ? { container: first.container } : {}) };
  }
  const workload = first.workload;
  if (workload === undefined || !Object.hasOwn(WORKLOAD_KINDS, workload.kind)) return undefined;
  if (!rest.every((target) => target?.workload?.kind === workload.kind && target.workload.name === workload.name)) return undefined;
  return { namespace, kind: WORKLOAD_KINDS[workload.kind as keyof typeof WORKLOAD_KINDS], name: workload.name };
}
