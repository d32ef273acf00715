import { defaultEnrichmentConfig } from '../../../../alerts/enrichers/enrichment-config.ts';
import { createRedactor } from '../../../../alerts/enrichers/redact.ts';
import type { TrackedAlert } from '../../../../alerts/group-state.ts';
import {
  daemonSetSchema,
  deploymentSchema,
  eventSchema,
  horizontalPodAutoscalerSchema,
  jobSchema,
  nodeSchema,
  persistentVolumeClaimSchema,
  persistentVolumeSchema,
  podDisruptionBudgetSchema,
  podSchema,
  replicaSetSchema,
  resourceQuotaSchema,
  statefulSetSchema,
  type HorizontalPodAutoscaler,
  type KubeEvent,
  type Node,
  type PersistentVolume,
  type PersistentVolumeClaim,
  type Pod,
  type PodDisruptionBudget,
  type ReplicaSet,
  type ResourceQuota,
} from '../../../../src/kube/kube-objects.ts';
import type { EventSubject, KubeReadView, WorkloadObject, WorkloadObjectKind } from '../../../../src/kube/kube-reader.ts';
import { payload } from '../../../helpers/fakes.ts';

/*
 * Kubernetes objects as the API server returns them (trimmed of fields Lookout does not read),
 * parsed through the reader's schemas so fixtures and code cannot drift apart.
 */

/** "Now" in these tests: 2026-03-02 10:00:00 UTC. */
export const NOW = Date.parse('2026-03-02T10:00:00Z');

export const cartDeployment = deploymentSchema.parse({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'cart', namespace: 'shop', uid: 'd-1', generation: 7, creationTimestamp: '2025-11-01T08:00:00Z' },
  spec: { replicas: 3, paused: false },
  status: {
    observedGeneration: 7,
    replicas: 4,
    updatedReplicas: 2,
    readyReplicas: 2,
    availableReplicas: 2,
    unavailableReplicas: 2,
    conditions: [
      { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' },
      { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: 'ReplicaSet "cart-7d9f8c6b5" is progressing.' },
    ],
  },
});

export const cartReplicaSet = replicaSetSchema.parse({
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: {
    name: 'cart-7d9f8c6b5',
    namespace: 'shop',
    uid: 'rs-1',
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'cart', uid: 'd-1', controller: true, blockOwnerDeletion: true }],
  },
  spec: { replicas: 2 },
  status: { replicas: 2, readyReplicas: 0, availableReplicas: 0, observedGeneration: 3 },
});

const rsOwner = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'cart-7d9f8c6b5', uid: 'rs-1', controller: true, blockOwnerDeletion: true }];

/** Restarting after OOM kills: the state behind KubePodCrashLooping. */
export const crashLoopingPod = podSchema.parse({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'cart-7d9f8c6b5-x2x9q', namespace: 'shop', uid: 'p-1', creationTimestamp: '2026-03-02T08:00:00Z', ownerReferences: rsOwner },
  spec: { nodeName: 'node-2', containers: [{ name: 'app', image: 'registry.example.com/shop/cart:1.4.2' }, { name: 'envoy', image: 'envoyproxy/envoy:v1.31.0' }] },
  status: {
    phase: 'Running',
    startTime: '2026-03-02T08:00:05Z',
    conditions: [
      { type: 'PodScheduled', status: 'True' },
      { type: 'Ready', status: 'False', reason: 'ContainersNotReady' },
    ],
    containerStatuses: [
      { name: 'envoy', image: 'envoyproxy/envoy:v1.31.0', ready: true, started: true, restartCount: 0, state: { running: { startedAt: '2026-03-02T08:00:07Z' } } },
      {
        name: 'app',
        image: 'registry.example.com/shop/cart:1.4.2',
        ready: false,
        started: false,
        restartCount: 14,
        state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 5m0s restarting failed container=app pod=cart-7d9f8c6b5-x2x9q_shop(p-1)' } },
        lastState: { terminated: { exitCode: 137, reason: 'OOMKilled', startedAt: '2026-03-02T09:56:40Z', finishedAt: '2026-03-02T09:57:00Z' } },
      },
    ],
  },
});

