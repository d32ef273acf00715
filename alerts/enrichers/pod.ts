import type { ContainerState, ContainerStatus, Pod } from '../../src/kube/kube-objects.ts';
import type { KubeReadView } from '../../src/kube/kube-reader.ts';
import type { Enricher, EnrichmentFact } from './enrichment.ts';
import { FACT_LIMITS } from './enrichment.ts';
import { ago, at, clipLine, clipLines, code, dotted, plural, shortDuration, suffix, text } from './format.ts';
import type { Redactor } from './redact.ts';
import { withSafeErrors } from './source-errors.ts';

export interface PodEnricherOptions {
  reader: KubeReadView;
  now: () => number;
  /** For status messages, which can quote a command line or an image pull secret's registry URL. */
  redactor: Redactor;
}

/**
 * What `kubectl get pod` and `describe` would say first: phase or the container's waiting
 * reason, restarts, the last termination (OOMKilled, exit code, when), node, age, image.
 */
export function createPodEnricher({ reader, now, redactor }: PodEnricherOptions): Enricher {
  return {
    source: 'pod',
    async enrich(_alert, target, signal) {
      const { namespace, pod: name } = target;
      if (namespace === undefined || name === undefined) return undefined;
      const pod = await withSafeErrors(() => reader.getPod(namespace, name, signal));
      if (pod === undefined) {
        return { source: 'pod', summary: `${code(name)} no longer exists`, detail: `*Pod* ${code(`${namespace}/${name}`)} no longer exists (deleted or replaced).` };
      }
      return describePod(pod, target.container, now(), redactor);
    },
  };
}

function describePod(pod: Pod, alertContainer: string | undefined, now: number, redactor: Redactor): EnrichmentFact {
  const statuses = pod.status?.containerStatuses ?? [];
  const focus = focusContainer(statuses, alertContainer);
  const ready = statuses.filter((status) => status.ready === true).length;
  const node = pod.spec?.nodeName ?? undefined;

  const last = focus ? lastTermination(focus) : undefined;
  const restarts = focus?.restartCount ?? 0;
  const summary = dotted([
    code(pod.metadata.name),
    headline(pod, focus, ready, statuses.length),
    restarts > 0 && plural(restarts, 'restart'),
    last && `last ${terminationText(last)}${suffix(ago(last.finishedAt, now))}`,
    node !== undefined && code(node),
  ]);

  const podLine = dotted([
    `*Pod* ${code(`${pod.metadata.namespace ?? ''}/${pod.metadata.name}`)}`,
    pod.status?.phase ?? 'Unknown',
    statuses.length > 0 && `ready ${ready}/${statuses.length}`,
    node !== undefined && `node ${code(node)}`,
    age(pod.metadata.creationTimestamp, now),
    pod.metadata.deletionTimestamp && `terminating since ${at(pod.metadata.deletionTimestamp) ?? '?'}`,
  ]);
  const lines = [podLine];
  const podReason = pod.status?.reason;
  if (podReason) {
    const message = pod.status?.message;
    lines.push(`> ${text(podReason, 60)}${message ? `: ${text(redactor.redact(message), 300)}` : ''}`);
  }
  const unschedulable = pod.status?.conditions?.find((condition) => condition.type === 'PodScheduled' && condition.status === 'False');
  if (unschedulable) {
    lines.push(`> not scheduled: ${text(unschedulable.reason ?? 'unknown', 60)}${unschedulable.message ? ` — ${text(redactor.redact(unschedulable.message), 300)}` : ''}`);
  }
  const images = new Map((pod.spec?.containers ?? []).map((container) => [container.name, container.image ?? undefined]));
  for (const status of pod.status?.initContainerStatuses ?? []) {
    if (status.state?.terminated?.exitCode === 0) continue; // finished fine: noise
    lines.push(...containerLines(status, 'init ', undefined, now, redactor));
  }
  for (const status of statuses) lines.push(...containerLines(status, '', images.get(status.name), now, redactor));
  return {
    source: 'pod',
    summary: clipLine(summary, FACT_LIMITS.summary),
    detail: clipLines(lines.join('\n'), FACT_LIMITS.detail),
  };
}

