import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { defaultEnrichmentConfig, type TargetLabelsConfig } from '../../alerts/enrichers/enrichment-config.ts';
import { resolveTarget } from '../../alerts/enrichers/target.ts';
import type { GroupState } from '../../alerts/group-state.ts';
import { groupRef } from '../../alerts/render.ts';
import type { Actor, AuditEntry, AuditTrail, Authorization, ObjectReference } from '../access/authorization.ts';
import { FOREIGN_WORKSPACE_MESSAGE, isHomeTeam, type WorkspaceSource } from '../access/home-workspace.ts';
import type { ResourceAttributes } from '../kube/access-review.ts';
import { LOOKOUT_GROUP } from '../kube/resource-names.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { GroupRecord, Store } from '../state/store.ts';

/** The fields of a block_actions click that Lookout uses, read from Slack's payload. */
export interface AcknowledgeClick {
  actor: Actor;
  /** Where the clicked message is: container.channel_id and container.message_ts. */
  channelId: string;
  messageTs: string;
  /** The button's value: checked against the stored group, never used to find it. */
  value: string | undefined;
}

export interface AcknowledgeDeps {
  store: Pick<Store, 'transaction' | 'groupByMessage' | 'updateGroupState' | 'addReply'>;
  /** The RBAC gate (AccessGate.authorize): identity mapping plus SubjectAccessReview. */
  authorize: (actor: Actor, attributes: ResourceAttributes) => Promise<Authorization>;
  audit: AuditTrail;
  log: Logger;
  metrics: Metrics;
  /** Called once the message edit and the thread reply are queued, to wake the outbox. */
  onQueued: () => void;
  /** Which labels name the alert's Kubernetes objects (the enrichment config's). */
  targetLabels?: TargetLabelsConfig;
  /**
   * Lookout's own Slack workspace: clicks by anyone else are refused. Always set when Slack is
   * configured; absent in console mode, where no request can be verified anyway.
   */
  home?: WorkspaceSource;
  now?: () => number;
}

/** Acknowledged (the edit and reply speak for themselves), or a text only the clicker sees. */
export type AcknowledgeResult =
  | { outcome: 'acknowledged' }
  | { outcome: 'refused' | 'denied' | 'error'; ephemeral: string };

export const ACKNOWLEDGE_REASON = 'AlertAcknowledgedBySlackUser';
export const NOT_THIS_MESSAGE = 'This button does not belong to this message, so Lookout did nothing.';

/** `acknowledge alerts.lookout.dev`, before the group (and so its namespace and name) is known. */
const ACKNOWLEDGE_ALERTS: ResourceAttributes = { verb: 'acknowledge', group: LOOKOUT_GROUP, resource: 'alerts' };

const slackUserId = /^[UW][A-Z0-9]{2,}$/;
/** DNS-1123 label: a namespace label that is not a namespace name is not used as one. */
const namespaceName = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

const clickSchema = z.object({
  type: z.literal('block_actions'),
  // user.team_id is the clicker's own team (on Enterprise Grid, the organisation's E… id);
  // team is where the click happened, read only when Slack leaves user.team_id out.
  user: z.object({ id: z.string().regex(slackUserId), username: z.string().optional(), name: z.string().optional(), team_id: z.string().min(1).optional() }),
  team: z.object({ id: z.string().min(1), enterprise_id: z.string().min(1).optional() }).nullish(),
  enterprise: z.object({ id: z.string().min(1) }).nullish(),
  container: z.object({ type: z.literal('message'), channel_id: z.string().min(1), message_ts: z.string().min(1) }),
  actions: z.array(z.object({ action_id: z.string(), value: z.string().optional() })).min(1),
});

/**
 * Reads a click on the Acknowledge button from Slack's block_actions payload (already verified
 * as signed by Slack). Only the message the click came from identifies the group.
 * @returns undefined when the payload is not a click on a message button.
 */
export function parseAcknowledgeClick(payload: unknown, actionId: string): AcknowledgeClick | undefined {
  const parsed = clickSchema.safeParse(payload);
  if (!parsed.success) return undefined;
  const { user, team, enterprise, container, actions } = parsed.data;
  const action = actions.find((candidate) => candidate.action_id === actionId);
  if (action === undefined) return undefined;
  const teamId = user.team_id ?? team?.id;
  const enterpriseId = team?.enterprise_id ?? enterprise?.id;
  return {
    actor: {
      slackUserId: user.id,
      slackUserName: user.username ?? user.name ?? user.id,
      ...(teamId !== undefined ? { teamId } : {}),
      ...(enterpriseId !== undefined ? { enterpriseId } : {}),
    },
    channelId: container.channel_id,
    messageTs: container.message_ts,
    value: action.value,
  };
}

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
 * The Acknowledge button. The group is found server-side from the message the click came from
 * (channel + ts → the stored group record); the button's value must match that record, and
 * nothing in the payload (value, block_id, private_metadata) is trusted to name a group. The
 * person is authorised by RBAC (`acknowledge alerts.lookout.dev`) before anything changes, and
 * every attempt is audited.
 */