export const imagePullPod = podSchema.parse({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'cart-6c5b4d9f7-abcde', namespace: 'shop', uid: 'p-2', creationTimestamp: '2026-03-02T09:45:00Z', ownerReferences: rsOwner },
  spec: { nodeName: 'node-1', containers: [{ name: 'app', image: 'registry.example.com/shop/cart:1.5.0-rc1' }] },
  status: {
    phase: 'Pending',
    containerStatuses: [
      {
        name: 'app',
        image: 'registry.example.com/shop/cart:1.5.0-rc1',
        ready: false,
        started: false,
        restartCount: 0,
        state: {
          waiting: {
            reason: 'ImagePullBackOff',
            message: 'Back-off pulling image "registry.example.com/shop/cart:1.5.0-rc1": ErrImagePull: failed to authorize: https://robot:s3cr3t-t0ken@registry.example.com/token',
          },
        },
      },
    ],
  },
});

export const healthyPod = podSchema.parse({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'cart-7d9f8c6b5-healthy', namespace: 'shop', uid: 'p-3', creationTimestamp: '2026-02-28T10:00:00Z', ownerReferences: rsOwner },
  spec: { nodeName: 'node-3', containers: [{ name: 'app', image: 'registry.example.com/shop/cart:1.4.2' }] },
  status: {
    phase: 'Running',
    conditions: [{ type: 'Ready', status: 'True' }],
    containerStatuses: [{ name: 'app', ready: true, started: true, restartCount: 0, state: { running: { startedAt: '2026-02-28T10:00:04Z' } } }],
  },
});

export const evictedPod = podSchema.parse({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'worker-0', namespace: 'batch', creationTimestamp: '2026-03-01T10:00:00Z' },
  spec: { nodeName: 'node-4', containers: [{ name: 'worker', image: 'batch/worker:2' }] },
  status: {
    phase: 'Failed',
    reason: 'Evicted',
    message: 'The node was low on resource: memory. Threshold quantity: 100Mi, available: 51200Ki.',
    containerStatuses: [
      { name: 'worker', ready: false, restartCount: 0, state: { terminated: { exitCode: 137, reason: 'ContainerStatusUnknown', finishedAt: '2026-03-02T09:30:00Z' } } },
    ],
  },
});

export const cartHpa = horizontalPodAutoscalerSchema.parse({
  apiVersion: 'autoscaling/v2',
  kind: 'HorizontalPodAutoscaler',
  metadata: { name: 'cart', namespace: 'shop' },
  spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'cart' }, minReplicas: 2, maxReplicas: 3 },
  status: {
    currentReplicas: 3,
    desiredReplicas: 3,
    conditions: [{ type: 'ScalingLimited', status: 'True', reason: 'TooManyReplicas', message: 'the desired replica count is more than the maximum replica count' }],
  },
});

export function warningEvent(spec: {
  name: string;
  kind: string;
  object: string;
  reason: string;
  message: string;
  count?: number;
  last: string;
  namespace?: string;
}): KubeEvent {
  return eventSchema.parse({
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: spec.name, namespace: spec.namespace ?? 'shop', creationTimestamp: spec.last },
    involvedObject: { kind: spec.kind, name: spec.object, namespace: spec.namespace ?? 'shop' },
    type: 'Warning',
    reason: spec.reason,
    message: spec.message,
    count: spec.count ?? 1,
    firstTimestamp: spec.last,
    lastTimestamp: spec.last,
    eventTime: null,
    source: { component: 'kubelet', host: 'node-2' },
  });
}