/** The container the alert names, else the one in the worst shape (waiting > not ready > most restarts). */
function focusContainer(statuses: readonly ContainerStatus[], named: string | undefined): ContainerStatus | undefined {
  const byName = named === undefined ? undefined : statuses.find((status) => status.name === named);
  if (byName) return byName;
  const score = (status: ContainerStatus): number =>
    (status.state?.waiting ? 1_000_000 : 0) + (status.ready === true ? 0 : 100_000) + Math.min(status.restartCount ?? 0, 99_999);
  return [...statuses].sort((a, b) => score(b) - score(a))[0];
}

/** The word an engineer looks for: CrashLoopBackOff, Evicted, Unschedulable, or the phase. */
function headline(pod: Pod, focus: ContainerStatus | undefined, ready: number, total: number): string {
  const podReason = pod.status?.reason;
  if (podReason) return text(podReason, 60);
  const waiting = focus?.state?.waiting?.reason;
  if (waiting) return text(waiting, 60);
  const terminated = focus?.state?.terminated;
  if (terminated) return terminationText(terminated);
  const phase = pod.status?.phase ?? 'Unknown';
  if (phase === 'Pending') {
    const unschedulable = pod.status?.conditions?.find((condition) => condition.type === 'PodScheduled' && condition.status === 'False');
    return unschedulable ? `Pending (${text(unschedulable.reason ?? 'unscheduled', 40)})` : 'Pending';
  }
  if (phase === 'Running' && total > 0 && ready < total) return `Running, ${ready}/${total} ready`;
  return text(phase, 40);
}

type Terminated = NonNullable<ContainerState['terminated']>;

/** The termination to report: the current one if the container is down, else the previous one. */
function lastTermination(status: ContainerStatus): Terminated | undefined {
  return status.state?.terminated ?? status.lastState?.terminated ?? undefined;
}

/** "OOMKilled", "Error (exit 1)", "exit 137": the kubelet's reason, with the code when it adds something. */
function terminationText(terminated: Terminated): string {
  const reason = terminated.reason ?? '';
  const exit = `exit ${terminated.exitCode}`;
  if (reason === '') return exit;
  if (reason === 'OOMKilled' || reason === 'Completed') return reason;
  return `${text(reason, 40)} (${exit})`;
}

function containerLines(status: ContainerStatus, prefix: string, image: string | undefined, now: number, redactor: Redactor): string[] {
  const state = status.state;
  const current = state?.waiting
    ? `waiting: ${text(state.waiting.reason ?? 'unknown', 60)}`
    : state?.terminated
      ? `terminated: ${terminationText(state.terminated)}`
      : state?.running
        ? `running${suffix(state.running.startedAt ? `since ${at(state.running.startedAt) ?? '?'}` : undefined)}`
        : 'unknown state';
  const last = status.lastState?.terminated;
  const line = dotted([
    `• ${prefix}${code(status.name, 80)}`,
    (image ?? status.image) ? code(image ?? status.image ?? '', 160) : undefined,
    current,
    status.ready === true ? 'ready' : 'not ready',
    plural(status.restartCount ?? 0, 'restart'),
    last && `last terminated ${terminationText(last)}${suffix(at(last.finishedAt))}${suffix(ago(last.finishedAt, now))}`,
  ]);
  const lines = [line];
  const message = state?.waiting?.message ?? state?.terminated?.message;
  if (message) lines.push(`   > ${text(redactor.redact(message), 300)}`);
  return lines;
}

function age(created: string | null | undefined, now: number): string | undefined {
  const ms = created ? Date.parse(created) : Number.NaN;
  return ms > 0 ? `age ${shortDuration(now - ms)}` : undefined;
}
