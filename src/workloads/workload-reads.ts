import type { LookoutReads, PersonKube } from '../../commands/command.ts';
import type { ResourceAttributes } from '../kube/access-review.ts';
import { KubeApiError } from '../kube/kube-http.ts';
import { kubeFailure } from './kube-failure.ts';
import type { WorkloadStatus } from './rollout-progress.ts';
import { describeWorkload, resourceOf, workloadPath, type WorkloadRef } from './workload-ref.ts';

/*
 * Reads about one workload made AS the person (`/ops status`, `/ops history`): what RBAC hides
 * from them stays hidden, and a section they may not read is data ("not allowed to see pods"),
 * never an error that sinks the rest of the answer.
 */

/** One part of an answer: what was read, or that the person may not read it, or that the read failed. */
export type Seen<T> = { value: T } | { hidden: true } | { failed: string };

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

export interface PodTemplate {
  metadata?: { labels?: Record<string, string> };
  spec?: { containers?: Array<{ name: string; image?: string }>; initContainers?: Array<{ name: string; image?: string }> };
}

/** A Deployment, StatefulSet or DaemonSet as `/ops status` and `/ops history` use it. */
export interface WorkloadObject extends WorkloadStatus {
  metadata?: WorkloadStatus['metadata'] & { uid?: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  spec?: WorkloadStatus['spec'] & { paused?: boolean; progressDeadlineSeconds?: number; selector?: LabelSelector; template?: PodTemplate };
}

/** The workload itself, as the person: a 403 names `get` on it, a 404 says there is none. */
export async function readWorkloadObject(kube: PersonKube, ref: WorkloadRef): Promise<WorkloadObject> {
  try {
    return await kube.request<WorkloadObject>({ method: 'GET', path: workloadPath(ref) });
  } catch (error) {
    return kubeFailure(error, { attributes: getAttributes(ref), what: `${ref.kind} ${describeWorkload(ref)}` });
  }
}

/** `get deployments` (statefulsets, daemonsets) on the workload: what both commands need at least. */
export function getAttributes(ref: WorkloadRef): ResourceAttributes {
  return { verb: 'get', group: 'apps', resource: resourceOf(ref.kind), namespace: ref.namespace, name: ref.name };
}

/**
 * A read the person may be refused: 403 → hidden, another API answer → failed with its status
 * (never the server's text, which can quote the request). Anything else is a bug and is thrown.
 */
export async function seen<T>(read: () => Promise<T>): Promise<Seen<T>> {
  try {
    return { value: await read() };
  } catch (error) {
    if (!(error instanceof KubeApiError)) throw error;
    if (error.status === 403) return { hidden: true };
    return { failed: `Kubernetes answered HTTP ${error.status}` };
  }
}

/** Lookout's read port over the person's client, for helpers written against LookoutReads. */
export function readsAs(kube: PersonKube): LookoutReads {
  return { get: <T>(path: string, query?: Record<string, string>) => kube.request<T>({ method: 'GET', path, ...(query ? { query } : {}) }) };
}

/**
 * The selector as a `labelSelector` query value. Label keys and values are validated by the API
 * server, so they hold none of `,()=!`; an operator Lookout does not know matches nothing.
 */
export function selectorQuery(selector: LabelSelector | undefined): string | undefined {
  const parts = Object.entries(selector?.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`);
  for (const { key, operator, values = [] } of selector?.matchExpressions ?? []) {
    if (operator === 'In') parts.push(`${key} in (${values.join(',')})`);
    else if (operator === 'NotIn') parts.push(`${key} notin (${values.join(',')})`);
    else if (operator === 'Exists') parts.push(key);
    else if (operator === 'DoesNotExist') parts.push(`!${key}`);
    else return undefined;
  }
  // An empty selector selects everything in the namespace: not this workload's pods.
  return parts.length === 0 ? undefined : parts.join(',');
}

/** "api: registry.example/api:1.4.2" for each container of the template, init containers last. */
export function templateImages(template: PodTemplate | undefined): Array<{ container: string; image: string }> {
  const spec = template?.spec;
  return [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])].map((container) => ({ container: container.name, image: container.image ?? '' }));
}

/** A pod as listed (the fields the status card reads). */
export interface PodItem {
  metadata?: { name?: string; deletionTimestamp?: string | null; ownerReferences?: Array<{ uid?: string }> };
  status?: {
    phase?: string;
    reason?: string;
    message?: string;
    conditions?: Array<{ type?: string; status?: string; reason?: string; message?: string }>;
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
  };
}

interface ContainerStatus {
  name?: string;
  ready?: boolean;
  restartCount?: number;
  state?: { waiting?: { reason?: string; message?: string }; terminated?: { reason?: string; exitCode?: number } };
  lastState?: { terminated?: { reason?: string; exitCode?: number } };
}

/** The workload's pods (by its selector), as the person. */
export async function listPods(kube: PersonKube, ref: WorkloadRef, selector: LabelSelector | undefined): Promise<PodItem[]> {
  const query = selectorQuery(selector);
  if (query === undefined) return [];
  const list = await kube.request<{ items?: PodItem[] }>({ method: 'GET', path: `/api/v1/namespaces/${ref.namespace}/pods`, query: { labelSelector: query, limit: '500' } });
  return list.items ?? [];
}

/** A pod that is not ready, and why, as kubectl describe would point to it. */
export interface UnreadyPod {
  name: string;
  reason: string;
  restarts: number;
}

/** The pods that are not Ready, each with the most telling reason its status gives. */
export function unreadyPods(pods: readonly PodItem[]): UnreadyPod[] {
  const unready: UnreadyPod[] = [];
  for (const pod of pods) {
    const status = pod.status ?? {};
    const ready = (status.conditions ?? []).some((condition) => condition.type === 'Ready' && condition.status === 'True');
    if (ready && !pod.metadata?.deletionTimestamp) continue;
    const containers = [...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? [])];
    const restarts = containers.reduce((sum, container) => sum + (container.restartCount ?? 0), 0);
    unready.push({ name: pod.metadata?.name ?? '?', reason: unreadyReason(pod, containers), restarts });
  }
  return unready;
}

function unreadyReason(pod: PodItem, containers: readonly ContainerStatus[]): string {
  if (pod.metadata?.deletionTimestamp) return 'Terminating';
  const status = pod.status ?? {};
  for (const container of containers) {
    if (container.ready) continue;
    const waiting = container.state?.waiting?.reason;
    if (waiting) return `${container.name ?? '?'}: ${waiting}`;
    const terminated = container.state?.terminated ?? container.lastState?.terminated;
    if (terminated?.reason) return `${container.name ?? '?'}: ${terminated.reason}${terminated.exitCode !== undefined ? ` (exit ${terminated.exitCode})` : ''}`;
  }
  if (status.reason) return status.reason;
  const unscheduled = (status.conditions ?? []).find((condition) => condition.type === 'PodScheduled' && condition.status === 'False');
  if (unscheduled) return unscheduled.reason ?? 'not scheduled';
  const notReady = containers.find((container) => !container.ready);
  if (notReady) return `${notReady.name ?? '?'}: not ready`;
  return status.phase ?? 'not ready';
}

/** A core/v1 Event as listed; Events written as events.k8s.io/v1 read the same way. */
export interface EventItem {
  metadata?: { creationTimestamp?: string };
  involvedObject?: { kind?: string; name?: string };
  reason?: string;
  message?: string;
  type?: string;
  count?: number;
  eventTime?: string | null;
  firstTimestamp?: string | null;
  lastTimestamp?: string | null;
  series?: { count?: number; lastObservedTime?: string } | null;
  reportingComponent?: string;
}

/** When the event last happened (ms), from whichever field its writer filled. */
export function eventTime(event: EventItem): number {
  for (const stamp of [event.series?.lastObservedTime, event.lastTimestamp, event.eventTime, event.firstTimestamp, event.metadata?.creationTimestamp]) {
    const ms = stamp ? Date.parse(stamp) : Number.NaN;
    if (!Number.isNaN(ms)) return ms;
  }
  return 0;
}

/** Events in the namespace with these field selectors, as the person (at most 500, newest first). */
export async function listEvents(kube: PersonKube, namespace: string, fieldSelector: string): Promise<EventItem[]> {
  const list = await kube.request<{ items?: EventItem[] }>({ method: 'GET', path: `/api/v1/namespaces/${namespace}/events`, query: { fieldSelector, limit: '500' } });
  return (list.items ?? []).sort((a, b) => eventTime(b) - eventTime(a));
}
