import type { Pod } from '../../src/kube/kube-objects.ts';
import type { KubeReadView } from '../../src/kube/kube-reader.ts';
import type { AlertTarget, WorkloadKind } from './enrichment.ts';
import { defaultEnrichmentConfig, type ScrapeTargetsConfig, type TargetLabelsConfig } from './enrichment-config.ts';
import { resolveOwnerChain } from './owner-chain.ts';

/*
 * Which object an alert is about. The labels of a kube-state-metrics alert name the object
 * (`deployment`, `job_name`, `node`, …); but Prometheus keeps the exporter's own target labels
 * on every series that has none of its own (kube-prometheus-stack scrapes it with honor_labels
 * and keeps `namespace`, `pod`, `container`): a `kube_deployment_*` alert then carries the
 * kube-state-metrics pod, and a node alert its namespace too. So an object-kind label beats a
 * pod label, and a pod is only kept next to another object when a lookup shows it belongs there.
 */

/**
 * When labels name several workloads (an alert joined over kube_pod_owner, say), the one that
 * owns the others wins: a Deployment over the ReplicaSet it manages.
 */
const WORKLOAD_LABELS: ReadonlyArray<[keyof TargetLabelsConfig, WorkloadKind]> = [
  ['deployment', 'Deployment'],
  ['statefulset', 'StatefulSet'],
  ['daemonset', 'DaemonSet'],
  ['job', 'Job'],
  ['replicaset', 'ReplicaSet'],
];

/** Namespaced kinds that are not workloads: their alerts never describe a pod from the labels. */
const OTHER_LABELS = [
  ['horizontalPodAutoscaler', 'horizontalPodAutoscaler'],
  ['podDisruptionBudget', 'podDisruptionBudget'],
  ['resourceQuota', 'resourceQuota'],
  ['persistentVolumeClaim', 'persistentVolumeClaim'],
] as const satisfies ReadonlyArray<readonly [keyof TargetLabelsConfig, keyof AlertTarget]>;

/** Kubernetes object names: DNS-1123 subdomain (a superset of the label-name rule for pods). */
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** Container names: DNS-1123 label. */
const CONTAINER_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** Prometheus' prefix for a scraped label that collided with a target label (honor_labels: false). */
const EXPORTED = 'exported_';

/** A pod label that may be the scrape target's own: kept only if a lookup shows it belongs. */
export interface PodToConfirm {
  namespace: string;
  pod: string;
  container?: string;
  /** What the pod must belong to: the named workload, or (for a node alert) the node it runs on. */
  belongsTo: { workload: { kind: WorkloadKind; name: string } } | { node: string };
}

/** What the labels alone say: the target, and a pod that needs a lookup before it may join it. */
export interface TargetCandidate {
  target: AlertTarget;
  confirm?: PodToConfirm;
}

/**
 * The Kubernetes objects an alert's labels name, without lookups (see confirmTarget for the
 * pod that needs one). Used alone where no lookup can be made (the audit Event's object).
 *
 * Values that cannot be object names are ignored rather than looked up: a label like
 * `pod="<none>"` or an empty value must not become an API path.
 * Namespaced objects without a namespace are dropped (a pod name alone is ambiguous).
 */
export function readTarget(labels: Readonly<Record<string, string>>, config: TargetLabelsConfig, scrape: ScrapeTargetsConfig): TargetCandidate {
  const labelOf = (names: readonly string[]): string | undefined =>
    names.find((name) => Object.hasOwn(labels, name) && labels[name] !== '');
  const pick = (names: readonly string[], valid: RegExp): string | undefined => {
    const name = labelOf(names);
    const value = name === undefined ? undefined : labels[name];
    return value !== undefined && valid.test(value) ? value : undefined;
  };

  const target: AlertTarget = {};
  const node = pick(config.node, OBJECT_NAME);
  if (node !== undefined) target.node = node;
  const volume = pick(config.persistentVolume, OBJECT_NAME);
  if (volume !== undefined) target.persistentVolume = volume;
  const namespace = pick(config.namespace, OBJECT_NAME);
  // A PersistentVolume is cluster-scoped: a namespace beside it is the exporter's.
  if (namespace === undefined || volume !== undefined) return { target };

  // An exported namespace means the plain namespace/pod/container labels are the exporter's own
  // (honor_labels off): only exported pod and container names may go with it.
  const exported = labelOf(config.namespace)?.startsWith(EXPORTED) === true;
  const candidates = (names: readonly string[]): readonly string[] => (exported ? names.filter((name) => name.startsWith(EXPORTED)) : names);
  const pod = pick(candidates(config.pod), OBJECT_NAME);
  // cAdvisor's pod-level series have container="" and its sandbox is container="POD": neither
  // passes the name rule. The exporter's container (a target label) never names the object's.
  const containerName = pick(candidates(config.container), CONTAINER_NAME);
  const container = containerName !== undefined && !scrape.containers.includes(containerName) ? containerName : undefined;

  for (const [field, kind] of WORKLOAD_LABELS) {
    const name = pick(config[field], OBJECT_NAME);
    if (name !== undefined) {
      target.workload = { kind, name };
      break;
    }
  }
  for (const [field, key] of OTHER_LABELS) {
    const name = pick(config[field], OBJECT_NAME);
    if (name !== undefined) target[key] = name;
  }
  const other = OTHER_LABELS.some(([, key]) => target[key] !== undefined);
  const namespaced = (): TargetCandidate => ({ target: { namespace, ...target } });

  // HPA, PDB, quota and claim alerts: a pod label there is the exporter's; their sources find
  // the pods that matter (the PDB's unhealthy ones, the claim's) themselves.
  if (pod === undefined || other) return namespaced();
  const withContainer = container === undefined ? {} : { container };
  if (target.workload !== undefined) {
    return { ...namespaced(), confirm: { namespace, pod, ...withContainer, belongsTo: { workload: target.workload } } };
  }
  if (node !== undefined) {
    // A pod alert with the node it runs on (cAdvisor's series), or a node alert with the
    // exporter's namespace and pod: only a lookup can tell. Until then, the node alone.
    return { target: { node }, confirm: { namespace, pod, ...withContainer, belongsTo: { node } } };
  }
  return { target: { namespace, pod, ...withContainer, ...target } };
}

