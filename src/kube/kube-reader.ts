import type { z } from 'zod';
import type { Counter } from 'prom-client';
import { ConcurrencyLimit } from '../limit-concurrency.ts';
import { SharedLookups } from '../shared-lookups.ts';
import { KubeApiError, type KubeRequest } from './kube-http.ts';
import {
  daemonSetSchema,
  deploymentSchema,
  eventSchema,
  horizontalPodAutoscalerSchema,
  jobSchema,
  listSchema,
  nodeSchema,
  persistentVolumeClaimSchema,
  persistentVolumeSchema,
  podDisruptionBudgetSchema,
  podSchema,
  replicaSetSchema,
  resourceQuotaSchema,
  statefulSetSchema,
  type DaemonSet,
  type Deployment,
  type HorizontalPodAutoscaler,
  type Job,
  type KubeEvent,
  type Node,
  type PersistentVolume,
  type PersistentVolumeClaim,
  type Pod,
  type PodDisruptionBudget,
  type ReplicaSet,
  type ResourceQuota,
  type StatefulSet,
} from './kube-objects.ts';

/** The one KubeHttp method the reader uses; tests pass a fake. */
export interface KubeRequester {
  request<T>(request: KubeRequest): Promise<T>;
}

export type WorkloadObject =
  | { kind: 'Deployment'; object: Deployment }
  | { kind: 'StatefulSet'; object: StatefulSet }
  | { kind: 'DaemonSet'; object: DaemonSet }
  | { kind: 'Job'; object: Job }
  | { kind: 'ReplicaSet'; object: ReplicaSet };

export type WorkloadObjectKind = WorkloadObject['kind'];

/** An object events are about: its kind as in `involvedObject.kind`, and its name. */
export interface EventSubject {
  kind: string;
  name: string;
}

/**
 * Read-only Kubernetes lookups for enrichment, made as Lookout itself (never impersonating:
 * enrichment shows what the bot may read to everyone in the channel, which is why its
 * ClusterRole is read-only and narrow). Every method resolves `undefined` for a 404.
 */
export interface KubeReadView {
  getPod(namespace: string, name: string, signal?: AbortSignal): Promise<Pod | undefined>;
  getReplicaSet(namespace: string, name: string, signal?: AbortSignal): Promise<ReplicaSet | undefined>;
  getWorkload(kind: WorkloadObjectKind, namespace: string, name: string, signal?: AbortSignal): Promise<WorkloadObject | undefined>;
  getNode(name: string, signal?: AbortSignal): Promise<Node | undefined>;
  /** Every HPA of the namespace: one request serves all workloads there. */
  listHorizontalPodAutoscalers(namespace: string, signal?: AbortSignal): Promise<HorizontalPodAutoscaler[]>;
  /** Warning events about one object, filtered by the API server (newest are not guaranteed first). */
  listWarningEvents(namespace: string, subject: EventSubject, signal?: AbortSignal): Promise<KubeEvent[]>;
  /**
   * Pods of a namespace, at most POD_LIMIT, optionally by label selector (a PDB's pods); without
   * one, every pod (which pod mounts a claim: the API has no field selector for volumes).
   */
  listPods(namespace: string, labelSelector: string | undefined, signal?: AbortSignal): Promise<Pod[]>;
  getPodDisruptionBudget(namespace: string, name: string, signal?: AbortSignal): Promise<PodDisruptionBudget | undefined>;
  getResourceQuota(namespace: string, name: string, signal?: AbortSignal): Promise<ResourceQuota | undefined>;
  getPersistentVolumeClaim(namespace: string, name: string, signal?: AbortSignal): Promise<PersistentVolumeClaim | undefined>;
  getPersistentVolume(name: string, signal?: AbortSignal): Promise<PersistentVolume | undefined>;
}

/** The response did not have the shape of the object asked for. */
export class KubeReadError extends Error {
  readonly reason: string;

  constructor(reason: string, options?: ErrorOptions) {
    super(reason, options);
    this.name = 'KubeReadError';
    this.reason = reason;
  }
}

export interface KubeReaderOptions {
  http: KubeRequester;
  /** lookout_kube_requests_total{resource,outcome}: one increment per HTTP request actually sent. */
  requests: Counter<'resource' | 'outcome'>;
  now: () => number;
  /** How long an answer (a 404 included) is reused; 0 = share in-flight requests only. */
  cacheTtlMs: number;
  maxConcurrent: number;
  /** Bounds one request even when its callers wait longer. */
  requestTimeoutMs: number;
}

