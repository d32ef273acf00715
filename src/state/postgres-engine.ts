import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { isFiring, type GroupState } from '../../alerts/group-state.ts';
import type { AlertmanagerPayload } from '../../alerts/payload.ts';
import { byId, DETAILS, MESSAGES, NOTICES, parsePending, REPLIES, toFiringGroup, toPendingInteraction, type DetailRow, type GroupRow, type Lane, type NoticeRow, type PendingRow, type ReplyRow } from './store-rows.ts';
import * as rows from './store-rows.ts';
import type {
  AlertMessage,
  AsyncEngine,
  DeliveryAttempts,
  DetailRecord,
  EnrichmentUpdate,
  EnrichmentWork,
  FiringGroup,
  GroupRecord,
  Lease,
  NoticeRecord,
  OutboxDepth,
  PendingEnrichment,
  PendingInteraction,
  ReplyRecord,
  StoredNotification,
} from './store.ts';

/*
 * The store's engine on PostgreSQL (issue 16): every StoreEngine method with the meaning of the
 * SQLite reference (sqlite-store.ts), answered over a connection pool.
 *
 * Transactions are SERIALIZABLE: the named transactions read, decide and write (is this group
 * still firing? was this Slack delivery seen?), and with several replicas doing that at once only
 * serializable isolation makes the outcome one that some order of them would have produced. The
 * price is that PostgreSQL may cancel one of two conflicting transactions (SQLSTATE 40001, or a
 * deadlock, 40P01): transaction(fn) then rolls back and runs fn again, a bounded number of times.
 * Every engine call fn makes goes to fn's connection (found through AsyncLocalStorage, so the
 * named transactions need not pass a client around); calls outside a transaction take any pooled
 * connection and run as single statements. Methods that need several statements join the
 * caller's transaction, or run in one of their own.
 *
 * Unlike SQLite, a statement that fails inside a transaction aborts it: whatever fn does after
 * catching such an error fails too (25P02), and the transaction rolls back as a whole.
 */

/** SQLSTATEs after which running the whole transaction again can succeed. */
const RETRYABLE = new Set(['40001', '40P01']);
/** Runs of a transaction that keeps being cancelled by conflicts before its error is rethrown. */
const MAX_ATTEMPTS = 8;

export interface PostgresEngineOptions {
  pool: pg.Pool;
  /** Told of every statement or connection that failed, e.g. to notice the database going away. */
  onError?: (error: unknown) => void;
  /** Told of each conflict that makes a transaction run again (for a metric or a test). */
  onRetry?: (error: unknown, attempt: number) => void;
}

interface TransactionScope {
  client: pg.PoolClient;
  savepoints: number;
  /** The transaction has ended and its client gone back to the pool. */
  ended: boolean;
}

/** Where the group's message lives (its thread's channel), NULL while there is no message: computed on a groups row. */
const PARENT_CHANNEL = 'CASE WHEN message_ts IS NULL THEN NULL ELSE COALESCE(message_channel, channel) END';

/**
 * A detail message or reply is delivered in the thread of its group's message, once it exists:
 * `placed` (a query yielding the group's id and parent_channel) moves them there. One statement,
 * so a change of where the message lives and its threads' move land together.
 */
function placeThreads(placed: string): string {
  return `WITH placed AS (${placed}),
    details_placed AS (
      UPDATE details SET parent_channel = placed.parent_channel FROM placed
      WHERE details.group_id = placed.id AND details.parent_channel IS DISTINCT FROM placed.parent_channel)
    UPDATE replies SET parent_channel = placed.parent_channel FROM placed
    WHERE replies.group_id = placed.id AND replies.parent_channel IS DISTINCT FROM placed.parent_channel`;
}

/** Places the threads of group $1 where its message lives now. */
const PLACE_THREADS = placeThreads(`SELECT id, ${PARENT_CHANNEL} AS parent_channel FROM groups WHERE id = $1`);

/**
 * For each channel of a lane, its first due row, in one statement: a recursive walk over the
 * lane's index finds the channels (one probe a channel, however many rows each holds), and a
 * LATERAL subquery takes each channel's first row in delivery order from the same index. A pass
 * of the outbox so costs O(channels) whatever the backlog, and one round trip.
 */
function firstDuePerChannel(lane: { table: string; channel: string; unsent: string }, firstRow: string): string {
  const { table, channel, unsent } = lane;
  return `WITH RECURSIVE channels (channel) AS (
      (SELECT ${channel} FROM ${table} WHERE ${unsent} ORDER BY ${channel} LIMIT 1)
      UNION ALL
      SELECT (SELECT ${channel} FROM ${table} WHERE ${unsent} AND ${channel} > channels.channel ORDER BY ${channel} LIMIT 1)
      FROM channels WHERE channels.channel IS NOT NULL)
    SELECT next_row.* FROM channels CROSS JOIN LATERAL (${firstRow}) next_row`;
}

