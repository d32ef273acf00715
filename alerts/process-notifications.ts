import type { Logger } from '../src/log.ts';
import type { Redactor } from '../src/redact-secrets.ts';
import type { Store, StoredNotification } from '../src/state/store.ts';
import { hasChanges, type TrackedAlert } from './group-state.ts';
import { mergeNotification } from './merge-group.ts';
import { renderChangeReply } from './render.ts';
import { routeChannel, type CompiledRoute } from './route-channel.ts';

export interface ProcessorDeps {
  store: Store;
  routes: CompiledRoute[];
  defaultChannel: string;
  log: Logger;
  /**
   * Set when enrichment sources exist: firing alerts that are new or changed are queued for
   * enrichment, and a new group's first post waits for it at most `budgetMs` from receipt.
   */
  enrichment?: { budgetMs: number };
  /** Secrets in alert text are redacted in thread replies (the configured patterns; built-in and default ones without). */
  redactor?: Redactor;
}

/** Notifications folded per transaction; bounded so one pass never holds the database long. */
const BATCH = 100;

/**
 * Fold accepted notifications (the inbox) into group state and queue what Slack must show.
 * A batch is applied and removed from the inbox in one transaction, so a crash at any point
 * neither loses a notification nor applies it twice. One transaction per batch rather than per
 * notification: each commit is an fsync (synchronous=FULL) on the event loop, and under a storm
 * one per notification was a quarter of Lookout's CPU time and delayed webhook answers.
 * @returns how many notifications changed something Slack will show.
 */
export function processPendingNotifications(deps: ProcessorDeps): number {
  let changed = 0;
  for (;;) {
    const batch = deps.store.pendingNotifications(BATCH);
    if (batch.length > 0) {
      changed += deps.store.transaction(() => batch.filter((notification) => apply(deps, notification)).length);
    }
    if (batch.length < BATCH) return changed;
  }
}

function apply({ store, routes, defaultChannel, log, enrichment, redactor }: ProcessorDeps, { id, payload, receivedAt }: StoredNotification): boolean {
  store.deleteNotification(id);
  const latest = store.latestGroup(payload.groupKey);
  const result = mergeNotification(latest?.state, payload);
  const groupLog = log.child({ groupKey: payload.groupKey, receiver: payload.receiver });
  if (!result.changed) {
    groupLog.debug('notification repeated what the group message shows; nothing to do');
    return false;
  }
  if (result.newEpisode || latest === undefined) {
    const channel = routeChannel(payload.commonLabels, routes, defaultChannel);
    const groupId = store.addGroup(payload.groupKey, channel, result.state, receivedAt);
    if (enrichment) queueEnrichment(store, groupId, result.change.firing, receivedAt + enrichment.budgetMs);
    groupLog.info({ channel, alerts: result.state.alerts.length }, 'new alert group');
    return true;
  }
  store.updateGroupState(latest.id, result.state, receivedAt);
  // Only the first post waits for enrichment; for a change the edit goes at once, enrichment follows.
  if (enrichment) queueEnrichment(store, latest.id, result.change.firing, null);
  // Before the first post there is nothing to reply under: the post itself shows the change.
  if (latest.postedVersion > 0 && hasChanges(result.change)) store.addReply(latest.id, renderChangeReply(result.state, result.change, redactor), receivedAt);
  groupLog.info({ firing: result.change.firing.length, resolved: result.change.resolved.length }, 'alert group changed');
  return true;
}

/** New or changed firing alerts get (re-)enriched; resolved ones never are. */
function queueEnrichment(store: Store, groupId: number, firing: readonly TrackedAlert[], holdFirstPostUntil: number | null): void {
  if (firing.length === 0) return;
  store.requestEnrichment(groupId, Object.fromEntries(firing.map((alert) => [alert.fingerprint, alert.startsAt])), holdFirstPostUntil);
}
