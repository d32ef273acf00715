import type { OwnerReference, Pod } from '../../src/kube/kube-objects.ts';
import type { KubeReadView, WorkloadObjectKind } from '../../src/kube/kube-reader.ts';
import type { AlertTarget } from './enrichment.ts';

/** An object in the chain, by kind and name (namespace is the target's). */
export interface ChainLink {
  kind: string;
  name: string;
}

/**
 * From what an alert names to the workload that owns it: the pod (if any), the pod's direct
 * controller (ReplicaSet, StatefulSet, DaemonSet, Job, or another controller's kind), and the
 * workload at the top (a ReplicaSet's Deployment). Every read goes through the shared reader,
 * so the pod and workload sources asking for the same chain cost one set of requests.
 */
export interface OwnerChain {
  pod?: Pod;
  /** The pod's controller, when it has one. */
  owner?: ChainLink;
  /** The workload the target is about, when Lookout knows the kind; the labels' choice wins. */
  workload?: { kind: WorkloadObjectKind; name: string };
}

const WORKLOAD_KINDS: ReadonlySet<string> = new Set<WorkloadObjectKind>(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'ReplicaSet']);

export async function resolveOwnerChain(reader: KubeReadView, target: AlertTarget, signal: AbortSignal): Promise<OwnerChain> {
  const { namespace } = target;
  if (namespace === undefined) return {};
  const chain: OwnerChain = {};
  if (target.workload) chain.workload = target.workload;
  if (target.pod === undefined) return chain;

  const pod = await reader.getPod(namespace, target.pod, signal);
  if (pod === undefined) return chain;
  chain.pod = pod;
  const owner = controllerOf(pod.metadata.ownerReferences);
  if (owner === undefined) return chain;
  chain.owner = { kind: owner.kind, name: owner.name };
  if (chain.workload !== undefined || !WORKLOAD_KINDS.has(owner.kind)) return chain;

  if (owner.kind !== 'ReplicaSet') {
    chain.workload = { kind: owner.kind as WorkloadObjectKind, name: owner.name };
    return chain;
  }
  const replicaSet = await reader.getReplicaSet(namespace, owner.name, signal);
  const deployment = controllerOf(replicaSet?.metadata.ownerReferences);
  chain.workload =
    deployment?.kind === 'Deployment' ? { kind: 'Deployment', name: deployment.name } : { kind: 'ReplicaSet', name: owner.name };
  return chain;
}

/** The owner reference with controller: true; objects have at most one. */
function controllerOf(references: readonly OwnerReference[] | null | undefined): OwnerReference | undefined {
  return references?.find((reference) => reference.controller === true);
}
