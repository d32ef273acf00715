import type { AlertmanagerPayload } from './payload.ts';
import { isFiring, type GroupChange, type GroupState, type TrackedAlert } from './group-state.ts';

export interface MergeResult {
  state: GroupState;
  change: GroupChange;
  /** The previous episode had ended (everything resolved) and this notification starts a new one. */
  newEpisode: boolean;
  /** False when the notification told us nothing new: a retry, a repeat, or the other HA replica. */
  changed: boolean;
}

/**
 * Fold a notification into what we know about its group.
 *
 * Alertmanager retries, re-sends on repeat_interval, and in HA pairs both replicas send the
 * same group, possibly out of order. So the merge is per alert and order-independent: the
 * record with the later startsAt wins (a new occurrence), and for the same occurrence
 * "resolved" beats "firing". Applying the same notification twice, or an older one after a
 * newer one, therefore changes nothing.
 */
export function mergeNotification(previous: GroupState | undefined, payload: AlertmanagerPayload): MergeResult {
  const known = new Map((previous?.alerts ?? []).map((alert) => [alert.fingerprint, alert]));
  const newer = payload.alerts.filter((alert) => supersedes(alert, known.get(alert.fingerprint)));

  const episodeEnded = previous !== undefined && !isFiring(previous);
  const newEpisode = previous === undefined || (episodeEnded && newer.some((alert) => alert.status === 'firing'));
  if (!newEpisode && newer.length === 0) {
    return { state: previous, change: { firing: [], resolved: [] }, newEpisode: false, changed: false };
  }

  const before = newEpisode ? new Map<string, TrackedAlert>() : known;
  const after = new Map(before);
  for (const alert of newer) after.set(alert.fingerprint, alert);

  const state: GroupState = {
    groupKey: payload.groupKey,
    receiver: payload.receiver,
    externalURL: payload.externalURL,
    groupLabels: payload.groupLabels,
    commonLabels: payload.commonLabels,
    commonAnnotations: payload.commonAnnotations,
    alerts: [...after.values()].sort(byDisplayOrder),
    truncatedAlerts: payload.truncatedAlerts,
    // An acknowledgement holds for the episode: new alerts joining do not undo it.
    ...(!newEpisode && previous?.acknowledged !== undefined ? { acknowledged: previous.acknowledged } : {}),
    // So does a silence made from Slack: its matchers are the group's labels, so it covers newcomers too.
    ...(!newEpisode && previous?.silenced !== undefined ? { silenced: previous.silenced } : {}),
  };
  return { state, change: diff(before, newer), newEpisode, changed: true };
}

function supersedes(incoming: TrackedAlert, known: TrackedAlert | undefined): boolean {
  if (known === undefined) return true;
  const incomingStart = Date.parse(incoming.startsAt);
  const knownStart = Date.parse(known.startsAt);
  if (incomingStart !== knownStart) return incomingStart > knownStart;
  return incoming.status === 'resolved' && known.status === 'firing';
}

function diff(before: Map<string, TrackedAlert>, newer: TrackedAlert[]): GroupChange {
  const firing = newer.filter((alert) => alert.status === 'firing');
  const resolved = newer.filter((alert) => alert.status === 'resolved' && before.get(alert.fingerprint)?.status === 'firing');
  return { firing, resolved };
}

/** Firing first, then oldest first, then fingerprint: stable, so rendering is deterministic. */
export function byDisplayOrder(a: TrackedAlert, b: TrackedAlert): number {
  if (a.status !== b.status) return a.status === 'firing' ? -1 : 1;
  const byStart = Date.parse(a.startsAt) - Date.parse(b.startsAt);
  if (byStart !== 0) return byStart;
  return a.fingerprint < b.fingerprint ? -1 : a.fingerprint > b.fingerprint ? 1 : 0;
}