export async function handleAcknowledge(deps: AcknowledgeDeps, click: AcknowledgeClick): Promise<AcknowledgeResult> {
  const log = deps.log.child({ action: 'acknowledge', user: click.actor.slackUserId, channel: click.channelId, messageTs: click.messageTs });
  try {
    return await acknowledge(deps, click, log);
  } catch (error) {
    // The state store failed: nothing was acknowledged (the write is one transaction).
    const ref = randomUUID().slice(0, 8);
    log.error({ err: error, ref }, 'Acknowledge failed');
    deps.metrics.buttonActions.inc({ action: 'acknowledge', outcome: 'error' });
    await deps.audit.record({
      action: 'acknowledge',
      actor: click.actor,
      attributes: ACKNOWLEDGE_ALERTS,
      outcome: 'failed',
      detail: `internal error (ref ${ref})`,
    });
    return { outcome: 'error', ephemeral: `Internal error (ref ${ref}). The details are in Lookout's log.` };
  }
}

async function acknowledge(deps: AcknowledgeDeps, click: AcknowledgeClick, log: Logger): Promise<AcknowledgeResult> {
  const now = deps.now ?? Date.now;
  const finish = async (result: AcknowledgeResult, entry: Omit<AuditEntry, 'action' | 'actor'>): Promise<AcknowledgeResult> => {
    deps.metrics.buttonActions.inc({ action: 'acknowledge', outcome: result.outcome === 'acknowledged' ? 'ok' : result.outcome });
    await deps.audit.record({ action: 'acknowledge', actor: click.actor, ...entry });
    return result;
  };

  // A person of another workspace (a Slack Connect channel) is refused before anything is read.
  if (deps.home !== undefined && !isHomeTeam(await deps.home.get(), click.actor)) {
    log.warn({ teamId: click.actor.teamId, enterpriseId: click.actor.enterpriseId }, 'Acknowledge by a person of another Slack workspace refused');
    return finish(
      { outcome: 'refused', ephemeral: FOREIGN_WORKSPACE_MESSAGE },
      { attributes: ACKNOWLEDGE_ALERTS, outcome: 'denied', detail: `refused: not a member of this Slack workspace (team ${click.actor.teamId ?? 'not stated'})` },
    );
  }

  const record = deps.store.groupByMessage(click.channelId, click.messageTs);
  if (record === undefined || click.value !== groupRef(record.groupKey)) {
    log.warn({ known: record !== undefined }, 'Acknowledge click does not match the stored group of its message; refused');
    return finish({ outcome: 'refused', ephemeral: NOT_THIS_MESSAGE }, { attributes: ACKNOWLEDGE_ALERTS, outcome: 'denied', detail: 'refused: the button does not belong to the message it was clicked on' });
  }

  const attributes = acknowledgeAttributes(record.state);
  const target = alertObject(record.state, deps.targetLabels ?? defaultEnrichmentConfig().labels);
  const onTarget = target !== undefined ? { target } : {};
  const settled = settledReason(record);
  if (settled !== undefined) {
    return finish({ outcome: 'refused', ephemeral: settled }, { attributes, ...onTarget, outcome: 'denied', detail: `refused: ${settled}` });
  }

  let authorization: Authorization;
  try {
    authorization = await deps.authorize(click.actor, attributes);
  } catch (error) {
    const ref = randomUUID().slice(0, 8);
    log.error({ err: error, ref }, 'access review for Acknowledge failed');
    return finish(
      { outcome: 'error', ephemeral: `Internal error (ref ${ref}). The details are in Lookout's log.` },
      { attributes, ...onTarget, outcome: 'failed', detail: `access review failed (ref ${ref})` },
    );
  }
  if (!authorization.allowed) {
    const identity = authorization.reason === 'denied' ? { identity: authorization.identity } : {};
    return finish({ outcome: 'denied', ephemeral: authorization.message }, { attributes, ...onTarget, ...identity, outcome: 'denied', detail: authorization.message });
  }

  const at = now();
  // Synchronous, in one transaction: two people clicking at once cannot both acknowledge.
  const conflict = deps.store.transaction(() => {
    const current = deps.store.groupByMessage(click.channelId, click.messageTs);
    if (current === undefined || current.id !== record.id) return NOT_THIS_MESSAGE;
    const reason = settledReason(current);
    if (reason !== undefined) return reason;
    deps.store.updateGroupState(current.id, { ...current.state, acknowledged: { by: click.actor.slackUserId, at: new Date(at).toISOString() } }, at);
    deps.store.addReply(current.id, `✋ Acknowledged by <@${click.actor.slackUserId}>`, at);
    return undefined;
  });
  const { identity } = authorization;
  if (conflict !== undefined) {
    return finish({ outcome: 'refused', ephemeral: conflict }, { attributes, ...onTarget, identity, outcome: 'denied', detail: `refused: ${conflict}` });
  }
  deps.onQueued();
  log.info({ groupKey: record.groupKey, username: identity.username }, 'alert group acknowledged');
  return finish(
    { outcome: 'acknowledged' },
    { attributes, ...onTarget, identity, outcome: 'allowed', reason: ACKNOWLEDGE_REASON, detail: `acknowledged ${record.state.alerts.filter((a) => a.status === 'firing').length} firing alert(s) of the group` },
  );
}

/** Why there is nothing to acknowledge, or undefined when there is. */
function settledReason(record: GroupRecord): string | undefined {
  const { acknowledged } = record.state;
  if (acknowledged !== undefined) return `Already acknowledged by <@${acknowledged.by}>.`;
  if (!record.state.alerts.some((alert) => alert.status === 'firing')) return 'Every alert of this group has resolved; there is nothing to acknowledge.';
  return undefined;
}

function own(record: Readonly<Record<string, string>>, key: string): string | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
