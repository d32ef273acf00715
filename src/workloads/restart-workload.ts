import type { LookoutReads, PersonKube } from '../../commands/command.ts';
import { Conflict, NotFound } from '../errors.ts';
import type { ResourceAttributes } from '../kube/access-review.ts';
import { KubeApiError } from '../kube/kube-http.ts';
import { kubeFailure } from './kube-failure.ts';
import { describeWorkload, resourceOf, workloadPath, type WorkloadRef } from './workload-ref.ts';

/** The annotation `kubectl rollout restart` sets on the pod template. */
export const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';

/** `patch deployments` (statefulsets, daemonsets) on this object: what `/ops restart` is reviewed as. */
export function restartAttributes(ref: WorkloadRef): ResourceAttributes {
  return { verb: 'patch', group: 'apps', resource: resourceOf(ref.kind), namespace: ref.namespace, name: ref.name };
}

/** What decides whether a restart can do anything, read as Lookout. */
export interface RestartCheck {
  /** A StatefulSet or DaemonSet with updateStrategy OnDelete: the annotation changes, no pod restarts by itself. */
  onDelete: boolean;
}

/**
 * Reads the workload as Lookout and refuses what a restart cannot help: a paused Deployment
 * rolls nothing out until it is resumed.
 */
export async function checkRestart(reads: LookoutReads, ref: WorkloadRef): Promise<RestartCheck> {
  let object: { spec?: { paused?: boolean; updateStrategy?: { type?: string } } };
  try {
    object = await reads.get(workloadPath(ref));
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 404) throw new NotFound(`There is no ${ref.kind} ${describeWorkload(ref)}.`, { cause: error });
    throw error;
  }
  if (ref.kind === 'Deployment' && object.spec?.paused === true) {
    throw new Conflict(`${describeWorkload(ref)} is paused (\`spec.paused\`), so a restart would roll nothing out; nothing was changed. Resume it first (\`kubectl rollout resume deployment/${ref.name} -n ${ref.namespace}\`).`);
  }
  // Deployments have no OnDelete; StatefulSets and DaemonSets both do.
  return { onDelete: ref.kind !== 'Deployment' && object.spec?.updateStrategy?.type === 'OnDelete' };
}

/**
 * RFC 3339 in UTC to the second, as kubectl writes restartedAt; with milliseconds when the pod
 * template already carries that second's stamp (a second restart within the same second, such
 * as a roll back right after a rotation), since an annotation that does not change rolls nothing out.
 */
export function restartStamp(at: number, current?: string): string {
  const stamp = new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return stamp === current ? new Date(at).toISOString() : stamp;
}

/** The pod template's restartedAt now, read as Lookout; undefined when there is none or it cannot be read. */
async function currentStamp(reads: LookoutReads, ref: WorkloadRef): Promise<string | undefined> {
  try {
    const object = await reads.get<{ spec?: { template?: { metadata?: { annotations?: Record<string, string> } } } }>(workloadPath(ref));
    return object.spec?.template?.metadata?.annotations?.[RESTARTED_AT];
  } catch {
    // The PATCH that follows says what is wrong with the workload, as the person.
    return undefined;
  }
}

/**
 * Sets the pod template's restartedAt annotation as the person, as `kubectl rollout restart`
 * does (a strategic merge patch of spec.template.metadata.annotations): the controller then
 * replaces the pods by its update strategy.
 */
export async function writeRestart(kube: PersonKube, reads: LookoutReads, ref: WorkloadRef, at: number): Promise<string> {
  const stamp = restartStamp(at, await currentStamp(reads, ref));
  try {
    await kube.request({
      method: 'PATCH',
      path: workloadPath(ref),
      contentType: 'application/strategic-merge-patch+json',
      body: { spec: { template: { metadata: { annotations: { [RESTARTED_AT]: stamp } } } } },
    });
  } catch (error) {
    return kubeFailure(error, { attributes: restartAttributes(ref), what: `${ref.kind} ${describeWorkload(ref)}` });
  }
  return stamp;
}
