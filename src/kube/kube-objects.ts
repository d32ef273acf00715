import { z } from 'zod';

/**
 * The parts of Kubernetes objects that enrichment reads, as zod schemas. Parsing keeps only
 * these fields (zod drops unknown keys), which checks the shape once at the edge and keeps
 * cached objects small: a storm caches thousands of pods, and a full Pod with its spec and
 * managedFields is ten times the size of what is kept here.
 *
 * Kubernetes omits empty fields and writes some unset ones as null (eventTime, firstTimestamp),
 * hence `nullish` throughout.
 */

const time = z.string().nullish();
const count = z.number().int().nullish();

const ownerReference = z.object({
  apiVersion: z.string(),
  kind: z.string(),
  name: z.string(),
  uid: z.string().nullish(),
  controller: z.boolean().nullish(),
});

const metadata = z.object({
  name: z.string(),
  namespace: z.string().nullish(),
  uid: z.string().nullish(),
  generation: count,
  creationTimestamp: time,
  deletionTimestamp: time,
  /** Read to tell an exporter's own pod (app.kubernetes.io/name=kube-state-metrics) from the object an alert is about. */
  labels: z.record(z.string(), z.string()).nullish(),
  ownerReferences: z.array(ownerReference).nullish(),
});

const condition = z.object({
  type: z.string(),
  status: z.string(),
  reason: z.string().nullish(),
  message: z.string().nullish(),
  lastTransitionTime: time,
});

const containerState = z.object({
  waiting: z.object({ reason: z.string().nullish(), message: z.string().nullish() }).nullish(),
  running: z.object({ startedAt: time }).nullish(),
  terminated: z
    .object({
      reason: z.string().nullish(),
      message: z.string().nullish(),
      exitCode: z.number().int(),
      signal: count,
      startedAt: time,
      finishedAt: time,
    })
    .nullish(),
});

const containerStatus = z.object({
  name: z.string(),
  image: z.string().nullish(),
  ready: z.boolean().nullish(),
  started: z.boolean().nullish(),
  restartCount: z.number().int().nullish(),
  state: containerState.nullish(),
  lastState: containerState.nullish(),
});

const container = z.object({ name: z.string(), image: z.string().nullish() });

export const podSchema = z.object({
  metadata,
  spec: z
    .object({
      nodeName: z.string().nullish(),
      containers: z.array(container).nullish(),
      initContainers: z.array(container).nullish(),
      /** Only the claims: which pod a PersistentVolumeClaim is mounted by. */
      volumes: z.array(z.object({ name: z.string(), persistentVolumeClaim: z.object({ claimName: z.string() }).nullish() })).nullish(),
    })
    .nullish(),
  status: z
    .object({
      phase: z.string().nullish(),
      reason: z.string().nullish(),
      message: z.string().nullish(),
      startTime: time,
      conditions: z.array(condition).nullish(),
      containerStatuses: z.array(containerStatus).nullish(),
      initContainerStatuses: z.array(containerStatus).nullish(),
    })
    .nullish(),
});

export const replicaSetSchema = z.object({
  metadata,
  spec: z.object({ replicas: count }).nullish(),
  status: z
    .object({ replicas: count, readyReplicas: count, availableReplicas: count, observedGeneration: count })
    .nullish(),
});

export const deploymentSchema = z.object({
  metadata,
  spec: z.object({ replicas: count, paused: z.boolean().nullish() }).nullish(),
  status: z
    .object({
      observedGeneration: count,
      replicas: count,
      updatedReplicas: count,
      readyReplicas: count,
      availableReplicas: count,
      unavailableReplicas: count,
      conditions: z.array(condition).nullish(),
    })
    .nullish(),
});

export const statefulSetSchema = z.object({
  metadata,
  spec: z.object({ replicas: count }).nullish(),
  status: z
    .object({
      observedGeneration: count,
      replicas: count,
      readyReplicas: count,
      availableReplicas: count,
      currentReplicas: count,
      updatedReplicas: count,
      currentRevision: z.string().nullish(),
      updateRevision: z.string().nullish(),
    })
    .nullish(),
});

export const daemonSetSchema = z.object({
  metadata,
  status: z
    .object({
      observedGeneration: count,
      desiredNumberScheduled: count,
      currentNumberScheduled: count,
      numberReady: count,
      numberAvailable: count,
      numberUnavailable: count,
      numberMisscheduled: count,
      updatedNumberScheduled: count,
    })
    .nullish(),
});

export const jobSchema = z.object({
  metadata,
  spec: z
    .object({ completions: count, parallelism: count, backoffLimit: count, suspend: z.boolean().nullish() })
    .nullish(),
  status: z
    .object({
      active: count,
      ready: count,
      succeeded: count,
      failed: count,
      startTime: time,
      completionTime: time,
      conditions: z.array(condition).nullish(),
    })
    .nullish(),
});

/** One HPA metric, spec (target) or status (current): the five source types share this loose shape. */
const metricValue = z.object({
  type: z.string().nullish(),
  averageUtilization: count,
  averageValue: z.string().nullish(),
  value: z.string().nullish(),
});
const metricSource = z.object({
  name: z.string().nullish(),
  metric: z.object({ name: z.string() }).nullish(),
  target: metricValue.nullish(),
  current: metricValue.nullish(),
});
const hpaMetric = z.object({
  type: z.string(),
  resource: metricSource.nullish(),
  containerResource: metricSource.extend({ container: z.string().nullish() }).nullish(),
  pods: metricSource.nullish(),
  object: metricSource.nullish(),
  external: metricSource.nullish(),
});

