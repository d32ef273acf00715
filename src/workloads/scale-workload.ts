import type { LookoutReads, PersonKube } from '../../commands/command.ts';
import { Conflict } from '../errors.ts';
import type { ResourceAttributes } from '../kube/access-review.ts';
import { kubeFailure } from './kube-failure.ts';
import { describeWorkload, resourceOf, workloadPath, type WorkloadRef } from './workload-ref.ts';

/** The scale subresource (autoscaling/v1 Scale) as read. */
export interface CurrentScale {
  replicas: number;
  /** Sent back with the change: if the workload changed in between, the API server answers 409. */
  resourceVersion: string;
}

/** An HPA that scales a workload, as read by Lookout. */
export interface ScalingHpa {
  name: string;
  minReplicas: number;
  maxReplicas: number;
  currentReplicas: number | undefined;
}

/** `patch deployments/scale` (or statefulsets/scale) on this object: what `/ops scale` is reviewed as. */
export function scaleAttributes(ref: WorkloadRef, verb = 'patch'): ResourceAttributes {
  return { verb, group: 'apps', resource: resourceOf(ref.kind), subresource: 'scale', namespace: ref.namespace, name: ref.name };
}

/** `patch horizontalpodautoscalers` on this HPA: what `--hpa-min` / `--hpa-max` are reviewed as. */
export function hpaAttributes(namespace: string, name: string): ResourceAttributes {
  return { verb: 'patch', group: 'autoscaling', resource: 'horizontalpodautoscalers', namespace, name };
}

/** Reads the scale subresource as the person (needs `get` on it). */
export async function readScale(kube: PersonKube, ref: WorkloadRef): Promise<CurrentScale> {
  try {
    const scale = await kube.request<{ metadata?: { resourceVersion?: string }; spec?: { replicas?: number } }>({ method: 'GET', path: `${workloadPath(ref)}/scale` });
    return { replicas: scale.spec?.replicas ?? 0, resourceVersion: scale.metadata?.resourceVersion ?? '' };
  } catch (error) {
    return kubeFailure(error, { attributes: scaleAttributes(ref, 'get'), what: `${ref.kind} ${describeWorkload(ref)}` });
  }
}

/**
 * Writes the replica count through the scale subresource as the person, as kubectl does: a
 * JSON merge patch (client libraries default to JSON Patch, which the scale subresource does
 * not take the same way), with the resourceVersion read before, so a change made meanwhile
 * is a 409 rather than silently overwritten.
 */
export async function writeScale(kube: PersonKube, ref: WorkloadRef, replicas: number, readAt: CurrentScale): Promise<void> {
  try {
    await kube.request({
      method: 'PATCH',
      path: `${workloadPath(ref)}/scale`,
      contentType: 'application/merge-patch+json',
      body: { metadata: { resourceVersion: readAt.resourceVersion }, spec: { replicas } },
    });
  } catch (error) {
    return kubeFailure(error, { attributes: scaleAttributes(ref), what: `${ref.kind} ${describeWorkload(ref)}` });
  }
}

/** The HPA whose scaleTargetRef is this workload, read as Lookout (its ClusterRole lists HPAs). */
export async function findHpa(reads: LookoutReads, ref: WorkloadRef): Promise<ScalingHpa | undefined> {
  const list = await reads.get<{ items?: Array<{ metadata?: { name?: string }; spec?: { scaleTargetRef?: { kind?: string; name?: string }; minReplicas?: number; maxReplicas?: number }; status?: { currentReplicas?: number } }> }>(
    `/apis/autoscaling/v2/namespaces/${ref.namespace}/horizontalpodautoscalers`,
  );
  const hpa = (list.items ?? []).find((item) => item.spec?.scaleTargetRef?.kind === ref.kind && item.spec.scaleTargetRef.name === ref.name);
  if (hpa?.metadata?.name === undefined) return undefined;
  return { name: hpa.metadata.name, minReplicas: hpa.spec?.minReplicas ?? 1, maxReplicas: hpa.spec?.maxReplicas ?? 0, currentReplicas: hpa.status?.currentReplicas };
}

/** "HPA `cart` (min 2, max 10, current 4)". */
export function describeHpa(hpa: ScalingHpa): string {
  return `HPA \`${hpa.name}\` (min ${hpa.minReplicas}, max ${hpa.maxReplicas}, current ${hpa.currentReplicas ?? 'unknown'})`;
}

/** Changes an HPA's bounds as the person (merge patch of spec.minReplicas / spec.maxReplicas). */
export async function writeHpaBounds(kube: PersonKube, namespace: string, hpa: ScalingHpa, bounds: { min?: number; max?: number }): Promise<void> {
  const min = bounds.min ?? hpa.minReplicas;
  const max = bounds.max ?? hpa.maxReplicas;
  if (min > max) throw new Conflict(`The HPA's minimum (${min}) would be above its maximum (${max}); nothing was changed.`);
  try {
    await kube.request({
      method: 'PATCH',
      path: `/apis/autoscaling/v2/namespaces/${namespace}/horizontalpodautoscalers/${hpa.name}`,
      contentType: 'application/merge-patch+json',
      body: { spec: { ...(bounds.min !== undefined ? { minReplicas: bounds.min } : {}), ...(bounds.max !== undefined ? { maxReplicas: bounds.max } : {}) } },
    });
  } catch (error) {
    return kubeFailure(error, { attributes: hpaAttributes(namespace, hpa.name), what: `HorizontalPodAutoscaler ${namespace}/${hpa.name}` });
  }
}