/** The outbox's per-pass reads ($1 = now), exported so a test can check their plans walk the indexes. */
export const OUTBOX_READS = {
  /** Per channel, the group message to deliver next: due, not held for enrichment, first posts before edits, oldest first. */
  messages: firstDuePerChannel(
    { table: 'groups', channel: 'channel', unsent: 'version > posted_version' },
    `SELECT g.* FROM groups g
     WHERE g.version > g.posted_version AND g.channel = channels.channel AND g.next_attempt_at <= $1
       AND (g.message_ts IS NOT NULL OR g.enrich_until IS NULL OR g.enrich_until <= $1)
     ORDER BY (g.message_ts IS NOT NULL), g.id LIMIT 1`,
  ),
  /** Per channel, the detail message to deliver next: due, first posts before edits, oldest group first. */
  details: firstDuePerChannel(
    { table: 'details', channel: 'parent_channel', unsent: 'version > posted_version AND parent_channel IS NOT NULL' },
    `SELECT d.*, g.group_key, d.parent_channel AS channel, g.message_ts AS parent_ts, g.state, g.enrichment
     FROM details d JOIN groups g ON g.id = d.group_id
     WHERE d.version > d.posted_version AND d.parent_channel IS NOT NULL AND d.parent_channel = channels.channel AND d.next_attempt_at <= $1
     ORDER BY (d.message_ts IS NOT NULL), d.group_id LIMIT 1`,
  ),
  /** Per channel, the oldest due reply whose parent message exists. */
  replies: firstDuePerChannel(
    { table: 'replies', channel: 'parent_channel', unsent: 'parent_channel IS NOT NULL' },
    `SELECT r.*, r.parent_channel AS channel, g.message_ts FROM replies r JOIN groups g ON g.id = r.group_id
     WHERE r.parent_channel IS NOT NULL AND r.parent_channel = channels.channel AND r.next_attempt_at <= $1
     ORDER BY r.id LIMIT 1`,
  ),
  /** Per channel, the oldest due notice. */
  notices: firstDuePerChannel(
    { table: 'notices', channel: 'channel', unsent: 'TRUE' },
    'SELECT n.* FROM notices n WHERE n.channel = channels.channel AND n.next_attempt_at <= $1 ORDER BY n.id LIMIT 1',
  ),
  /**
   * When anything becomes due: each lane's earliest is the first entry of its own partial index
   * (a held first post is due when its hold ends, so held ones have their own). LEAST skips NULLs.
   */
  nextDue: `SELECT LEAST(
      (SELECT next_attempt_at FROM groups
       WHERE version > posted_version AND (message_ts IS NOT NULL OR enrich_until IS NULL OR enrich_until <= next_attempt_at)
       ORDER BY next_attempt_at LIMIT 1),
      (SELECT enrich_until FROM groups
       WHERE version > posted_version AND message_ts IS NULL AND enrich_until > next_attempt_at ORDER BY enrich_until LIMIT 1),
      (SELECT next_attempt_at FROM details WHERE version > posted_version AND parent_channel IS NOT NULL ORDER BY next_attempt_at LIMIT 1),
      (SELECT next_attempt_at FROM replies WHERE parent_channel IS NOT NULL ORDER BY next_attempt_at LIMIT 1),
      (SELECT next_attempt_at FROM notices ORDER BY next_attempt_at LIMIT 1)) AS due`,
} as const;

/*
 * PostgreSQL's text cannot hold NUL (U+0000), which SQLite's can, and some of what Lookout stores
 * comes from alerts: a group key made of label values, a thread reply naming an alert, an audit
 * line of a typed command. Those columns hold their text with NUL written as \0 and a backslash as
 * \\ (JSON columns need nothing: JSON escapes NUL itself). Without this one NUL in a label would
 * fail every fold of the inbox batch that holds it, for ever.
 */
function encodeText(text: string): string {
  return text.replaceAll('\\', '\\\\').replaceAll('\0', '\\0');
}
function decodeText(stored: string): string {
  return stored.replace(/\\([\\0])/g, (_escape, char: string) => (char === '0' ? '\0' : '\\'));
}
const toGroup = (row: GroupRow): GroupRecord => rows.toGroup({ ...row, group_key: decodeText(row.group_key) });
const toDetail = (row: DetailRow): DetailRecord => rows.toDetail({ ...row, group_key: decodeText(row.group_key) });
const toReply = (row: ReplyRow): ReplyRecord => rows.toReply({ ...row, text: decodeText(row.text) });
const toNotice = (row: NoticeRow): NoticeRecord => rows.toNotice({ ...row, text: decodeText(row.text) });

