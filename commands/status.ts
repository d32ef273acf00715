import type { WorkspaceSource } from '../src/access/home-workspace.ts';
import { UserError } from '../src/errors.ts';
import { parseMatchers } from '../src/integrations/silence-matchers.ts';
import { createSecretRedactor, type Redactor } from '../src/redact-secrets.ts';
import { restartAttributes } from '../src/workloads/restart-workload.ts';
import { rolloutOf } from '../src/workloads/rollout-progress.ts';
import { findHpa, scaleAttributes, type ScalingHpa } from '../src/workloads/scale-workload.ts';
import { parseWorkloadTarget } from '../src/workloads/workload-words.ts';
import {
  eventTime,
  listEvents,
  listPods,
  readsAs,
  readWorkloadObject,
  seen,
  templateImages,
  unreadyPods,
  type PodItem,
  type Seen,
  type WorkloadObject,
} from '../src/workloads/workload-reads.ts';
import { describeWorkload, type WorkloadRef } from '../src/workloads/workload-ref.ts';
import type { CommandContext, CommandDefinition, LookoutReads, PersonAccess, PersonKube } from './command.ts';
import { logsAccess } from './logs.ts';
import { maxReplicasFor } from './scale.ts';
import { silenceAttributes } from './silence-support.ts';
import { readWorkloadAlerts, type StatusAlertSources, type WorkloadAlerts } from './status-alerts.ts';
import { renderStatusCard, type RolloutState, type StatusButton, type WarningLine } from './status-card.ts';
import { wordsArgs } from './words-args.ts';

export interface StatusCommandOptions {
  /** Alertmanager, the store and the label names; without it the card says Alertmanager is not configured. */
  alerts?: StatusAlertSources;
  /** Lookout's workspace (auth.test), whose address message links start with. */
  workspace?: WorkspaceSource;
  /** Applied to event messages and alert summaries before they are shown. */
  redactor?: Redactor;
  now?: () => number;
}

/** How long the Silence button silences the workload's alerts. */
export const STATUS_SILENCE_DURATION = '1h';


/**
 * `/ops status`: one card about a workload, read as the person. No access review of its own:
 * reading the workload as them is the check (`get` on it), and each other part they may not
 * read says so. Buttons are offered only for what an access review allows them.
 */
export function createStatusCommand(options: StatusCommandOptions = {}): CommandDefinition<{ target: WorkloadRef }> {
  const redactor = options.redactor ?? createSecretRedactor();
  const now = options.now ?? Date.now;
  return {
    name: 'status',
    summary: 'What runs in a workload now: images, replicas, rollout, HPA, unready pods, warnings, alerts',
    usage: '<namespace>/<name>  ·  <namespace>/statefulset/<name>  ·  <namespace>/daemonset/<name>',
    args: wordsArgs(parseWorkloadTarget),
    async run(ctx) {
      if (ctx.kube === undefined) throw new UserError('Lookout is not connected to Kubernetes, so it cannot show a workload.');
      const [view, workspaceUrl] = await Promise.all([readStatus(ctx, ctx.kube, options.alerts), workspaceAddress(options.workspace)]);
      return renderStatusCard({ ...view, ...(workspaceUrl ? { workspaceUrl } : {}) }, redactor, now());
    },
  };
}

async function readStatus(ctx: CommandContext<{ target: WorkloadRef }>, kube: PersonKube, alertSources: StatusAlertSources | undefined) {
  const ref = ctx.args.target;
  const object = await readWorkloadObject(kube, ref);
  const [pods, hpa] = await Promise.all([seen(() => listPods(kube, ref, object.spec?.selector)), seen(() => findHpa(readsAs(kube), ref))]);
  const podNames = new Set('value' in pods ? pods.value.map((pod) => pod.metadata?.name ?? '') : []);
  const [warnings, alerts] = await Promise.all([
    seen(() => readWarnings(kube, ref, podNames)),
    readWorkloadAlerts(alertSources, ref, podNames, async () => (await ctx.access.authorize(silenceAttributes('list', [{ name: 'namespace', value: ref.namespace, isRegex: false, isEqual: true }]))).allowed),
  ]);
  const rollout = rolloutOf(ref.kind, object);
  const buttons = await allowedButtons(ctx.access, ctx, ref, object, hpa, alerts, ctx.lookoutReads);
  return {
    ref,
    images: templateImages(object.spec?.template),
    rollout,
    state: rolloutState(ref, object, rollout.complete, rollout.stalled),
    hpa,
    pods: mapSeen(pods, (items: PodItem[]) => ({ total: items.length, unready: unreadyPods(items) })),
    warnings,
    alerts,
    buttons,
  };
}

/** Paused (a Deployment's spec.paused), stalled (past progressDeadlineSeconds), complete, or progressing. */
export function rolloutState(ref: WorkloadRef, object: WorkloadObject, complete: boolean, stalled: string | undefined): RolloutState {
  if (ref.kind === 'Deployment' && object.spec?.paused === true) return { state: 'paused' };
  if (stalled !== undefined) {
    const deadline = object.spec?.progressDeadlineSeconds;
    return { state: 'stalled', why: deadline === undefined ? stalled : `no progress in ${deadline} s: ${stalled}` };
  }
  return { state: complete ? 'complete' : 'progressing' };
}