/** readTarget's target alone: what the labels say for certain, without lookups. */
export function resolveTarget(
  labels: Readonly<Record<string, string>>,
  config: TargetLabelsConfig,
  scrape: ScrapeTargetsConfig = DEFAULT_SCRAPE_TARGETS,
): AlertTarget {
  return readTarget(labels, config, scrape).target;
}

const DEFAULT_SCRAPE_TARGETS = defaultEnrichmentConfig().scrapeTargets;

/**
 * The candidate's pod joins the target only when it exists, is not an exporter by its labels,
 * and belongs to what the alert names (owned by the named workload; on the named node); its
 * container only when the pod has one by that name. Any doubt — a failed lookup included —
 * leaves the pod out: describing the exporter confidently is worse than saying less.
 * An HPA's scale target becomes the target's workload, so the workload source describes it.
 */
export async function confirmTarget(candidate: TargetCandidate, reader: KubeReadView | undefined, scrape: ScrapeTargetsConfig, signal: AbortSignal): Promise<AlertTarget> {
  const target: AlertTarget = { ...candidate.target };
  const { confirm } = candidate;
  if (reader === undefined) return target;
  const lookups: Array<Promise<void>> = [];
  if (confirm !== undefined) {
    lookups.push(
      confirmPod(reader, confirm, scrape, signal).then(
        (confirmed) => {
          if (confirmed === undefined) return;
          target.namespace = confirm.namespace;
          target.pod = confirm.pod;
          if (confirmed.container !== undefined) target.container = confirmed.container;
        },
        () => undefined,
      ),
    );
  } else if (target.pod !== undefined && target.container !== undefined && target.namespace !== undefined) {
    // A pod-level series without a container of its own keeps the exporter's container label
    // (kube-prometheus' kube-rbac-proxy-main): keep it only if the pod has such a container.
    const { namespace, pod, container } = target;
    lookups.push(
      reader.getPod(namespace, pod, signal).then(
        (found) => {
          if (found !== undefined && !hasContainer(found, container)) delete target.container;
        },
        () => undefined,
      ),
    );
  }
  if (target.horizontalPodAutoscaler !== undefined && target.namespace !== undefined && target.workload === undefined) {
    const { namespace, horizontalPodAutoscaler: name } = target;
    lookups.push(
      reader.listHorizontalPodAutoscalers(namespace, signal).then(
        (hpas) => {
          const ref = hpas.find((hpa) => hpa.metadata.name === name)?.spec.scaleTargetRef;
          if (ref !== undefined && isWorkloadKind(ref.kind) && OBJECT_NAME.test(ref.name)) target.workload = { kind: ref.kind, name: ref.name };
        },
        () => undefined,
      ),
    );
  }
  await Promise.all(lookups);
  return target;
}

/** The confirmed pod's container (when it has the one named), or undefined when the pod does not belong. */
async function confirmPod(reader: KubeReadView, confirm: PodToConfirm, scrape: ScrapeTargetsConfig, signal: AbortSignal): Promise<{ container?: string } | undefined> {
  const { namespace } = confirm;
  let pod: Pod | undefined;
  if ('node' in confirm.belongsTo) {
    pod = await reader.getPod(namespace, confirm.pod, signal);
    if (pod?.spec?.nodeName !== confirm.belongsTo.node) return undefined;
  } else {
    // The pod and its owners, read once and shared with the sources that describe them.
    const { workload } = confirm.belongsTo;
    const chain = await resolveOwnerChain(reader, { namespace, pod: confirm.pod }, signal);
    pod = chain.pod;
    // The pod's controller, or the workload above its ReplicaSet, must be the one named.
    const owned = (chain.owner?.kind === workload.kind && chain.owner.name === workload.name) || (chain.workload?.kind === workload.kind && chain.workload.name === workload.name);
    if (!owned) return undefined;
  }
  if (pod === undefined || isExporter(pod, scrape)) return undefined;
  const container = confirm.container !== undefined && hasContainer(pod, confirm.container) ? confirm.container : undefined;
  return container === undefined ? {} : { container };
}

/** The scrape target itself: a pod whose labels say it is an exporter (kube-state-metrics). */
export function isExporter(pod: Pod, scrape: ScrapeTargetsConfig): boolean {
  const labels = pod.metadata.labels ?? {};
  return Object.entries(scrape.podLabels).some(([name, values]) => Object.hasOwn(labels, name) && values.includes(labels[name] ?? ''));
}

function hasContainer(pod: Pod, name: string): boolean {
  return [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].some((container) => container.name === name);
}

function isWorkloadKind(kind: string): kind is WorkloadKind {
  return WORKLOAD_LABELS.some(([, workload]) => workload === kind);
}