export class PostgresEngine implements AsyncEngine {
  private readonly pool: pg.Pool;
  private readonly scope = new AsyncLocalStorage<TransactionScope>();
  private readonly onError: (error: unknown) => void;
  private readonly onRetry: (error: unknown, attempt: number) => void;

  constructor(options: PostgresEngineOptions) {
    this.pool = options.pool;
    this.onError = options.onError ?? (() => undefined);
    this.onRetry = options.onRetry ?? (() => undefined);
  }

  /**
   * Runs fn in one serializable transaction, again when a conflict cancels it. With `lockKey`, fn
   * runs alone among all transactions given that key, on every replica: the key's advisory lock is
   * taken before the transaction starts, so the waiter's snapshot already holds what the holder
   * committed (a pg_advisory_xact_lock inside the transaction would come after its snapshot, and
   * the waiter would still fail on what it cannot see once).
   */
  async transaction<T>(fn: () => Promise<T>, lockKey?: number): Promise<T> {
    const current = this.openScope();
    if (current !== undefined) return this.savepoint(current, fn);
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.attempt(fn, lockKey);
      } catch (error) {
        if (!RETRYABLE.has(sqlState(error) ?? '') || attempt >= MAX_ATTEMPTS) throw error;
        this.onRetry(error, attempt);
        // Jittered and growing a little, so the transactions that collided do not collide again.
        await sleep(Math.random() * 5 * 2 ** Math.min(attempt, 5));
      }
    }
  }

  private async attempt<T>(fn: () => Promise<T>, lockKey: number | undefined): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      this.onError(error);
      throw error;
    }
    // A checked-out connection that dies between statements emits 'error': unheard, it would end the process.
    let broken: Error | undefined;
    const onConnectionError = (error: Error): void => {
      broken = error;
      this.onError(error);
    };
    client.on('error', onConnectionError);
    try {
      if (lockKey !== undefined) {
        try {
          await this.on(client, `SELECT pg_advisory_lock(${Math.trunc(lockKey)})`);
        } catch (error) {
          // An answer the client stopped waiting for (query_timeout) may still be a grant: this
          // session would keep the lock, pooled, and stop every other fold. It is ended instead.
          broken ??= error as Error;
          throw error;
        }
      }
      try {
        await this.on(client, 'BEGIN ISOLATION LEVEL SERIALIZABLE');
        const scope: TransactionScope = { client, savepoints: 0, ended: false };
        try {
          const result = await this.scope.run(scope, fn);
          await this.on(client, 'COMMIT');
          return result;
        } finally {
          scope.ended = true;
        }
      } catch (error) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackError) {
          // The connection is gone or unusable: it must not go back to the pool.
          broken ??= rollbackError as Error;
        }
        throw error;
      } finally {
        if (lockKey !== undefined && broken === undefined) {
          // A pooled session must not keep the lock: if the unlock fails, the session is ended (and the lock with it).
          await client.query(`SELECT pg_advisory_unlock(${Math.trunc(lockKey)})`).catch((error: unknown) => {
            broken ??= error as Error;
          });
        }
      }
    } finally {
      client.removeListener('error', onConnectionError);
      client.release(broken);
    }
  }

  private async savepoint<T>(scope: TransactionScope, fn: () => Promise<T>): Promise<T> {
    const name = `nested_${++scope.savepoints}`;
    await this.on(scope.client, `SAVEPOINT ${name}`);
    try {
      const result = await fn();
      await this.on(scope.client, `RELEASE SAVEPOINT ${name}`);
      return result;
    } catch (error) {
      // Undo fn's writes only; a conflict (40001) has doomed the whole transaction, which the outermost run repeats.
      await scope.client.query(`ROLLBACK TO SAVEPOINT ${name}`).catch(() => undefined);
      throw error;
    }
  }

  /**
   * The transaction the caller runs in, if any. Work started inside one outlives it with its
   * context: a timer set there (the store health's probe, set by the failure that ended it), and
   * all that timer starts (the inbox's fold woken at recovery). Such work runs on its own, not on
   * a client that went back to the pool (another transaction's, or a closed one).
   */
  private openScope(): TransactionScope | undefined {
    const scope = this.scope.getStore();
    return scope?.ended === false ? scope : undefined;
  }

  /** fn inside the caller's transaction, or in one of its own: for methods that need several statements. */
  private atomically<T>(fn: () => Promise<T>): Promise<T> {
    return this.openScope() === undefined ? this.transaction(fn) : fn();
  }

  /**
   * NOTIFY `channel` with `payload` (postgres-change-listener.ts): inside a transaction it is
   * delivered when that commits, and not at all if it rolls back.
   */
  async announce(channel: string, payload: string): Promise<void> {
    await this.query('SELECT pg_notify($1, $2)', [channel, payload]);
  }

  async addNotification(payload: AlertmanagerPayload, receivedAt: number): Promise<number> {
    const [row] = await this.query<{ id: number }>('INSERT INTO notifications (received_at, payload) VALUES ($1, $2) RETURNING id', [receivedAt, JSON.stringify(payload)]);
    return row!.id;
  }

  async pendingNotifications(limit: number): Promise<StoredNotification[]> {
    const rows = await this.query<{ id: number; received_at: number; payload: string }>('SELECT id, received_at, payload FROM notifications ORDER BY id LIMIT $1', [limit]);
    return rows.map((row) => ({ id: row.id, receivedAt: row.received_at, payload: JSON.parse(row.payload) as AlertmanagerPayload }));
  }

  async deleteNotification(id: number): Promise<void> {
    await this.query('DELETE FROM notifications WHERE id = $1', [id]);
  }

  async quarantineNotification(id: number, error: string, at: number): Promise<number | undefined> {
    // One statement, so the move is atomic outside a transaction too.
    const [row] = await this.query<{ id: number }>(
      `WITH moved AS (DELETE FROM notifications WHERE id = $1 RETURNING id, received_at, payload)
       INSERT INTO quarantined_notifications (notification_id, received_at, payload, error, quarantined_at)
       SELECT id, received_at, payload, $2, $3 FROM moved RETURNING id`,
      [id, error, at],
    );
    return row?.id;
  }

  async quarantinedNotifications(): Promise<{ count: number; oldestReceivedAt: number | null }> {
    const [row] = await this.query<{ count: number; oldest: number | null }>('SELECT COUNT(*) AS count, MIN(received_at) AS oldest FROM quarantined_notifications');
    return { count: row!.count, oldestReceivedAt: row!.oldest };
  }

  async latestGroup(groupKey: string): Promise<GroupRecord | undefined> {
    const [row] = await this.query<GroupRow>('SELECT * FROM groups WHERE group_key = $1 ORDER BY id DESC LIMIT 1', [encodeText(groupKey)]);
    return row && toGroup(row);
  }

  async addGroup(groupKey: string, channel: string, state: GroupState, changedAt: number): Promise<number> {
    const [row] = await this.query<{ id: number }>(
      'INSERT INTO groups (group_key, channel, state, version, changed_at, resolved_at) VALUES ($1, $2, $3, 1, $4, $5) RETURNING id',
      [encodeText(groupKey), channel, JSON.stringify(state), changedAt, isFiring(state) ? null : changedAt],
    );
    return row!.id;
  }

  async updateGroupState(id: number, state: GroupState, changedAt: number): Promise<void> {
    // resolved_at keeps the first time the episode was all resolved: a repeated "resolved" does not move it.
    await this.query(
      `UPDATE groups SET state = $2, version = version + 1, changed_at = $3,
       resolved_at = CASE WHEN $4::boolean THEN NULL ELSE COALESCE(resolved_at, $3) END WHERE id = $1`,
      [id, JSON.stringify(state), changedAt, isFiring(state)],
    );
  }

  async addReply(groupId: number, text: string, createdAt: number): Promise<void> {
    // Placed in its thread as it is written: the group's message is where it lives now, or nowhere yet.
    await this.query(
      `INSERT INTO replies (group_id, text, created_at, parent_channel)
       VALUES ($1, $2, $3, (SELECT ${PARENT_CHANNEL} FROM groups WHERE id = $1))`,
      [groupId, encodeText(text), createdAt],
    );
  }

  async nextMessagePerChannel(now: number): Promise<GroupRecord[]> {
    return (await this.query<GroupRow>(OUTBOX_READS.messages, [now])).map(toGroup).sort(byId);
  }

  async nextReplyPerChannel(now: number): Promise<ReplyRecord[]> {
    return (await this.query<ReplyRow>(OUTBOX_READS.replies, [now])).map(toReply).sort(byId);
  }

  async nextDueAt(): Promise<number | null> {
    const [row] = await this.query<{ due: number | null }>(OUTBOX_READS.nextDue);
    return row?.due ?? null;
  }

  async markMessageDelivered(id: number, messageTs: string, version: number): Promise<void> {
    await this.query(placeThreads(`${settle(MESSAGES, true)} RETURNING id, ${PARENT_CHANNEL} AS parent_channel`), [id, version, messageTs]);
  }

  async startMessagePost(id: number, channel: string, at: number): Promise<void> {
    await this.query('UPDATE groups SET post_started_at = $2, post_channel = $3 WHERE id = $1', [id, at, channel]);
  }

  async clearMessagePost(id: number): Promise<void> {
    await this.query('UPDATE groups SET post_started_at = NULL, post_channel = NULL WHERE id = $1', [id]);
  }

  async recordMessagePosted(id: number, messageTs: string, channel: string, version: number): Promise<void> {
    await this.atomically(async () => {
      await this.query(
        `UPDATE groups SET message_ts = $2, message_channel = CASE WHEN channel = $3 THEN NULL ELSE $3 END,
         post_started_at = NULL, post_channel = NULL, posted_version = $4, attempts = 0, next_attempt_at = 0, failing_since = NULL,
         enrich_until = NULL
         WHERE id = $1`,
        [id, messageTs, channel, version],
      );
      // A detail message in an earlier message's thread (the copy in the default channel) is posted again under this one.
      await this.query('UPDATE details SET message_ts = NULL, posted_version = 0, post_started_at = NULL WHERE group_id = $1 AND message_ts IS NOT NULL', [id]);
      await this.query(PLACE_THREADS, [id]);
    });
  }

  async groupsAwayFromChannel(channel: string, limit: number): Promise<GroupRecord[]> {
    return (await this.query<GroupRow>('SELECT * FROM groups WHERE message_channel IS NOT NULL AND channel = $1 ORDER BY id LIMIT $2', [channel, limit])).map(toGroup);
  }

  async channelsWithMessagesAway(): Promise<string[]> {
    return (await this.query<{ channel: string }>('SELECT DISTINCT channel FROM groups WHERE message_channel IS NOT NULL')).map((row) => row.channel);
  }

  async abandonMessage(id: number, version: number): Promise<void> {
    await this.query(settle(MESSAGES, false), [id, version]);
  }

  async forgetMessage(id: number): Promise<void> {
    await this.atomically(async () => {
      await this.query('UPDATE groups SET message_ts = NULL, message_channel = NULL WHERE id = $1', [id]);
      // The detail message was in the deleted message's thread: post it again under the new one.
      await this.query('UPDATE details SET message_ts = NULL, posted_version = 0 WHERE group_id = $1', [id]);
      await this.query(PLACE_THREADS, [id]);
    });
  }

  async deferMessage(id: number, delivery: DeliveryAttempts): Promise<void> {
    await this.defer(MESSAGES, id, delivery);
  }

  async removeReply(id: number): Promise<void> {
    await this.query('DELETE FROM replies WHERE id = $1', [id]);
  }

  async deferReply(id: number, delivery: DeliveryAttempts): Promise<void> {
    await this.defer(REPLIES, id, delivery);
  }

  async outboxDepth(): Promise<OutboxDepth> {
    // Not cached as SQLite's is: other replicas change the outbox too. The counts walk partial indexes.
    const [row] = await this.query<OutboxDepth>(
      `SELECT (SELECT COUNT(*) FROM groups WHERE version > posted_version) AS messages,
              (SELECT COUNT(*) FROM replies) AS replies,
              (SELECT MIN(changed_at) FROM groups WHERE version > posted_version) AS "oldestMessageAt"`,
    );
    return row!;
  }

  async groupByMessage(channel: string, messageTs: string): Promise<GroupRecord | undefined> {
    // Where the message lives: its own channel, or the default channel it fell back to.
    const [row] = await this.query<GroupRow>('SELECT * FROM groups WHERE message_ts = $1 AND COALESCE(message_channel, channel) = $2 ORDER BY id DESC LIMIT 1', [
      messageTs,
      channel,
    ]);
    return row && toGroup(row);
  }

  async addNotice(channel: string, text: string, createdAt: number): Promise<number> {
    const [row] = await this.query<{ id: number }>('INSERT INTO notices (channel, text, created_at) VALUES ($1, $2, $3) RETURNING id', [channel, encodeText(text), createdAt]);
    return row!.id;
  }

  async nextNoticePerChannel(now: number): Promise<NoticeRecord[]> {
    return (await this.query<NoticeRow>(OUTBOX_READS.notices, [now])).map(toNotice).sort(byId);
  }

  async removeNotice(id: number): Promise<void> {
    await this.query('DELETE FROM notices WHERE id = $1', [id]);
  }

  async deferNotice(id: number, delivery: DeliveryAttempts): Promise<void> {
    await this.defer(NOTICES, id, delivery);
  }

  async pendingNotices(): Promise<number> {
    const [row] = await this.query<{ count: number }>('SELECT COUNT(*) AS count FROM notices');
    return row!.count;
  }

  async startNoticePost(id: number, channel: string, at: number): Promise<void> {
    await this.query('UPDATE notices SET post_started_at = $2, post_channel = $3 WHERE id = $1', [id, at, channel]);
  }

  async clearNoticePost(id: number): Promise<void> {
    await this.query('UPDATE notices SET post_started_at = NULL, post_channel = NULL WHERE id = $1', [id]);
  }

  async reportedCertificates(): Promise<string[]> {
    return (await this.query<{ certificate: string }>('SELECT certificate FROM certificate_reports')).map((row) => row.certificate);
  }

  async recordCertificatesReported(certificates: readonly string[], at: number): Promise<void> {
    // One statement however long the digest: the keys travel as one array parameter.
    if (certificates.length === 0) return;
    await this.query('INSERT INTO certificate_reports (certificate, reported_at) SELECT unnest($1::text[]), $2', [certificates, at]);
  }

  async forgetCertificateReports(before: number): Promise<void> {
    await this.query('DELETE FROM certificate_reports WHERE reported_at <= $1', [before]);
  }

  async slackDeliverySeen(key: string): Promise<boolean> {
    return (await this.query('SELECT 1 FROM slack_deliveries WHERE delivery_key = $1', [key])).length > 0;
  }

  async recordSlackDelivery(key: string, at: number): Promise<void> {
    await this.query('INSERT INTO slack_deliveries (delivery_key, received_at) VALUES ($1, $2)', [key, at]);
  }

  async forgetSlackDeliveries(before: number): Promise<void> {
    await this.query('DELETE FROM slack_deliveries WHERE received_at < $1', [before]);
  }

  async claimLeases(names: readonly string[], owner: string, now: number, ttlMs: number): Promise<string[]> {
    if (names.length === 0) return [];
    // One statement for all names (atomic; ON CONFLICT settles two replicas inserting the same new
    // lease). Distinct and sorted: a name twice would be "updated twice" (an error), and two
    // replicas claiming overlapping sets lock the rows in the same order, so they cannot deadlock.
    const rows = await this.query<{ name: string }>(
      `INSERT INTO leases (name, owner, expires_at) SELECT name, $2, $3 FROM unnest($1::text[]) AS claimed (name) ORDER BY name
       ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
       WHERE leases.owner = excluded.owner OR leases.expires_at <= $4
       RETURNING name`,
      [[...new Set(names)].sort(), owner, now + ttlMs, now],
    );
    return rows.map((row) => row.name);
  }

  async releaseLeases(owner: string, names?: readonly string[]): Promise<void> {
    if (names === undefined) await this.query('DELETE FROM leases WHERE owner = $1', [owner]);
    else await this.query('DELETE FROM leases WHERE owner = $1 AND name = ANY ($2::text[])', [owner, names]);
  }

  async leaseHolder(name: string, now: number): Promise<Lease | undefined> {
    const [row] = await this.query<{ owner: string; expires_at: number }>('SELECT owner, expires_at FROM leases WHERE name = $1 AND expires_at > $2', [name, now]);
    return row === undefined ? undefined : { name, owner: row.owner, expiresAt: row.expires_at };
  }

  async addPendingInteraction(entry: PendingInteraction, now: number, maxEntries: number): Promise<void> {
    await this.atomically(async () => {
      await this.query('DELETE FROM pending_interactions WHERE expires_at <= $1', [now]);
      // Keep the newest maxEntries - 1, so with this one there are at most maxEntries.
      await this.query('DELETE FROM pending_interactions WHERE seq <= (SELECT seq FROM pending_interactions ORDER BY seq DESC LIMIT 1 OFFSET $1)', [Math.max(0, maxEntries - 1)]);
      await this.query('INSERT INTO pending_interactions (id, kind, owner, value, expires_at) VALUES ($1, $2, $3, $4, $5)', [
        entry.id,
        entry.kind,
        entry.owner,
        JSON.stringify(entry.value),
        entry.expiresAt,
      ]);
    });
  }

  async peekPendingInteraction(id: string, kind: string, now: number): Promise<PendingInteraction | undefined> {
    const [row] = await this.query<PendingRow>('SELECT id, kind, owner, value, expires_at FROM pending_interactions WHERE id = $1 AND kind = $2 AND expires_at > $3', [id, kind, now]);
    return row === undefined ? undefined : toPendingInteraction(row);
  }

  async claimPendingInteraction(id: string, kind: string, owner: string, now: number): Promise<PendingInteraction | undefined> {
    // One DELETE … RETURNING: of two replicas claiming at once, the second finds the row gone.
    const [row] = await this.query<PendingRow>(
      'DELETE FROM pending_interactions WHERE id = $1 AND kind = $2 AND owner = $3 AND expires_at > $4 RETURNING id, kind, owner, value, expires_at',
      [id, kind, owner, now],
    );
    return row === undefined ? undefined : toPendingInteraction(row);
  }

  async alertMessages(fingerprints: readonly string[]): Promise<AlertMessage[]> {
    if (fingerprints.length === 0) return [];
    const wanted = new Set(fingerprints);
    const found: AlertMessage[] = [];
    // Firing episodes only, matched in JS like the SQLite store (the same code reads both).
    const groups = (await this.query<GroupRow>('SELECT * FROM groups WHERE resolved_at IS NULL AND message_ts IS NOT NULL ORDER BY id DESC')).map(toGroup);
    for (const group of groups) {
      for (const alert of group.state.alerts) {
        if (alert.status !== 'firing' || !wanted.has(alert.fingerprint)) continue;
        wanted.delete(alert.fingerprint);
        found.push({ fingerprint: alert.fingerprint, channel: group.messageChannel ?? group.channel, messageTs: group.messageTs! });
      }
    }
    return found;
  }

  async groupById(id: number): Promise<GroupRecord | undefined> {
    const [row] = await this.query<GroupRow>('SELECT * FROM groups WHERE id = $1', [id]);
    return row && toGroup(row);
  }

  async silencedGroups(): Promise<GroupRecord[]> {
    return (await this.firingEpisodes()).filter((group) => group.state.silenced !== undefined);
  }

  async firingGroups(): Promise<FiringGroup[]> {
    return (await this.firingEpisodes())
      .map(toFiringGroup)
      .filter((group) => group !== undefined);
  }

  async requestEnrichment(groupId: number, alerts: PendingEnrichment, holdFirstPostUntil: number | null): Promise<void> {
    // Read-merge-write, as in the SQLite store; in one transaction, so two merges cannot lose one another.
    await this.atomically(async () => {
      const [row] = await this.query<{ enrich_pending: string | null }>('SELECT enrich_pending FROM groups WHERE id = $1', [groupId]);
      if (row === undefined) return;
      const pending = { ...parsePending(row.enrich_pending), ...alerts };
      await this.query(
        `UPDATE groups SET enrich_pending = $2,
         enrich_until = CASE WHEN message_ts IS NULL AND $3::bigint IS NOT NULL THEN $3::bigint ELSE enrich_until END WHERE id = $1`,
        [groupId, Object.keys(pending).length > 0 ? JSON.stringify(pending) : null, holdFirstPostUntil],
      );
    });
  }

  async groupsAwaitingEnrichment(limit: number): Promise<EnrichmentWork[]> {
    const rows = await this.query<GroupRow>('SELECT * FROM groups WHERE enrich_pending IS NOT NULL ORDER BY id LIMIT $1', [limit]);
    return rows.map((row) => ({ group: toGroup(row), pending: parsePending(row.enrich_pending) }));
  }

  async saveEnrichment(groupId: number, update: EnrichmentUpdate): Promise<void> {
    await this.atomically(async () => {
      const [row] = await this.query<{ enrich_pending: string | null }>('SELECT enrich_pending FROM groups WHERE id = $1', [groupId]);
      if (row === undefined) return;
      const pending = parsePending(row.enrich_pending);
      for (const [fingerprint, startsAt] of Object.entries(update.handled)) {
        if (pending[fingerprint] === startsAt) delete pending[fingerprint];
      }
      await this.query(
        `UPDATE groups SET enrichment = $2, enrich_pending = $3,
         enrich_until = CASE WHEN $4::boolean THEN NULL ELSE enrich_until END, version = version + $5 WHERE id = $1`,
        [groupId, JSON.stringify(update.enrichment), Object.keys(pending).length > 0 ? JSON.stringify(pending) : null, update.releaseFirstPost, update.messageChanged ? 1 : 0],
      );
      if (!update.detailChanged) return;
      // A new detail message goes where the group's message lives (its thread), or waits for it.
      await this.query(
        `INSERT INTO details (group_id, version, parent_channel) VALUES ($1, 1, (SELECT ${PARENT_CHANNEL} FROM groups WHERE id = $1))
         ON CONFLICT (group_id) DO UPDATE SET version = details.version + 1`,
        [groupId],
      );
    });
  }

  async nextDetailPerChannel(now: number): Promise<DetailRecord[]> {
    return (await this.query<DetailRow>(OUTBOX_READS.details, [now])).map(toDetail).sort(byId);
  }

  async markDetailDelivered(groupId: number, messageTs: string, version: number): Promise<void> {
    await this.query(settle(DETAILS, true, 'post_started_at = NULL, '), [groupId, version, messageTs]);
  }

  async startDetailPost(groupId: number, at: number): Promise<void> {
    await this.query('UPDATE details SET post_started_at = $2 WHERE group_id = $1', [groupId, at]);
  }

  async clearDetailPost(groupId: number): Promise<void> {
    await this.query('UPDATE details SET post_started_at = NULL WHERE group_id = $1', [groupId]);
  }

  async abandonDetail(groupId: number, version: number): Promise<void> {
    await this.query(settle(DETAILS, false), [groupId, version]);
  }

  async forgetDetail(groupId: number): Promise<void> {
    await this.query('UPDATE details SET message_ts = NULL WHERE group_id = $1', [groupId]);
  }

  async deferDetail(groupId: number, delivery: DeliveryAttempts): Promise<void> {
    await this.defer(DETAILS, groupId, delivery);
  }

  async pruneResolvedGroups(resolvedBefore: number, limit: number): Promise<number> {
    // Only episodes Slack is in sync with (or gave up on): one still waiting for its last edit stays.
    // The same ordered, limited selection three times in one transaction picks the same rows;
    // children first, as replies and details reference groups.
    const batch = `SELECT id FROM groups WHERE resolved_at IS NOT NULL AND resolved_at < $1 AND posted_version >= version
                   ORDER BY resolved_at, id LIMIT $2`;
    return this.atomically(async () => {
      await this.query(`DELETE FROM replies WHERE group_id IN (${batch})`, [resolvedBefore, limit]);
      await this.query(`DELETE FROM details WHERE group_id IN (${batch})`, [resolvedBefore, limit]);
      return (await this.query(`DELETE FROM groups WHERE id IN (${batch}) RETURNING id`, [resolvedBefore, limit])).length;
    });
  }

  async storedRows(): Promise<{ groups: number; replies: number; details: number; notifications: number; notices: number }> {
    const [row] = await this.query<{ groups: number; replies: number; details: number; notifications: number; notices: number }>(
      `SELECT (SELECT COUNT(*) FROM groups) AS groups, (SELECT COUNT(*) FROM replies) AS replies,
              (SELECT COUNT(*) FROM details) AS details, (SELECT COUNT(*) FROM notifications) AS notifications,
              (SELECT COUNT(*) FROM notices) AS notices`,
    );
    return row!;
  }

  /** Firing episodes, oldest first (the groups_firing index): their alerts are read in JS, like SQLite's. */
  private async firingEpisodes(): Promise<GroupRecord[]> {
    return (await this.query<GroupRow>('SELECT * FROM groups WHERE resolved_at IS NULL ORDER BY id')).map(toGroup);
  }

  /** A failed attempt: try again at `delivery.nextAttemptAt`. */
  private async defer(lane: Lane, id: number, delivery: DeliveryAttempts): Promise<void> {
    await this.query(`UPDATE ${lane.table} SET attempts = $2, next_attempt_at = $3, failing_since = $4 WHERE ${lane.key} = $1`, [
      id,
      delivery.attempts,
      delivery.nextAttemptAt,
      delivery.failingSince,
    ]);
  }

  /** One statement in the current transaction, or on any pooled connection. */
  private async query<R extends object = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<R[]> {
    const client = this.openScope()?.client ?? this.pool;
    try {
      return (await client.query<R>(sql, params)).rows;
    } catch (error) {
      this.onError(error);
      throw error;
    }
  }

  private async on(client: pg.PoolClient, sql: string): Promise<void> {
    try {
      await client.query(sql);
    } catch (error) {
      this.onError(error);
      throw error;
    }
  }
}

/**
 * A versioned row is done with version $2 (delivered with message_ts $3, or abandoned without):
 * posted_version never moves back, so settling an older version late cannot mark a newer one unsent.
 */
function settle(lane: Lane, delivered: boolean, alsoSet = ''): string {
  return `UPDATE ${lane.table} SET ${delivered ? 'message_ts = $3, ' : ''}${alsoSet}posted_version = GREATEST(posted_version, $2),
    attempts = 0, next_attempt_at = 0, failing_since = NULL WHERE ${lane.key} = $1`;
}

/** The SQLSTATE of a PostgreSQL error, if it is one. */
function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}
