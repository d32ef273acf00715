import type { Alert } from './payload.ts';

/** An alert as Lookout tracks it inside a group: the newest thing any notification said about it. */
export type TrackedAlert = Alert;

/**
 * What Lookout knows about one Alertmanager group in one episode (from first firing until
 * every alert resolved). Rendering is a pure function of this, so re-rendering is idempotent.
 */
export interface GroupState {
  groupKey: string;
  receiver: string;
  externalURL: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  /** Firing first, then by startsAt, then fingerprint: a stable order for rendering and diffs. */
  alerts: TrackedAlert[];
  /** Alerts Alertmanager left out of the last notification (max_alerts). */
  truncatedAlerts: number;
  /** Set when someone clicked Acknowledge (and RBAC allowed it); kept for the rest of the episode. */
  acknowledged?: Acknowledgement;
  /**
   * Set when someone silenced the group from Slack (the Silence control, src/slack/silence-action.ts);
   * or found in Alertmanager by the reconciler (src/alertmanager-reconciler.ts); cleared when the
   * silence ends or is expired (src/silence-expiry.ts).
   */
  silenced?: SilenceMark;
}

/** Who silenced a group from Slack, until when, and the Alertmanager silence that does it. */
export interface SilenceMark {
  /** Slack user id of the person who silenced; empty for a silence made in Alertmanager (src/alertmanager-reconciler.ts). */
  by: string;
  /** RFC 3339: the silence's endsAt as Alertmanager stored it. */
  until: string;
  silenceId: string;
}

/** Who acknowledged a group, and when; written server-side by the Acknowledge button's handler. */
export interface Acknowledgement {
  /** Slack user id of the person who clicked. */
  by: string;
  /** RFC 3339. */
  at: string;
}

/** What a notification changed about a group; empty when it told us nothing new. */
export interface GroupChange {
  firing: TrackedAlert[];
  resolved: TrackedAlert[];
}

export function isFiring(group: GroupState): boolean {
  return group.alerts.some((alert) => alert.status === 'firing');
}

export function hasChanges(change: GroupChange): boolean {
  return change.firing.length > 0 || change.resolved.length > 0;
}
