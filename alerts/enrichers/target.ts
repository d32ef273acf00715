import type { AlertTarget, WorkloadKind } from './enrichment.ts';
import type { TargetLabelsConfig } from './enrichment-config.ts';

/*
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

/** Kubernetes object names: DNS-1123 subdomain (a superset of the label-name rule for pods). */
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** Container names: DNS-1123 label. */
const CONTAINER_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** Prometheus' prefix for a scraped label that collided with a target label (honor_labels: false). */
const EXPORTED = 'exported_';

/**
 * The Kubernetes objects an alert's labels name. Pure: no lookups, so a pod's owner is found
 * later by the sources that need it (through the shared reader, so only once).
 *
 * Values that cannot be object names are ignored rather than looked up: a label like
 * `pod="<none>"` or an empty value must not become an API path.
 * Namespaced objects without a namespace are dropped (a pod name alone is ambiguous);
 * nodes and the container name are kept as they are.
 */
export function resolveTarget(labels: Readonly<Record<string, string>>, config: TargetLabelsConfig): AlertTarget {
  const labelOf = (names: readonly string[]): string | undefined =>
    names.find((name) => Object.hasOwn(labels, name) && labels[name] !== '');
  const pick = (names: readonly string[], valid: RegExp): string | undefined => {
    const name = labelOf(names);
    const value = name === undefined ? undefined : labels[name];
    return value !== undefined && valid.test(value) ? value : undefined;
  };

  const target: AlertTarget = {};
  const namespace = pick(config.namespace, OBJECT_NAME);
  const node = pick(config.node, OBJECT_NAME);
  if (node !== undefined) target.node = node;
  if (namespace === undefined) return target;

  target.namespace = namespace;
  // An exported namespace means the plain namespace/pod/container labels are the exporter's own
  // (honor_labels off). A metric without a pod label (kube_deployment_*) then still carries the
  // exporter's pod: only exported pod and container names may go with an exported namespace.
  const exported = labelOf(config.namespace)?.startsWith(EXPORTED) === true;
  const candidates = (names: readonly string[]): readonly string[] => (exported ? names.filter((name) => name.startsWith(EXPORTED)) : names);
  const pod = pick(candidates(config.pod), OBJECT_NAME);
  if (pod !== undefined) target.pod = pod;
  // cAdvisor's pod-level series have container="" and its sandbox is container="POD": neither
  // passes the name rule, so neither becomes a container to read logs from.
  const container = pick(candidates(config.container), CONTAINER_NAME);
  if (container !== undefined) target.container = container;
  for (const [field, kind] of WORKLOAD_LABELS) {
    const name = pick(config[field], OBJECT_NAME);
    if (name !== undefined) {
      target.workload = { kind, name };
      break;
    }
  }
  const claim = pick(config.persistentVolumeClaim, OBJECT_NAME);
  if (claim !== undefined) target.persistentVolumeClaim = claim;
  return target;
}
