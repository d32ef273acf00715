import { ACK_ACTION_ID, UNACK_ACTION_ID } from '../../alerts/alert-buttons.ts';
import { defaultEnrichmentConfig, type TargetLabelsConfig } from '../../alerts/enrichers/enrichment-config.ts';
import { resolveTarget } from '../../alerts/enrichers/target.ts';
import type { GroupState } from '../../alerts/group-state.ts';
import type { ObjectReference } from '../access/authorization.ts';
import { notAcknowledgeable, notUnacknowledgeable } from '../../alerts/acknowledge-group.ts';
import { Conflict } from '../errors.ts';
import type { ResourceAttributes } from '../kube/access-review.ts';
import { LOOKOUT_GROUP } from '../kube/resource-names.ts';
import type { GroupRecord, Store } from '../state/store.ts';
import type { AlertAction } from './alert-actions.ts';

export interface AcknowledgeOptions {
  store: Pick<Store, 'changeAcknowledgement'>;
  /** Called once the message edit and the thread reply are queued, to wake the outbox. */
  onQueued: () => void;
  /** Which labels name the alert's Kubernetes objects (the enrichment config's). */
  targetLabels?: TargetLabelsConfig;
  now?: () => number;
}

export const ACKNOWLEDGE_REASON = 'AlertAcknowledgedBySlackUser';
export const UNACKNOWLEDGE_REASON = 'AlertUnacknowledgedBySlackUser';

/** `acknowledge alerts.lookout.dev`, before the group (and so its namespace and name) is known. */
const ACKNOWLEDGE_ALERTS: ResourceAttributes = { verb: 'acknowledge', group: LOOKOUT_GROUP, resource: 'alerts' };

/** DNS-1123 label: a namespace label that is not a namespace name is not used as one. */
const namespaceName = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** What acknowledging this group needs: `acknowledge` on `alerts.lookout.dev`, named by alertname. */
export function acknowledgeAttributes(state: GroupState): ResourceAttributes {
  const namespace = own(state.commonLabels, 'namespace');
  const alertname = own(state.commonLabels, 'alertname');
  return {
    ...ACKNOWLEDGE_ALERTS,
    // No common namespace (or a value that is not one): the review is cluster-wide, the stricter ask.
    ...(namespace !== undefined && namespaceName.test(namespace) ? { namespace } : {}),
    // A group of several rules has no one name: the review then covers every alert name.
    ...(alertname !== undefined && alertname !== '' ? { name: alertname } : {}),
  };
}

/** Objects other than workloads and pods an alert can name in a namespace, in the order they win. */
const NAMESPACED_OBJECTS = [
  ['horizontalPodAutoscaler', 'autoscaling/v2', 'HorizontalPodAutoscaler'],
  ['podDisruptionBudget', 'policy/v1', 'PodDisruptionBudget'],
  ['resourceQuota', 'v1', 'ResourceQuota'],
  ['persistentVolumeClaim', 'v1', 'PersistentVolumeClaim'],
] as const;

/** The Kubernetes object the alert names, where the audit Event goes. */
export function alertObject(state: GroupState, labels: TargetLabelsConfig): ObjectReference | undefined {
  const target = resolveTarget(state.commonLabels, labels);
  if (target.namespace !== undefined) {
    const { namespace } = target;
    if (target.workload !== undefined) {
      const apiVersion = target.workload.kind === 'Job' ? 'batch/v1' : 'apps/v1';
      return { apiVersion, kind: target.workload.kind, namespace, name: target.workload.name };
    }
    if (target.pod !== undefined) return { apiVersion: 'v1', kind: 'Pod', namespace, name: target.pod };
    for (const [field, apiVersion, kind] of NAMESPACED_OBJECTS) {
      const name = target[field];
      if (name !== undefined) return { apiVersion, kind, namespace, name };
    }
    return { apiVersion: 'v1', kind: 'Namespace', name: namespace };
  }
  if (target.persistentVolume !== undefined) return { apiVersion: 'v1', kind: 'PersistentVolume', name: target.persistentVolume };
  if (target.node !== undefined) return { apiVersion: 'v1', kind: 'Node', name: target.node };
  return undefined;
}

/**
 * The Acknowledge and Unacknowledge buttons (alert-actions.ts does the checks around them: group
 * from the clicked message, value, workspace, RBAC `acknowledge alerts.lookout.dev` with the
 * group's namespace and alertname, audit). Who and when are stored in the group state with a
 * thread reply, in one transaction, so the message is edited by the outbox; a second click, on
 * Unacknowledge, by anyone allowed the same, takes it back. Each button says what it means, so
 * two people clicking Acknowledge at once cannot undo each other: the second is told who won.
 */
export function acknowledgeActions(options: AcknowledgeOptions): [AlertAction, AlertAction] {
  const labels = options.targetLabels ?? defaultEnrichmentConfig().labels;
  const now = options.now ?? Date.now;
  const common = {
    coarseAccess: ACKNOWLEDGE_ALERTS,
    access: (record: GroupRecord) => acknowledgeAttributes(record.state),
    target: (record: GroupRecord) => alertObject(record.state, labels),
  };
  /** Changes the stored group if it still allows it (checked again in the store's transaction); otherwise says why not. */
  const change = async (record: GroupRecord, acknowledge: boolean, by: string): Promise<void> => {
    const problem = await options.store.changeAcknowledgement({ groupId: record.id, acknowledge, by, at: now() });
    if (problem !== undefined) throw new Conflict(problem);
    options.onQueued();
  };
  const firingCount = (record: GroupRecord): number => record.state.alerts.filter((alert) => alert.status === 'firing').length;
  return [
    {
      ...common,
      actionId: ACK_ACTION_ID,
      name: 'acknowledge',
      auditReason: ACKNOWLEDGE_REASON,
      refusal: notAcknowledgeable,
      async run({ record, actor }) {
        await change(record, true, actor.slackUserId);
        return { auditDetail: `acknowledged ${firingCount(record)} firing alert(s) of the group` };
      },
    },
    {
      ...common,
      actionId: UNACK_ACTION_ID,
      name: 'unacknowledge',
      auditReason: UNACKNOWLEDGE_REASON,
      refusal: notUnacknowledgeable,
      async run({ record, actor }) {
        await change(record, false, actor.slackUserId);
        return { auditDetail: `withdrew the acknowledgement of ${firingCount(record)} firing alert(s) of the group` };
      },
    },
  ];
}

function own(record: Readonly<Record<string, string>>, key: string): string | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