export const nodeUnderPressure = nodeSchema.parse({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name: 'node-4', creationTimestamp: '2025-12-01T00:00:00Z', labels: { 'kubernetes.io/hostname': 'node-4' } },
  spec: { unschedulable: true, taints: [{ key: 'node.kubernetes.io/memory-pressure', effect: 'NoSchedule' }, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] },
  status: {
    nodeInfo: { kubeletVersion: 'v1.36.3' },
    conditions: [
      { type: 'MemoryPressure', status: 'True', reason: 'KubeletHasInsufficientMemory', message: 'kubelet has insufficient memory available', lastTransitionTime: '2026-03-02T09:40:00Z' },
      { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', lastTransitionTime: '2025-12-01T00:00:00Z' },
      { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', lastTransitionTime: '2025-12-01T00:00:00Z' },
      { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastTransitionTime: '2025-12-01T00:00:00Z' },
    ],
  },
});

export { daemonSetSchema, jobSchema, statefulSetSchema };

/** Answers from fixed maps and records every lookup, like the reader would receive them. */
export class FakeReader implements KubeReadView {
  readonly calls: string[] = [];
  pods = new Map<string, Pod>();
  replicaSets = new Map<string, ReplicaSet>();
  workloads = new Map<string, WorkloadObject>();
  nodes = new Map<string, Node>();
  hpas = new Map<string, HorizontalPodAutoscaler[]>();
  events = new Map<string, KubeEvent[]>();
  pdbs = new Map<string, PodDisruptionBudget>();
  quotas = new Map<string, ResourceQuota>();
  claims = new Map<string, PersistentVolumeClaim>();
  volumes = new Map<string, PersistentVolume>();
  /** When set, every lookup fails with it. */
  failWith: unknown;

  addPod(pod: Pod): this {
    this.pods.set(`${pod.metadata.namespace}/${pod.metadata.name}`, pod);
    return this;
  }

  addWorkload(workload: WorkloadObject): this {
    this.workloads.set(`${workload.kind}/${workload.object.metadata.namespace}/${workload.object.metadata.name}`, workload);
    if (workload.kind === 'ReplicaSet') this.replicaSets.set(`${workload.object.metadata.namespace}/${workload.object.metadata.name}`, workload.object);
    return this;
  }

  private async answer<T>(call: string, value: T): Promise<T> {
    this.calls.push(call);
    await Promise.resolve();
    if (this.failWith !== undefined) throw this.failWith;
    return value;
  }

  getPod(namespace: string, name: string): Promise<Pod | undefined> {
    return this.answer(`pod ${namespace}/${name}`, this.pods.get(`${namespace}/${name}`));
  }

  getReplicaSet(namespace: string, name: string): Promise<ReplicaSet | undefined> {
    return this.answer(`replicaset ${namespace}/${name}`, this.replicaSets.get(`${namespace}/${name}`));
  }

  getWorkload(kind: WorkloadObjectKind, namespace: string, name: string): Promise<WorkloadObject | undefined> {
    return this.answer(`${kind.toLowerCase()} ${namespace}/${name}`, this.workloads.get(`${kind}/${namespace}/${name}`));
  }

  getNode(name: string): Promise<Node | undefined> {
    return this.answer(`node ${name}`, this.nodes.get(name));
  }

  listHorizontalPodAutoscalers(namespace: string): Promise<HorizontalPodAutoscaler[]> {
    return this.answer(`hpas ${namespace}`, this.hpas.get(namespace) ?? []);
  }

  listPods(namespace: string, labelSelector: string | undefined): Promise<Pod[]> {
    // Equality selectors only (a=b,c=d): what the fixtures' PDBs use.
    const wanted = (labelSelector ?? '').split(',').filter((part) => part !== '').map((part) => part.split('='));
    const pods = [...this.pods.values()].filter(
      (pod) => pod.metadata.namespace === namespace && wanted.every(([key = '', value]) => pod.metadata.labels?.[key] === value),
    );
    return this.answer(`pods ${namespace}${labelSelector === undefined ? '' : ` ${labelSelector}`}`, pods);
  }

  getPodDisruptionBudget(namespace: string, name: string): Promise<PodDisruptionBudget | undefined> {
    return this.answer(`pdb ${namespace}/${name}`, this.pdbs.get(`${namespace}/${name}`));
  }

  getResourceQuota(namespace: string, name: string): Promise<ResourceQuota | undefined> {
    return this.answer(`quota ${namespace}/${name}`, this.quotas.get(`${namespace}/${name}`));
  }

  getPersistentVolumeClaim(namespace: string, name: string): Promise<PersistentVolumeClaim | undefined> {
    return this.answer(`pvc ${namespace}/${name}`, this.claims.get(`${namespace}/${name}`));
  }

  getPersistentVolume(name: string): Promise<PersistentVolume | undefined> {
    return this.answer(`pv ${name}`, this.volumes.get(name));
  }

  listWarningEvents(namespace: string, subject: EventSubject): Promise<KubeEvent[]> {
    return this.answer(`events ${namespace}/${subject.kind}/${subject.name}`, this.events.get(`${namespace}/${subject.kind}/${subject.name}`) ?? []);
  }
}

/** A firing alert with these labels, through the real payload schema. */
export function alertWith(labels: Record<string, string>, startsAt = '2026-03-02T09:55:00Z'): TrackedAlert {
  const alert = payload('{}:{alertname="KubePodCrashLooping"}', [{ name: 'KubePodCrashLooping', fingerprint: 'f1', startsAt, labels }]).alerts[0];
  if (!alert) throw new Error('payload without alert');
  return alert;
}

export const never = new AbortController().signal;

/** The redactor with the default patterns, as Lookout builds it without a `redact:` setting. */
export const defaultRedactor = createRedactor(defaultEnrichmentConfig().redact);

/** kube-state-metrics' own pod, as kube-prometheus-stack deploys it: the scrape target of every KSM alert. */
export const exporterPod = podSchema.parse({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'kps-kube-state-metrics-6b8f9c7d4-q2w8e',
    namespace: 'monitoring',
    labels: { 'app.kubernetes.io/name': 'kube-state-metrics', 'app.kubernetes.io/instance': 'kps' },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'kps-kube-state-metrics-6b8f9c7d4', controller: true }],
  },
  spec: { nodeName: 'node-4', containers: [{ name: 'kube-state-metrics', image: 'registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.19.1' }] },
  status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
});