const WORKLOAD_PATHS: Record<WorkloadObjectKind, { resource: string; schema: z.ZodType }> = {
  Deployment: { resource: 'deployments', schema: deploymentSchema },
  StatefulSet: { resource: 'statefulsets', schema: statefulSetSchema },
  DaemonSet: { resource: 'daemonsets', schema: daemonSetSchema },
  ReplicaSet: { resource: 'replicasets', schema: replicaSetSchema },
  Job: { resource: 'jobs', schema: jobSchema },
};

/** At most this many events per object: enough to count reasons, bounded for chatty objects. */
const EVENT_LIMIT = '200';

// Built once: a new zod schema per call pays its setup on every parse (about 10x a parse here).
const HPA_LIST = listSchema(horizontalPodAutoscalerSchema);
const EVENT_LIST = listSchema(eventSchema);
const POD_LIST = listSchema(podSchema);

/** At most this many pods per list: enough to find a claim's pod or a PDB's unhealthy ones. */
export const POD_LIMIT = 500;

/**
 * The bot's read view over KubeHttp. In a storm many alerts name the same pods, ReplicaSets
 * and namespaces, so identical requests are shared while pending, answers are cached for a
 * few seconds, and at most `maxConcurrent` requests are in flight at once.
 */
export class KubeReader implements KubeReadView {
  private readonly http: KubeRequester;
  private readonly requests: Counter<'resource' | 'outcome'>;
  private readonly limit: ConcurrencyLimit;
  private readonly lookups: SharedLookups<unknown>;
  private readonly requestTimeoutMs: number;

  constructor({ http, requests, now, cacheTtlMs, maxConcurrent, requestTimeoutMs }: KubeReaderOptions) {
    this.http = http;
    this.requests = requests;
    this.limit = new ConcurrencyLimit(maxConcurrent);
    // SharedLookups' own bound on entries (10,000) holds the cache to the working set of a storm.
    this.lookups = new SharedLookups({ now, ttlMs: cacheTtlMs });
    this.requestTimeoutMs = requestTimeoutMs;
  }

  getPod(namespace: string, name: string, signal?: AbortSignal): Promise<Pod | undefined> {
    return this.get('pods', `/api/v1/namespaces/${seg(namespace)}/pods/${seg(name)}`, podSchema, signal);
  }

  getReplicaSet(namespace: string, name: string, signal?: AbortSignal): Promise<ReplicaSet | undefined> {
    return this.get('replicasets', appsPath(namespace, 'replicasets', name), replicaSetSchema, signal);
  }

  async getWorkload(kind: WorkloadObjectKind, namespace: string, name: string, signal?: AbortSignal): Promise<WorkloadObject | undefined> {
    const { resource, schema } = WORKLOAD_PATHS[kind];
    const path = kind === 'Job' ? `/apis/batch/v1/namespaces/${seg(namespace)}/jobs/${seg(name)}` : appsPath(namespace, resource, name);
    const object = await this.get(resource, path, schema, signal);
    // The schema table pairs each kind with its schema, which TypeScript cannot see through the lookup.
    return object === undefined ? undefined : ({ kind, object } as WorkloadObject);
  }

  getNode(name: string, signal?: AbortSignal): Promise<Node | undefined> {
    return this.get('nodes', `/api/v1/nodes/${seg(name)}`, nodeSchema, signal);
  }

  async listHorizontalPodAutoscalers(namespace: string, signal?: AbortSignal): Promise<HorizontalPodAutoscaler[]> {
    const path = `/apis/autoscaling/v2/namespaces/${seg(namespace)}/horizontalpodautoscalers`;
    return (await this.get('horizontalpodautoscalers', path, HPA_LIST, signal)) ?? [];
  }

  async listWarningEvents(namespace: string, subject: EventSubject, signal?: AbortSignal): Promise<KubeEvent[]> {
    // Field selector values cannot be quoted; names and kinds never contain , = or !, but refuse rather than guess.
    if (/[,=!\\]/.test(subject.kind + subject.name)) return [];
    const fieldSelector = `involvedObject.kind=${subject.kind},involvedObject.name=${subject.name},type=Warning`;
    const path = `/api/v1/namespaces/${seg(namespace)}/events`;
    return (await this.get('events', path, EVENT_LIST, signal, { fieldSelector, limit: EVENT_LIMIT })) ?? [];
  }

