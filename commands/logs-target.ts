import { z } from 'zod';
import { deniedMessage } from '../src/access/access-gate.ts';
import type { ObjectReference } from '../src/access/authorization.ts';
import { Forbidden, InvalidInput, NotFound } from '../src/errors.ts';
import type { ResourceAttributes } from '../src/kube/access-review.ts';
import { KubeApiError } from '../src/kube/kube-http.ts';
import type { PersonKube } from './command.ts';
import type { LogsArgs, LogsKind } from './logs-args.ts';

/** The pod (and container) whose log `/ops logs` reads, and how it was chosen. */
export interface LogTarget {
  namespace: string;
  pod: string;
  /** undefined: the pod is not in Kubernetes (any more) and no `-c` was given; Loki may still hold every container's lines. */
  container?: string;
  /** The pod as read, undefined when it is gone. */
  podObject?: LogPod;
  /** The object the audit Event goes on: the workload named, or the pod. */
  audited: ObjectReference;
  /** Sentences on how the pod or container was chosen, for the reply. */
  notes: string[];
}

const time = z.string().nullish();
const containerState = z.object({ terminated: z.object({ startedAt: time, finishedAt: time }).nullish() }).nullish();
const podSchema = z.object({
  metadata: z.object({
    name: z.string(),
    creationTimestamp: time,
    deletionTimestamp: time,
    annotations: z.record(z.string(), z.string()).nullish(),
  }),
  spec: z.object({ containers: z.array(z.object({ name: z.string() })), initContainers: z.array(z.object({ name: z.string() })).nullish() }),
  status: z
    .object({
      conditions: z.array(z.object({ type: z.string(), status: z.string() })).nullish(),
      containerStatuses: z.array(z.object({ name: z.string(), restartCount: z.number().nullish(), lastState: containerState })).nullish(),
      initContainerStatuses: z.array(z.object({ name: z.string(), restartCount: z.number().nullish(), lastState: containerState })).nullish(),
    })
    .nullish(),
});
export type LogPod = z.output<typeof podSchema>;

const requirement = z.object({ key: z.string(), operator: z.string(), values: z.array(z.string()).nullish() });
const workloadSchema = z.object({
  spec: z.object({ selector: z.object({ matchLabels: z.record(z.string(), z.string()).nullish(), matchExpressions: z.array(requirement).nullish() }) }),
});
const podListSchema = z.object({ items: z.array(podSchema) });

const WORKLOADS: Record<Exclude<LogsKind, 'pod'>, { resource: string; kind: string; label: string }> = {
  deployment: { resource: 'deployments', kind: 'Deployment', label: 'deployment' },
  statefulset: { resource: 'statefulsets', kind: 'StatefulSet', label: 'statefulset' },
  daemonset: { resource: 'daemonsets', kind: 'DaemonSet', label: 'daemonset' },
};

/** kubectl's annotation naming the container `kubectl logs` reads when none is given. */
const DEFAULT_CONTAINER_ANNOTATION = 'kubectl.kubernetes.io/default-container';

/** At most this many pods are looked at to choose one of a workload's. */
const POD_LIST_LIMIT = '500';

/**
 * Finds the pod and container to read, with the person's own Kubernetes permissions (as
 * `kubectl logs` needs them: get pods; for a workload get the workload and list pods). A
 * workload's pod is its newest Ready one, else its newest; a pod's container is `-c`, else
 * kubectl's default-container annotation, else its first.
 *
 * @param goneIsFine when true (Loki is the source), a pod that is not in Kubernetes any more is
 * still a target: Loki keeps the logs of pods that were replaced.
 */
export async function resolveLogTarget(kube: PersonKube, args: LogsArgs, goneIsFine: boolean): Promise<LogTarget> {
  const { namespace, name } = args;
  if (args.kind === undefined || args.kind === 'pod') {
    const pod = await readPod(kube, namespace, name);
    if (pod !== undefined) return { namespace, pod: name, podObject: pod, audited: podRef(namespace, name), ...chooseContainer(pod, args.container) };
    if (args.kind === undefined) {
      const viaDeployment = await readWorkloadPod(kube, namespace, 'deployment', name, args.container, true);
      if (viaDeployment !== undefined) return viaDeployment;
    }
    if (goneIsFine) {
      const notes = [`Pod \`${name}\` is not in Kubernetes now; these are the lines Loki kept.`];
      return { namespace, pod: name, ...(args.container === undefined ? {} : { container: args.container }), audited: podRef(namespace, name), notes };
    }
    throw new NotFound(args.kind === undefined ? `There is no pod or deployment \`${name}\` in namespace \`${namespace}\`.` : `There is no pod \`${name}\` in namespace \`${namespace}\`.`);
  }
  const target = await readWorkloadPod(kube, namespace, args.kind, name, args.container, false);
  if (target === undefined) throw new NotFound(`There is no ${WORKLOADS[args.kind].label} \`${name}\` in namespace \`${namespace}\`.`);
  return target;
}

