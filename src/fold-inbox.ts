import type { Logger } from './log.ts';
import { connectionFailure, waitedForPool } from './state/postgres-connection.ts';
import { storageFailure } from './state/store-health.ts';
import type { Store } from './state/store.ts';

/**
 * Notifications per fold transaction (see foldNotificationBatch). The store's one connection runs
 * calls in turn, so a webhook's intake waits for the fold in front of it: beside a CPU hog (the
 * bench's `noisy`) folds of up to 100 took up to 41 ms, and that wait was the 32-in-flight answer
 * p99 (every request in flight at the time waited for it). 20 keep a fold to a few milliseconds;
 * the main thread asks again while more wait, and the webhooks queued meanwhile go first.
 */
export const FOLD_BATCH = 20;

export interface FoldInboxOptions {
  store: Store;
  log: Logger;
  /** Told of each notification set aside (for lookout_notifications_quarantined_total). */
  onQuarantined: () => void;
  now?: () => number;
  batch?: number;
}

/**
 * Folds everything in the inbox, a bounded batch per store call.
 *
 * A batch that fails while the store is healthy (ping() clear) failed on what it folded, not on
 * the store: its notifications are folded again one at a time, and one that fails on its own is
 * moved to quarantined_notifications, so it no longer stops every later alert. While the store
 * has a problem (disk full, database unreachable) nothing is quarantined: the error goes to the
 * caller, which retries with the notifications kept.
 * @returns how many notifications changed something to deliver.
 */
export async function foldInbox(options: FoldInboxOptions): Promise<number> {
  const { store, batch: limit = FOLD_BATCH } = options;
  let changed = 0;
  for (;;) {
    let batch: { changed: number; more: boolean };
    try {
      batch = await store.foldInbox(limit);
    } catch (error) {
      if (!aboutTheNotifications(store, error)) throw error;
      batch = await foldOneAtATime(options, limit);
    }
    changed += batch.changed;
    if (!batch.more) return changed;
  }
}

async function foldOneAtATime({ store, log, onQuarantined, now = Date.now }: FoldInboxOptions, limit: number): Promise<{ changed: number; more: boolean }> {
  let changed = 0;
  for (let folded = 0; folded < limit; folded += 1) {
    const [next] = await store.pendingNotifications(1);
    if (next === undefined) return { changed, more: false };
    try {
      changed += (await store.foldInbox(1)).changed;
    } catch (error) {
      if (!aboutTheNotifications(store, error)) throw error;
      // Only the message: the error of a fold names no secret, and its stack is of no use to an operator.
      const message = error instanceof Error ? error.message : String(error);
      // By id: another replica may have folded or quarantined it meanwhile (then nothing moves).
      const quarantineId = await store.quarantineNotification(next.id, message, now());
      if (quarantineId === undefined) continue;
      onQuarantined();
      log.error(
        { groupKey: next.payload.groupKey, notificationId: next.id, quarantineId, error: message },
        'an alert notification failed to fold on its own: it was moved to quarantined_notifications and the inbox goes on (docs/runbooks/lookout-notifications-quarantined.md says how to replay or drop it)',
      );
    }
  }
  return { changed, more: true };
}

/**
 * Whether a failed fold failed on what it folded rather than on the store: the store reports no
 * problem, and the error is not one that passes with time (a conflict, a timeout, a lock held by
 * another session, a busy database file, a wait for a pooled connection), which would quarantine
 * a notification that is fine.
 */
function aboutTheNotifications(store: Store, error: unknown): boolean {
  if (store.ping() !== undefined) return false;
  const { code, errcode } = (error ?? {}) as { code?: unknown; errcode?: unknown };
  // PostgreSQL SQLSTATE classes: 08 connection, 40 rollback (conflict), 53 resources, 55 object in use (lock), 57 operator intervention (timeout), 58 system.
  if (typeof code === 'string' && /^(08|40|53|55|57|58)[0-9A-Z]{3}$/.test(code)) return false;
  // Every pooled connection busy (a storm): no SQLSTATE, and the store is rightly not marked for it.
  if (waitedForPool(error)) return false;
  // SQLite: BUSY (5), LOCKED (6).
  if (typeof errcode === 'number' && [5, 6].includes(errcode & 0xff)) return false;
  // A storage or connection error is the store's problem even before ping() says so.
  return storageFailure(error) === undefined && connectionFailure(error) === undefined;
}