  async listPods(namespace: string, labelSelector: string | undefined, signal?: AbortSignal): Promise<Pod[]> {
    const query: Record<string, string> = { limit: String(POD_LIMIT), ...(labelSelector === undefined ? {} : { labelSelector }) };
    return (await this.get('pods', `/api/v1/namespaces/${seg(namespace)}/pods`, POD_LIST, signal, query)) ?? [];
  }

  getPodDisruptionBudget(namespace: string, name: string, signal?: AbortSignal): Promise<PodDisruptionBudget | undefined> {
    return this.get('poddisruptionbudgets', `/apis/policy/v1/namespaces/${seg(namespace)}/poddisruptionbudgets/${seg(name)}`, podDisruptionBudgetSchema, signal);
  }

  getResourceQuota(namespace: string, name: string, signal?: AbortSignal): Promise<ResourceQuota | undefined> {
    return this.get('resourcequotas', `/api/v1/namespaces/${seg(namespace)}/resourcequotas/${seg(name)}`, resourceQuotaSchema, signal);
  }

  getPersistentVolumeClaim(namespace: string, name: string, signal?: AbortSignal): Promise<PersistentVolumeClaim | undefined> {
    return this.get('persistentvolumeclaims', `/api/v1/namespaces/${seg(namespace)}/persistentvolumeclaims/${seg(name)}`, persistentVolumeClaimSchema, signal);
  }

  getPersistentVolume(name: string, signal?: AbortSignal): Promise<PersistentVolume | undefined> {
    return this.get('persistentvolumes', `/api/v1/persistentvolumes/${seg(name)}`, persistentVolumeSchema, signal);
  }

  private async get<S extends z.ZodType>(
    resource: string,
    path: string,
    schema: S,
    signal: AbortSignal | undefined,
    query?: Record<string, string>,
  ): Promise<z.output<S> | undefined> {
    const key = query === undefined ? path : `${path}?${new URLSearchParams(query).toString()}`;
    const value = await this.lookups.get(
      key,
      (shared) => this.limit.run(() => this.send(resource, path, query, schema, shared), shared),
      signal,
    );
    return value as z.output<S> | undefined;
  }

  private async send<S extends z.ZodType>(
    resource: string,
    path: string,
    query: Record<string, string> | undefined,
    schema: S,
    shared: AbortSignal,
  ): Promise<z.output<S> | undefined> {
    const signal = AbortSignal.any([shared, AbortSignal.timeout(this.requestTimeoutMs)]);
    let raw: unknown;
    try {
      raw = await this.http.request<unknown>({ method: 'GET', path, ...(query === undefined ? {} : { query }), signal });
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) {
        this.requests.inc({ resource, outcome: 'not_found' });
        return undefined;
      }
      this.requests.inc({ resource, outcome: outcomeOf(error, signal) });
      throw error;
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      this.requests.inc({ resource, outcome: 'invalid' });
      throw new KubeReadError('invalid response', { cause: parsed.error });
    }
    this.requests.inc({ resource, outcome: 'ok' });
    return parsed.data;
  }
}

/** Metric outcome of a failed request: forbidden, http_<status>, timeout, aborted, unreachable. */
function outcomeOf(error: unknown, signal: AbortSignal): string {
  if (error instanceof KubeApiError) return error.status === 403 ? 'forbidden' : error.status === 401 ? 'unauthorized' : 'http_error';
  if (signal.aborted) return (signal.reason as Error | undefined)?.name === 'TimeoutError' ? 'timeout' : 'aborted';
  return 'unreachable';
}

function appsPath(namespace: string, resource: string, name: string): string {
  return `/apis/apps/v1/namespaces/${seg(namespace)}/${resource}/${seg(name)}`;
}

/** One path segment: names come from alert labels, which anyone who can push metrics controls. */
function seg(value: string): string {
  // "." and ".." would be resolved away by URL parsing and change which object is read.
  return value === '.' || value === '..' ? value.replace(/\./g, '%2E') : encodeURIComponent(value);
}
