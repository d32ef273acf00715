import type { KubeIdentity } from '../identity/resolve-identity.ts';
import type { ResourceAttributes } from '../kube/access-review.ts';

/**
 * The contract between the RBAC gate (src/access/access-gate.ts), the dispatcher of commands and
 * buttons (src/slack/), and the audit trail (src/audit.ts).
 */

/** The Slack person behind a command or a click. */
export interface Actor {
  slackUserId: string;
  /** Slack's display handle, for readable audit lines; never used for decisions. */
  slackUserName: string;
  /**
   * The person's own Slack team as the signed request states it (slash command `team_id`,
   * block_actions `user.team_id`); Lookout refuses people of other workspaces (home-workspace.ts).
   */
  teamId?: string;
  /** The person's Enterprise Grid organisation, when the request states one. */
  enterpriseId?: string;
}

/** A reference to the Kubernetes object an action is about (the audit Event goes on it). */
export interface ObjectReference {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

export type Authorization =
  | { allowed: true; identity: KubeIdentity }
  /** No identity rule maps this person (or the account is deactivated, a bot, a guest). */
  | { allowed: false; reason: 'unmapped'; message: string }
  /** Mapped, but RBAC says no; `message` names the missing permission and nothing else. */
  | { allowed: false; reason: 'denied'; identity: KubeIdentity; message: string };

export type AuditOutcome = 'allowed' | 'denied' | 'failed';

/** One attempt at an action, whatever its outcome. */
export interface AuditEntry {
  /** What was attempted, e.g. `scale`, `acknowledge`, `can-i`. */
  action: string;
  actor: Actor;
  /** Absent when the person is unmapped. */
  identity?: KubeIdentity;
  attributes: ResourceAttributes;
  outcome: AuditOutcome;
  /** Kubernetes object the action touched, when there is one: the audit Event is recorded on it. */
  target?: ObjectReference;
  /** One short line: the result, the denial, or the error reference. Never a secret. */
  detail: string;
  /** Event reason when allowed, e.g. `ScaledBySlackUser`. */
  reason?: string;
}

export interface AuditTrail {
  /** Never throws: a failing audit sink is logged and counted, and the others still record. */
  record(entry: AuditEntry): Promise<void>;
}
