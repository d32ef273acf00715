import type { PersonKube } from '../../commands/command.ts';
import { REPORTING_CONTROLLER } from '../audit.ts';
import { eventTime, listEvents, selectorQuery, templateImages, type PodTemplate, type WorkloadObject } from './workload-reads.ts';
import type { WorkloadRef } from './workload-ref.ts';

/** One rollout revision: a Deployment's ReplicaSet, or a StatefulSet's or DaemonSet's ControllerRevision. */
export interface Revision {
  revision: number;
  name: string;
  images: Array<{ container: string; image: string }>;
  /** `kubernetes.io/change-cause`, when whoever changed it recorded one. */
  changeCause?: string;
  /** ms since the epoch: when the revision was created. */
  at: number;
}

/** Something done to the workload through Lookout, from its audit Event (src/audit.ts). */
export interface LookoutAction {
  /** The Event's reason, e.g. ScaledBySlackUser. */
  reason: string;
  /** The Event's note: who, as which Kubernetes identity, with what permission, what changed. */
  note: string;
  /** The Slack user id the note names, for a mention. */
  slackUserId?: string;
  at: number;
}

/** Who deploys the workload from Git, so people know a manual change will be reverted. */
export interface GitOpsHint {
  tool: 'Argo CD' | 'Flux';
  /** `Application`, `Kustomization` or `HelmRelease`. */
  kind: string;
  name: string;
  /** How Lookout knows: the annotation or label it read. */
  source: string;
}

const REVISION = 'deployment.kubernetes.io/revision';
const CHANGE_CAUSE = 'kubernetes.io/change-cause';

interface RevisionOwner {
  metadata?: { name?: string; creationTimestamp?: string; annotations?: Record<string, string>; ownerReferences?: Array<{ uid?: string }> };
}
interface ReplicaSetItem extends RevisionOwner {
  spec?: { template?: PodTemplate };
}
interface ControllerRevisionItem extends RevisionOwner {
  revision?: number;
  data?: { spec?: { template?: PodTemplate } };
}

/**
 * The workload's rollout revisions, as the person: ReplicaSets for a Deployment (revision
 * annotation), ControllerRevisions for a StatefulSet or DaemonSet (their `revision`), each kept
 * only when the workload owns it (by uid, so a namesake's leftovers never show).
 */
export async function readRevisions(kube: PersonKube, ref: WorkloadRef, object: WorkloadObject): Promise<Revision[]> {
  const labelSelector = selectorQuery(object.spec?.selector);
  if (labelSelector === undefined) return [];
  const uid = object.metadata?.uid;
  const owned = (item: RevisionOwner): boolean => uid !== undefined && (item.metadata?.ownerReferences ?? []).some((owner) => owner.uid === uid);
  const query = { labelSelector, limit: '500' };
  if (ref.kind === 'Deployment') {
    const list = await kube.request<{ items?: ReplicaSetItem[] }>({ method: 'GET', path: `/apis/apps/v1/namespaces/${ref.namespace}/replicasets`, query });
    return (list.items ?? []).filter(owned).flatMap((item) => {
      const revision = Number(item.metadata?.annotations?.[REVISION]);
      return Number.isInteger(revision) ? [revisionOf(item, revision, item.spec?.template)] : [];
    });
  }
  const list = await kube.request<{ items?: ControllerRevisionItem[] }>({ method: 'GET', path: `/apis/apps/v1/namespaces/${ref.namespace}/controllerrevisions`, query });
  return (list.items ?? []).filter(owned).map((item) => revisionOf(item, item.revision ?? 0, item.data?.spec?.template));
}

function revisionOf(item: RevisionOwner, revision: number, template: PodTemplate | undefined): Revision {
  const changeCause = item.metadata?.annotations?.[CHANGE_CAUSE];
  const at = Date.parse(item.metadata?.creationTimestamp ?? '');
  return {
    revision,
    name: item.metadata?.name ?? '?',
    images: templateImages(template),
    ...(changeCause ? { changeCause } : {}),
    at: Number.isNaN(at) ? 0 : at,
  };
}

/**
 * What people did to the workload through Lookout: the audit Events Lookout recorded on it that
 * say it was done (type Normal; refusals and failures changed nothing), as the person.
 */
export async function readLookoutActions(kube: PersonKube, ref: WorkloadRef): Promise<LookoutAction[]> {
  const events = await listEvents(kube, ref.namespace, `involvedObject.kind=${ref.kind},involvedObject.name=${ref.name},reportingComponent=${REPORTING_CONTROLLER}`);
  return events
    .filter((event) => event.type === 'Normal')
    .map((event) => {
      const note = event.message ?? '';
      const slackUserId = /for Slack user .* \(([UW][A-Z0-9]{2,})\) as /.exec(note)?.[1];
      return { reason: event.reason ?? '', note, ...(slackUserId ? { slackUserId } : {}), at: eventTime(event) };
    });
}

/**
 * Argo CD and Flux mark what they manage. Argo CD's tracking annotation is
 * `<app>:<group>/<kind>:<namespace>/<name>` (the app prefixed `<namespace>_` when Applications
 * live outside its own namespace); its label tracking uses `app.kubernetes.io/instance`, which
 * Helm sets too, so that one is said as a possibility. Flux labels name the Kustomization or
 * HelmRelease and its namespace.
 */
export function gitOpsHints(object: WorkloadObject): GitOpsHint[] {
  const annotations = object.metadata?.annotations ?? {};
  const labels = object.metadata?.labels ?? {};
  const hints: GitOpsHint[] = [];
  const tracking = annotations['argocd.argoproj.io/tracking-id'];
  const app = tracking?.split(':', 1)[0];
  if (app) hints.push({ tool: 'Argo CD', kind: 'Application', name: app.replace('_', '/'), source: 'annotation argocd.argoproj.io/tracking-id' });
  else if (labels['app.kubernetes.io/instance']) hints.push({ tool: 'Argo CD', kind: 'Application', name: labels['app.kubernetes.io/instance'], source: 'label app.kubernetes.io/instance (Argo CD label tracking, or a Helm release)' });
  for (const [kind, prefix] of [['Kustomization', 'kustomize'], ['HelmRelease', 'helm']] as const) {
    const name = labels[`${prefix}.toolkit.fluxcd.io/name`];
    if (!name) continue;
    const namespace = labels[`${prefix}.toolkit.fluxcd.io/namespace`];
    hints.push({ tool: 'Flux', kind, name: namespace ? `${namespace}/${name}` : name, source: `label ${prefix}.toolkit.fluxcd.io/name` });
  }
  return hints;
}