async function readWorkloadPod(kube: PersonKube, namespace: string, kind: Exclude<LogsKind, 'pod'>, name: string, container: string | undefined, quietIfDenied: boolean): Promise<LogTarget | undefined> {
  const { resource, kind: objectKind, label } = WORKLOADS[kind];
  const access: ResourceAttributes = { verb: 'get', group: 'apps', resource, namespace, name };
  let raw: unknown;
  try {
    raw = await kube.request<unknown>({ method: 'GET', path: `/apis/apps/v1/namespaces/${seg(namespace)}/${resource}/${seg(name)}` });
  } catch (error) {
    if (isStatus(error, 404)) return undefined;
    // Looking for a deployment only because no pod had the name: a refusal means "not found" to this person.
    if (isStatus(error, 403) && quietIfDenied) return undefined;
    throw asUserError(error, access);
  }
  const workload = parse(workloadSchema, raw, `${label} ${name}`);
  const selector = labelSelector(workload.spec.selector);
  if (selector === '') throw new InvalidInput(`${objectKind} \`${name}\` selects no pods (empty selector).`);
  let list: unknown;
  try {
    list = await kube.request<unknown>({ method: 'GET', path: `/api/v1/namespaces/${seg(namespace)}/pods`, query: { labelSelector: selector, limit: POD_LIST_LIMIT } });
  } catch (error) {
    throw asUserError(error, { verb: 'list', group: '', resource: 'pods', namespace });
  }
  const pods = parse(podListSchema, list, 'pod list').items.filter((pod) => !pod.metadata.deletionTimestamp);
  const chosen = choosePod(pods);
  if (chosen === undefined) throw new NotFound(`${objectKind} \`${name}\` in namespace \`${namespace}\` has no pods.`);
  const ready = pods.filter(isReady).length;
  const why = isReady(chosen) ? 'its newest Ready pod' : 'its newest pod (none is Ready)';
  const others = pods.length > 1 ? ` of ${pods.length} (${ready} Ready); name another with \`${namespace}/pod/<name>\`` : '';
  const picked = chosen.metadata.name;
  const { container: chosenContainer, notes } = chooseContainer(chosen, container);
  return {
    namespace,
    pod: picked,
    podObject: chosen,
    ...(chosenContainer === undefined ? {} : { container: chosenContainer }),
    audited: { apiVersion: 'apps/v1', kind: objectKind, namespace, name },
    notes: [`${objectKind} \`${name}\`: pod \`${picked}\`, ${why}${others}.`, ...notes],
  };
}

async function readPod(kube: PersonKube, namespace: string, name: string): Promise<LogPod | undefined> {
  try {
    return parse(podSchema, await kube.request<unknown>({ method: 'GET', path: `/api/v1/namespaces/${seg(namespace)}/pods/${seg(name)}` }), `pod ${name}`);
  } catch (error) {
    if (isStatus(error, 404)) return undefined;
    throw asUserError(error, { verb: 'get', group: '', resource: 'pods', namespace, name });
  }
}

/** The newest Ready pod, else the newest. */
export function choosePod(pods: readonly LogPod[]): LogPod | undefined {
  const newestFirst = [...pods].sort((a, b) => Date.parse(b.metadata.creationTimestamp ?? '') - Date.parse(a.metadata.creationTimestamp ?? '') || a.metadata.name.localeCompare(b.metadata.name));
  return newestFirst.find(isReady) ?? newestFirst[0];
}

function isReady(pod: LogPod): boolean {
  return pod.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True') === true;
}

/** `-c` if the pod has it; else the default-container annotation, else the only or first container. */
export function chooseContainer(pod: LogPod, asked: string | undefined): { container: string; notes: string[] } {
  const names = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])].map((container) => container.name);
  if (asked !== undefined) {
    if (!names.includes(asked)) throw new InvalidInput(`Pod \`${pod.metadata.name}\` has no container \`${asked}\`; its containers: ${names.map((n) => `\`${n}\``).join(', ')}.`);
    return { container: asked, notes: [] };
  }
  const first = pod.spec.containers[0]?.name;
  if (first === undefined) throw new InvalidInput(`Pod \`${pod.metadata.name}\` has no containers.`);
  if (pod.spec.containers.length === 1) return { container: first, notes: [] };
  const annotated = pod.metadata.annotations?.[DEFAULT_CONTAINER_ANNOTATION];
  const container = annotated !== undefined && names.includes(annotated) ? annotated : first;
  const others = pod.spec.containers.map((c) => `\`${c.name}\``).join(', ');
  return { container, notes: [`Container \`${container}\` of ${others}; choose with \`-c\`.`] };
}

/** matchLabels and matchExpressions as a label selector string (the query parameter's syntax). */
export function labelSelector(selector: z.output<typeof workloadSchema>['spec']['selector']): string {
  const parts = Object.entries(selector.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`);
  for (const { key, operator, values } of selector.matchExpressions ?? []) {
    const list = (values ?? []).join(',');
    if (operator === 'In') parts.push(`${key} in (${list})`);
    else if (operator === 'NotIn') parts.push(`${key} notin (${list})`);
    else if (operator === 'Exists') parts.push(key);
    else if (operator === 'DoesNotExist') parts.push(`!${key}`);
    else throw new InvalidInput(`The workload's selector uses operator \`${operator}\`, which Lookout does not know.`);
  }
  return parts.join(',');
}

/** A refusal names the missing permission; other API errors stay internal (their text can quote requests). */
export function asUserError(error: unknown, access: ResourceAttributes): unknown {
  if (isStatus(error, 403)) return new Forbidden(deniedMessage(access), { cause: error });
  return error;
}

export function isStatus(error: unknown, status: number): error is KubeApiError {
  return error instanceof KubeApiError && error.status === status;
}

function parse<S extends z.ZodType>(schema: S, raw: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new Error(`the API server's answer for ${what} is not what Lookout expected`, { cause: parsed.error });
  return parsed.data;
}

function podRef(namespace: string, name: string): ObjectReference {
  return { apiVersion: 'v1', kind: 'Pod', namespace, name };
}

/** One path segment; names were validated, this only guards the path's shape. */
export function seg(value: string): string {
  return encodeURIComponent(value);
}