/** Warning events on the workload, its ReplicaSets (`<name>-<pod-template-hash>`) and the pods read. */
async function readWarnings(kube: PersonKube, ref: WorkloadRef, podNames: ReadonlySet<string>): Promise<WarningLine[]> {
  const replicaSet = new RegExp(`^${ref.name.replaceAll('.', '\\.')}-[a-z0-9]+$`);
  const events = await listEvents(kube, ref.namespace, 'type=Warning');
  return events
    .filter(({ involvedObject: object = {} }) => (object.kind === ref.kind && object.name === ref.name) || (object.kind === 'ReplicaSet' && ref.kind === 'Deployment' && replicaSet.test(object.name ?? '')) || (object.kind === 'Pod' && podNames.has(object.name ?? '')))
    .map((event) => ({
      object: `${event.involvedObject?.kind ?? '?'}/${event.involvedObject?.name ?? '?'}`,
      reason: event.reason ?? '',
      message: event.message ?? '',
      count: event.series?.count ?? event.count ?? 1,
      at: new Date(eventTime(event)).toISOString(),
    }));
}

/**
 * The actions the person may take on this workload, each decided by an access review made now
 * (the click is reviewed again, as typing the command would be). Scale is offered only when no
 * HPA scales the workload (it would undo the change, and `/ops scale` refuses); Silence only
 * while an alert fires unsilenced and names the workload by its own label.
 */
async function allowedButtons(
  access: PersonAccess,
  ctx: Pick<CommandContext<unknown>, 'settings'>,
  ref: WorkloadRef,
  object: WorkloadObject,
  hpa: Seen<ScalingHpa | undefined>,
  alerts: WorkloadAlerts,
  reads: LookoutReads | undefined,
): Promise<StatusButton[]> {
  const name = describeWorkload(ref);
  const candidates: Array<{ button: StatusButton; attributes: Parameters<PersonAccess['authorize']>[0] }> = [];
  if (ref.kind !== 'DaemonSet') {
    const scaledByHpa = 'value' in hpa ? hpa.value !== undefined : reads === undefined || (await findHpa(reads, ref)) !== undefined;
    const replicas = object.spec?.replicas ?? 1;
    if (!scaledByHpa) {
      if (replicas + 1 <= maxReplicasFor(ctx.settings, ref.namespace)) candidates.push({ button: { label: `Scale to ${replicas + 1}`, command: 'scale', value: `${name} ${replicas + 1}` }, attributes: scaleAttributes(ref) });
      if (replicas > 0) candidates.push({ button: { label: `Scale to ${replicas - 1}`, command: 'scale', value: `${name} ${replicas - 1}` }, attributes: scaleAttributes(ref) });
    }
  }
  candidates.push({ button: { label: 'Restart', command: 'restart', value: name }, attributes: restartAttributes(ref) });
  const kindWord = ref.kind.toLowerCase() as 'deployment' | 'statefulset' | 'daemonset';
  candidates.push({ button: { label: 'Logs', command: 'logs', value: `${ref.namespace}/${kindWord}/${ref.name}` }, attributes: logsAccess({ namespace: ref.namespace, kind: kindWord, name: ref.name }) });
  const silence = silenceButton(ref, alerts);
  if (silence !== undefined) candidates.push(silence);
  const reviews = await Promise.all(candidates.map(async (candidate) => (await access.authorize(candidate.attributes)).allowed));
  const allowed = candidates.filter((_, index) => reviews[index]).map((candidate) => candidate.button);
  // History needs no review of its own: it reads as the person, as this card did.
  return [...allowed, { label: 'History', command: 'history', value: name }];
}

function silenceButton(ref: WorkloadRef, alerts: WorkloadAlerts): { button: StatusButton; attributes: Parameters<PersonAccess['authorize']>[0] } | undefined {
  if (!('alerts' in alerts)) return undefined;
  const workloadLabel = ref.kind.toLowerCase();
  const firing = alerts.alerts.find(({ alert }) => alert.state === 'active' && alert.labels['namespace'] === ref.namespace && alert.labels[workloadLabel] === ref.name);
  if (firing === undefined) return undefined;
  const words = [`namespace=${ref.namespace}`, `${workloadLabel}=${ref.name}`];
  const matchers = parseMatchers(words);
  if ('error' in matchers) return undefined;
  return {
    button: { label: `Silence ${STATUS_SILENCE_DURATION}`, command: 'silence', value: `${words.join(' ')} ${STATUS_SILENCE_DURATION}` },
    attributes: silenceAttributes('create', matchers),
  };
}

/** The workspace's address, or undefined while Slack has not said (links then use slack.com). */
async function workspaceAddress(workspace: WorkspaceSource | undefined): Promise<string | undefined> {
  try {
    return (await workspace?.get())?.url;
  } catch {
    return undefined;
  }
}

function mapSeen<T, U>(part: Seen<T>, map: (value: T) => U): Seen<U> {
  return 'value' in part ? { value: map(part.value) } : part;
}