export const horizontalPodAutoscalerSchema = z.object({
  metadata,
  spec: z.object({
    scaleTargetRef: z.object({ apiVersion: z.string().nullish(), kind: z.string(), name: z.string() }),
    minReplicas: count,
    maxReplicas: z.number().int(),
    metrics: z.array(hpaMetric).nullish(),
  }),
  status: z
    .object({
      currentReplicas: count,
      desiredReplicas: count,
      currentMetrics: z.array(hpaMetric).nullish(),
      conditions: z.array(condition).nullish(),
    })
    .nullish(),
});

export const eventSchema = z.object({
  metadata,
  involvedObject: z
    .object({ kind: z.string().nullish(), name: z.string().nullish(), namespace: z.string().nullish(), uid: z.string().nullish() })
    .nullish(),
  type: z.string().nullish(),
  reason: z.string().nullish(),
  message: z.string().nullish(),
  count,
  firstTimestamp: time,
  lastTimestamp: time,
  eventTime: time,
  series: z.object({ count, lastObservedTime: time }).nullish(),
  source: z.object({ component: z.string().nullish(), host: z.string().nullish() }).nullish(),
  reportingComponent: z.string().nullish(),
});

export const nodeSchema = z.object({
  metadata,
  spec: z
    .object({
      unschedulable: z.boolean().nullish(),
      taints: z.array(z.object({ key: z.string(), value: z.string().nullish(), effect: z.string() })).nullish(),
    })
    .nullish(),
  status: z
    .object({
      conditions: z.array(condition).nullish(),
      nodeInfo: z.object({ kubeletVersion: z.string().nullish() }).nullish(),
      capacity: z.record(z.string(), z.string()).nullish(),
      allocatable: z.record(z.string(), z.string()).nullish(),
    })
    .nullish(),
});

/** A LIST answer; only the items are kept. */
export function listSchema<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item).nullish() }).transform((list) => list.items ?? []);
}

const labelSelector = z.object({
  matchLabels: z.record(z.string(), z.string()).nullish(),
  matchExpressions: z.array(z.object({ key: z.string(), operator: z.string(), values: z.array(z.string()).nullish() })).nullish(),
});

export const podDisruptionBudgetSchema = z.object({
  metadata,
  spec: z
    .object({ minAvailable: z.union([z.number().int(), z.string()]).nullish(), maxUnavailable: z.union([z.number().int(), z.string()]).nullish(), selector: labelSelector.nullish() })
    .nullish(),
  status: z
    .object({
      disruptionsAllowed: count,
      currentHealthy: count,
      desiredHealthy: count,
      expectedPods: count,
      observedGeneration: count,
      conditions: z.array(condition).nullish(),
    })
    .nullish(),
});

/** Quantities ("10", "4Gi", "500m") by resource name. */
const quantities = z.record(z.string(), z.string()).nullish();

export const resourceQuotaSchema = z.object({
  metadata,
  spec: z.object({ hard: quantities }).nullish(),
  status: z.object({ hard: quantities, used: quantities }).nullish(),
});

export const persistentVolumeClaimSchema = z.object({
  metadata,
  spec: z
    .object({
      storageClassName: z.string().nullish(),
      volumeName: z.string().nullish(),
      accessModes: z.array(z.string()).nullish(),
      resources: z.object({ requests: quantities }).nullish(),
    })
    .nullish(),
  status: z.object({ phase: z.string().nullish(), capacity: quantities, conditions: z.array(condition).nullish() }).nullish(),
});

export const persistentVolumeSchema = z.object({
  metadata,
  spec: z
    .object({
      storageClassName: z.string().nullish(),
      capacity: quantities,
      accessModes: z.array(z.string()).nullish(),
      persistentVolumeReclaimPolicy: z.string().nullish(),
      claimRef: z.object({ namespace: z.string().nullish(), name: z.string().nullish() }).nullish(),
    })
    .nullish(),
  status: z.object({ phase: z.string().nullish(), reason: z.string().nullish(), message: z.string().nullish() }).nullish(),
});

export type Pod = z.output<typeof podSchema>;
export type ContainerStatus = z.output<typeof containerStatus>;
export type ContainerState = z.output<typeof containerState>;
export type Condition = z.output<typeof condition>;
export type OwnerReference = z.output<typeof ownerReference>;
export type ReplicaSet = z.output<typeof replicaSetSchema>;
export type Deployment = z.output<typeof deploymentSchema>;
export type StatefulSet = z.output<typeof statefulSetSchema>;
export type DaemonSet = z.output<typeof daemonSetSchema>;
export type Job = z.output<typeof jobSchema>;
export type HorizontalPodAutoscaler = z.output<typeof horizontalPodAutoscalerSchema>;
export type KubeEvent = z.output<typeof eventSchema>;
export type Node = z.output<typeof nodeSchema>;
export type HpaMetric = z.output<typeof hpaMetric>;
export type LabelSelector = z.output<typeof labelSelector>;
export type PodDisruptionBudget = z.output<typeof podDisruptionBudgetSchema>;
export type ResourceQuota = z.output<typeof resourceQuotaSchema>;
export type PersistentVolumeClaim = z.output<typeof persistentVolumeClaimSchema>;
export type PersistentVolume = z.output<typeof persistentVolumeSchema>;
