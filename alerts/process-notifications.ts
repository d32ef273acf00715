import type { Logger } from '../src/log.ts';
import type { Redactor } from '../src/redact-secrets.ts';
import type { AsyncEngine, StoredNotification } from '../src/state/store.ts';
import { hasChanges, type TrackedAlert } from './group-state.ts';
import { mergeNotification } from './merge-group.ts';
import { renderChangeReply } from './render.ts';
import { routeChannel, syntheticChannel, type CompiledRoute } from './route-channel.ts';

export interface ProcessorDeps {
  /** The engine: the fold runs where the connection lives (a named transaction, store-transactions.ts). */
  store: AsyncEngine;
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

/**
 * Fold accepted notifications (the inbox) into group state and queue what Slack must show: at
 * most `limit`, applied and removed from the inbox in one transaction, so a crash at any point
 * neither loses a notification nor applies it twice. One transaction per batch rather than per
 * notification: each commit is an fsync (synchronous=FULL), and under a storm one per
 * notification was a quarter of Lookout's CPU time. Bounded so one call never holds the
 * connection long; the caller asks again while `more` is set.
 * @returns how many notifications changed something Slack will show, and whether more wait.
 */
export function foldNotificationBatch(deps: ProcessorDeps, limit: number): Promise<{ changed: number; more: boolean }> {
  // 0 would fold nothing and answer `more` for ever.
  if (!Number.isInteger(limit) || limit < 1) return Promise.reject(new RangeError(`foldInbox: the limit must be a whole number of at least 1, not ${limit}`));
  return deps.store.transaction(async () => {
    const batch = await deps.store.pendingNotifications(limit);
    // In order, one at a time: each notification merges into the group as the previous one left it.
    let changed = 0;
    for (const notification of batch) if (await apply(deps, notification)) changed += 1;
    return { changed, more: batch.length === limit };
  });
}

async function apply({ store, routes, defaultChannel, log, enrichment, redactor }: ProcessorDeps, { id, payload, receivedAt }: StoredNotification): Promise<boolean> {
  await store.deleteNotification(id);
  const latest = await store.latestGroup(payload.groupKey);
  const result = mergeNotification(latest?.state, payload);
  const groupLog = log.child({ groupKey: payload.groupKey, receiver: payload.receiver });
  if (!result.changed) {
    groupLog.debug('notification repeated what the group message shows; nothing to do');
    return false;
  }
  if (result.newEpisode || latest === undefined) {
    const channel = syntheticChannel(payload.commonLabels) ?? routeChannel(payload.commonLabels, routes, defaultChannel);
    const groupId = await store.addGroup(payload.groupKey, channel, result.state, receivedAt);
    if (enrichment) await queueEnrichment(store, groupId, result.change.firing, receivedAt + enrichment.budgetMs);
    groupLog.info({ channel, alerts: result.state.alerts.length }, 'new alert group');
    return true;
  }
  await store.updateGroupState(latest.id, result.state, receivedAt);
  // Only the first post waits for enrichment; for a change the edit goes at once, enrichment follows.
  if (enrichment) await queueEnrichment(store, latest.id, result.change.firing, null);
  // Before the first post there is nothing to reply under: the post itself shows the change.
  if (latest.postedVersion > 0 && hasChanges(result.change)) await store.addReply(latest.id, renderChangeReply(result.state, result.change, redactor), receivedAt);
  groupLog.info({ firing: result.change.firing.length, resolved: result.change.resolved.length }, 'alert group changed');
  return true;
}

/** New or changed firing alerts get (re-)enriched; resolved ones never are. */
async function queueEnrichment(store: AsyncEngine, groupId: number, firing: readonly TrackedAlert[], holdFirstPostUntil: number | null): Promise<void> {
  if (firing.length === 0) return;
  await store.requestEnrichment(groupId, Object.fromEntries(firing.map((alert) => [alert.fingerprint, alert.startsAt])), holdFirstPostUntil);
}