/** An HPA pinned at its maximum by CPU, with its metrics (KubeHpaMaxedOut). */
export const webHpa = horizontalPodAutoscalerSchema.parse({
  apiVersion: 'autoscaling/v2',
  kind: 'HorizontalPodAutoscaler',
  metadata: { name: 'web', namespace: 'shop' },
  spec: {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'cart' },
    minReplicas: 2,
    maxReplicas: 3,
    metrics: [
      { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
      { type: 'Pods', pods: { metric: { name: 'http_requests_per_second' }, target: { type: 'AverageValue', averageValue: '100' } } },
    ],
  },
  status: {
    currentReplicas: 3,
    desiredReplicas: 3,
    currentMetrics: [
      { type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 96, averageValue: '480m' } } },
      { type: 'Pods', pods: { metric: { name: 'http_requests_per_second' }, current: { averageValue: '150' } } },
    ],
    conditions: [
      { type: 'AbleToScale', status: 'True', reason: 'ReadyForNewScale' },
      { type: 'ScalingLimited', status: 'True', reason: 'TooManyReplicas', message: 'the desired replica count is more than the maximum replica count' },
    ],
  },
});

export const cartPdb = podDisruptionBudgetSchema.parse({
  apiVersion: 'policy/v1',
  kind: 'PodDisruptionBudget',
  metadata: { name: 'cart', namespace: 'shop' },
  spec: { minAvailable: 2, selector: { matchLabels: { app: 'cart' } } },
  status: { disruptionsAllowed: 0, currentHealthy: 1, desiredHealthy: 2, expectedPods: 3, conditions: [{ type: 'DisruptionAllowed', status: 'False', reason: 'InsufficientPods' }] },
});

export const computeQuota = resourceQuotaSchema.parse({
  apiVersion: 'v1',
  kind: 'ResourceQuota',
  metadata: { name: 'compute', namespace: 'shop' },
  spec: { hard: { 'requests.cpu': '4', 'requests.memory': '8Gi', pods: '20' } },
  status: { hard: { 'requests.cpu': '4', 'requests.memory': '8Gi', pods: '20' }, used: { 'requests.cpu': '3800m', 'requests.memory': '4Gi', pods: '7' } },
});

export const pendingClaim = persistentVolumeClaimSchema.parse({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name: 'data-db-0', namespace: 'shop' },
  spec: { storageClassName: 'fast-ssd', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '20Gi' } } },
  status: { phase: 'Pending' },
});

export const failedVolume = persistentVolumeSchema.parse({
  apiVersion: 'v1',
  kind: 'PersistentVolume',
  metadata: { name: 'pv-0042' },
  spec: { storageClassName: 'fast-ssd', capacity: { storage: '20Gi' }, persistentVolumeReclaimPolicy: 'Retain', claimRef: { namespace: 'shop', name: 'data-db-0' } },
  status: { phase: 'Failed', reason: 'VolumeFailedRecycle', message: 'recycler failed: token=Bearer abcdef0123456789' },
});

/** A pod of the cart PDB (label app=cart) that mounts data-db-0 and is not Ready. */
export const claimPod = podSchema.parse({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'db-0', namespace: 'shop', labels: { app: 'cart' } },
  spec: { nodeName: 'node-2', containers: [{ name: 'db' }], volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data-db-0' } }] },
  status: { phase: 'Pending', conditions: [{ type: 'Ready', status: 'False' }] },
});
