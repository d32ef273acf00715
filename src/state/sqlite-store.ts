import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { pino } from 'pino';
import type { Logger } from '../log.ts';
import { quickCheck, quickCheckInWorker } from './quick-check.ts';
import { StoreHealth, StoreUnavailable, type StoreHealthOptions } from './store-health.ts';
import type { AlertmanagerPayload } from '../../alerts/payload.ts';
import { isFiring, type GroupState } from '../../alerts/group-state.ts';
import type { DetailRecord, EnrichmentUpdate, EnrichmentWork, PendingEnrichment } from './store.ts';
import type { AlertMessage, DeliveryAttempts, FiringGroup, GroupRecord, Lease, NoticeRecord, OutboxDepth, PendingInteraction, ReplyRecord, StoreEngine, StoredNotification } from './store.ts';
import { byId, DETAILS, MESSAGES, NOTICES, parsePending, REPLIES, toDetail, toFiringGroup, toGroup, toNotice, toPendingInteraction, toReply, type DetailRow, type GroupRow, type Lane, type NoticeRow, type PendingRow, type ReplyRow } from './store-rows.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS notifications (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  received_at INTEGER NOT NULL,
  payload TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS quarantined_notifications (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  notification_id INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  payload TEXT NOT NULL,
  error TEXT NOT NULL,
  quarantined_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS groups (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  group_key TEXT NOT NULL,
  channel TEXT NOT NULL,
  state TEXT NOT NULL,
  version INTEGER NOT NULL,
  posted_version INTEGER NOT NULL DEFAULT 0,
  message_ts TEXT,
  changed_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  failing_since INTEGER
);
CREATE INDEX IF NOT EXISTS groups_by_key ON groups (group_key, id);
CREATE TABLE IF NOT EXISTS replies (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  group_id INTEGER NOT NULL REFERENCES groups (id),
  text TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  failing_since INTEGER
);
CREATE INDEX IF NOT EXISTS replies_by_group ON replies (group_id, id);
CREATE INDEX IF NOT EXISTS groups_by_message ON groups (channel, message_ts);
CREATE TABLE IF NOT EXISTS notices (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  channel TEXT NOT NULL,
  text TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  failing_since INTEGER
);
`;

/*
 * Enrichment (added after the first release): columns on groups, added to an existing file by
 * ALTER TABLE ADD COLUMN (portable SQL), and the thread detail messages, one per group.
 */
const ENRICHMENT_COLUMNS: Record<string, string> = {
  /** JSON GroupEnrichment, keyed by alert fingerprint. */
  enrichment: 'TEXT',
  /** JSON fingerprint → startsAt of alerts still to enrich; NULL when none. */
  enrich_pending: 'TEXT',
  /** The first post waits for enrichment until then (ms); NULL when it need not wait. */
  enrich_until: 'INTEGER',
};
const ENRICHMENT_SCHEMA = `
CREATE INDEX IF NOT EXISTS groups_enrich_pending ON groups (id) WHERE enrich_pending IS NOT NULL;
CREATE TABLE IF NOT EXISTS details (
  group_id INTEGER PRIMARY KEY REFERENCES groups (id),
  message_ts TEXT,
  version INTEGER NOT NULL,
  posted_version INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  failing_since INTEGER
);
`;

/*
 * The outbox's columns (added after the first release, by ALTER TABLE like the enrichment ones):
 * where a message actually lives, and the durable intent to post that makes an unknown outcome
 * something to look up in Slack rather than post twice.
 */
const OUTBOX_GROUP_COLUMNS: Record<string, string> = {
  /** The channel the message lives in when it is not `channel` (the default channel's fallback). */
  message_channel: 'TEXT',
  /** A post started at (ms) with no recorded outcome yet; NULL when none. */
  post_started_at: 'INTEGER',
  /** Where that post went. */
  post_channel: 'TEXT',
};
const OUTBOX_DETAIL_COLUMNS: Record<string, string> = { post_started_at: 'INTEGER' };
const OUTBOX_SCHEMA = `
CREATE INDEX IF NOT EXISTS groups_away ON groups (channel, id) WHERE message_channel IS NOT NULL;
CREATE INDEX IF NOT EXISTS groups_by_ts ON groups (message_ts);
`;

/*
 * Retention (added with issue 9): when a group episode's last alert resolved, so resolved
 * episodes can be deleted after `retention.resolvedGroups` and the file stops growing forever.
 * NULL while any alert fires. Files from before get it filled in from each row's state once.
 */
const RETENTION_COLUMNS: Record<string, string> = { resolved_at: 'INTEGER' };
const RETENTION_SCHEMA = `
CREATE INDEX IF NOT EXISTS groups_resolved ON groups (resolved_at) WHERE resolved_at IS NOT NULL;
`;

/*
 * The outbox's per-pass reads (issue 11): each one an index walk that stops at its first row, so a
 * pass costs O(channels) whatever the backlog. Ranking every unsent group per channel and a MIN
 * over a CASE of every unsent group were half of Lookout's busy time under a backlog of thousands.
 * The reads name their index (INDEXED BY, see OUTBOX_READS): SQLite's planner preferred
 * groups_by_ts for `message_ts IS NULL` and sorted every row. Created on every start, so a file
 * from before gets them; groups_pending and details_pending, which only the old reads used, go.
 *
 * A thread detail message or reply is delivered in the channel its group's message lives in, once
 * that message exists: `parent_channel` keeps that channel on the row itself (NULL while there is
 * no message; see placeInThread), so the per-channel reads need no join to find it.
 */
const THREAD_COLUMNS: Record<string, string> = { parent_channel: 'TEXT' };
/** parent_channel from the group's row: where its message lives, NULL while it has none. */
const PARENT_CHANNEL = `(SELECT CASE WHEN g.message_ts IS NULL THEN NULL ELSE COALESCE(g.message_channel, g.channel) END FROM groups g WHERE g.id = group_id)`;
const BOUNDED_OUTBOX_SCHEMA = `
DROP INDEX IF EXISTS groups_pending;
DROP INDEX IF EXISTS details_pending;
-- Deliverable details and replies per channel in delivery order, and by when they are due.
CREATE INDEX IF NOT EXISTS details_outbox ON details (parent_channel, (message_ts IS NOT NULL), group_id)
  WHERE version > posted_version AND parent_channel IS NOT NULL;
CREATE INDEX IF NOT EXISTS details_due ON details (next_attempt_at) WHERE version > posted_version AND parent_channel IS NOT NULL;
CREATE INDEX IF NOT EXISTS replies_outbox ON replies (parent_channel, id) WHERE parent_channel IS NOT NULL;
CREATE INDEX IF NOT EXISTS replies_due ON replies (next_attempt_at) WHERE parent_channel IS NOT NULL;
-- Unsent group messages per channel in delivery order: first posts before edits, oldest first.
CREATE INDEX IF NOT EXISTS groups_outbox ON groups (channel, (message_ts IS NOT NULL), id) WHERE version > posted_version;
-- What outboxDepth() counts, and the oldest of it by an index walk of one entry: without it the
-- MIN read every waiting row, 2.6 ms for 6,000 of them, every time the cached depth went stale.
CREATE INDEX IF NOT EXISTS groups_waiting ON groups (changed_at) WHERE version > posted_version;
-- Unsent group messages not held for enrichment, by when they are due; and the held ones, by when the hold ends.
CREATE INDEX IF NOT EXISTS groups_due ON groups (next_attempt_at)
  WHERE version > posted_version AND (message_ts IS NOT NULL OR enrich_until IS NULL OR enrich_until <= next_attempt_at);
CREATE INDEX IF NOT EXISTS groups_held ON groups (enrich_until)
  WHERE version > posted_version AND message_ts IS NULL AND enrich_until > next_attempt_at;
CREATE INDEX IF NOT EXISTS notices_by_channel ON notices (channel, id);
CREATE INDEX IF NOT EXISTS notices_due ON notices (next_attempt_at);
`;

/**
 * The outbox's per-pass reads, exported so a test can assert their query plans: no full scan, no
 * sort, each walk stopping at its first row.
 */
export const OUTBOX_READS = {
  /** The first channel with an unsent group message (an index skip: one probe a channel). */
  firstMessageChannel: 'SELECT channel FROM groups INDEXED BY groups_outbox WHERE version > posted_version ORDER BY channel LIMIT 1',
  nextMessageChannel: 'SELECT channel FROM groups INDEXED BY groups_outbox WHERE version > posted_version AND channel > ? ORDER BY channel LIMIT 1',
  /**
   * A channel's group message to deliver next: due, not held for enrichment, first posts before
   * edits, oldest first. It walks past only the channel's deferred and still-held rows.
   */
  firstMessageInChannel: `SELECT * FROM groups INDEXED BY groups_outbox
    WHERE version > posted_version AND channel = ? AND next_attempt_at <= ?
      AND (message_ts IS NOT NULL OR enrich_until IS NULL OR enrich_until <= ?)
    ORDER BY (message_ts IS NOT NULL), id LIMIT 1`,
  /** When the earliest unsent group message not held for enrichment is due (see nextDueAt). */
  messageDue: `SELECT next_attempt_at AS due FROM groups INDEXED BY groups_due
    WHERE version > posted_version AND (message_ts IS NOT NULL OR enrich_until IS NULL OR enrich_until <= next_attempt_at)
    ORDER BY next_attempt_at LIMIT 1`,
  /** When the earliest hold ends: a held first post is due then (its next_attempt_at is earlier). */
  holdEnds: `SELECT enrich_until AS due FROM groups INDEXED BY groups_held
    WHERE version > posted_version AND message_ts IS NULL AND enrich_until > next_attempt_at
    ORDER BY enrich_until LIMIT 1`,
  firstDetailChannel:
    'SELECT parent_channel AS channel FROM details INDEXED BY details_outbox WHERE version > posted_version AND parent_channel IS NOT NULL ORDER BY parent_channel LIMIT 1',
  nextDetailChannel: `SELECT parent_channel AS channel FROM details INDEXED BY details_outbox
    WHERE version > posted_version AND parent_channel IS NOT NULL AND parent_channel > ? ORDER BY parent_channel LIMIT 1`,
  /** A channel's detail message to deliver next: due, first posts before edits, oldest group first. */
  firstDetailInChannel: `SELECT d.*, g.group_key, d.parent_channel AS channel, g.message_ts AS parent_ts, g.state, g.enrichment
    FROM details d INDEXED BY details_outbox JOIN groups g ON g.id = d.group_id
    WHERE d.version > d.posted_version AND d.parent_channel IS NOT NULL AND d.parent_channel = ? AND d.next_attempt_at <= ?
    ORDER BY (d.message_ts IS NOT NULL), d.group_id LIMIT 1`,
  detailDue: `SELECT next_attempt_at AS due FROM details INDEXED BY details_due
    WHERE version > posted_version AND parent_channel IS NOT NULL ORDER BY next_attempt_at LIMIT 1`,
  firstReplyChannel: 'SELECT parent_channel AS channel FROM replies INDEXED BY replies_outbox WHERE parent_channel IS NOT NULL ORDER BY parent_channel LIMIT 1',
  nextReplyChannel:
    'SELECT parent_channel AS channel FROM replies INDEXED BY replies_outbox WHERE parent_channel IS NOT NULL AND parent_channel > ? ORDER BY parent_channel LIMIT 1',
  /** A channel's oldest due reply. */
  firstReplyInChannel: `SELECT r.*, r.parent_channel AS channel, g.message_ts FROM replies r INDEXED BY replies_outbox JOIN groups g ON g.id = r.group_id
    WHERE r.parent_channel IS NOT NULL AND r.parent_channel = ? AND r.next_attempt_at <= ? ORDER BY r.id LIMIT 1`,
  replyDue: 'SELECT next_attempt_at AS due FROM replies INDEXED BY replies_due WHERE parent_channel IS NOT NULL ORDER BY next_attempt_at LIMIT 1',
  firstNoticeChannel: 'SELECT channel FROM notices INDEXED BY notices_by_channel ORDER BY channel LIMIT 1',
  nextNoticeChannel: 'SELECT channel FROM notices INDEXED BY notices_by_channel WHERE channel > ? ORDER BY channel LIMIT 1',
  firstNoticeInChannel: 'SELECT * FROM notices INDEXED BY notices_by_channel WHERE channel = ? AND next_attempt_at <= ? ORDER BY id LIMIT 1',
  noticeDue: 'SELECT next_attempt_at AS due FROM notices INDEXED BY notices_due ORDER BY next_attempt_at LIMIT 1',
} as const;

/*
 * Notices carry a durable intent to post, like group messages (added with issue 14, for the
 * certificate digest): a notice whose post outcome is unknown is looked up by its marker before
 * it is posted again, so a crash between Slack's answer and the row's deletion does not repeat it.
 */
const NOTICE_COLUMNS: Record<string, string> = {
  /** A post started at (ms) with no recorded outcome yet; NULL when none. */
  post_started_at: 'INTEGER',
  /** Where that post went (the notice's channel, or the default channel standing in for it). */
  post_channel: 'TEXT',
};

/*
 * The certificate digest (issue 14): when each certificate was last listed in a digest, so it is
 * listed at most once a day, across restarts. Keyed by the certificate's metric identity
 * (src/certificates/certificate-digest.ts); rows older than a day mean nothing and are deleted.
 */
const CERTIFICATE_DIGEST_SCHEMA = `
CREATE TABLE IF NOT EXISTS certificate_reports (
  certificate TEXT PRIMARY KEY,
  reported_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS certificate_reports_by_time ON certificate_reports (reported_at);
`;

/*
 * Socket Mode (issue 15): requests Slack delivered, by each key that names one (envelope, event,
 * click), so a redelivery runs nothing. Kept minutes, not forever: Slack redelivers within seconds.
 */
const SLACK_DELIVERIES_SCHEMA = `
CREATE TABLE IF NOT EXISTS slack_deliveries (
  delivery_key TEXT PRIMARY KEY,
  received_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS slack_deliveries_by_time ON slack_deliveries (received_at);
`;

/*
 * Several replicas (issue 16): leases, each held by one replica until it expires (which replica
 * delivers to a channel, which runs a background job), and the pending interactions a click acts
 * on, so any replica can take the click. One replica on SQLite holds every lease; the tables keep
 * the contract the same as PostgreSQL's (postgres-engine.ts).
 */
const REPLICAS_SCHEMA = `
CREATE TABLE IF NOT EXISTS leases (
  name TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS pending_interactions (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  owner TEXT NOT NULL,
  value TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS pending_interactions_by_expiry ON pending_interactions (expires_at);
`;

/** Rows per INSERT of certificate reports: few statements for a long digest, within SQLite's 32,766 parameters. */
const REPORT_ROWS_PER_INSERT = 200;

/** The recovery probe's row (StoreHealth): one row, rewritten by each probe. */
const HEALTH_SCHEMA = `
CREATE TABLE IF NOT EXISTS store_probe (
  id INTEGER PRIMARY KEY,
  written_at INTEGER NOT NULL,
  filler BLOB
);
`;


/** An open transaction (no savepoint) or a savepoint inside one, as begin() started it. */
interface TransactionScope {
  savepoint?: string;
}

export interface SqliteStoreOptions {
  /** Where the store says it cannot write, that the file is damaged, and what to do. Default: silent. */
  log?: Logger;
  now?: () => number;
  /** Timer for the recovery probe (StoreHealth); unit tests step it by hand. */
  schedule?: StoreHealthOptions['schedule'];
  /** PRAGMA quick_check in a worker thread this often (ms); 0 = only at start. */
  checkIntervalMs?: number;
  /** Told when the store starts or stops being able to write (StoreHealth), e.g. for a metric. */
  onHealthChange?: StoreHealthOptions['onChange'];
  /**
   * Opens the connection; default `new DatabaseSync(path)`. Unit tests pass one with a small
   * PRAGMA max_page_count, which makes SQLite fail exactly as on a full disk (SQLITE_FULL).
   */
  open?: (path: string) => DatabaseSync;
}

/** Bytes the recovery probe writes: more than a page, so a write that happens to fit in WAL space already allocated does not pass for recovered. */
const PROBE_BYTES = 64 * 1024;

/**
 * The embedded store: one SQLite file in WAL mode with synchronous=FULL, so a webhook
 * answered 2xx has reached the disk and survives the process being killed right after.
 *
 * It tells the truth about itself: a storage error (disk full, I/O error, damaged pages) marks
 * it unable to write (ping() says why, see StoreHealth), the file is checked with quick_check at
 * start and periodically, and a damaged file is never touched again by this process.
 */
export class SqliteStore implements StoreEngine {
  private readonly db: DatabaseSync;
  private readonly path: string;
  private readonly log: Logger;
  private readonly health: StoreHealth;
  private readonly statements = new Map<string, StatementSync>();
  private depth: OutboxDepth | undefined;
  private noticeCount: number | undefined;
  private schemaReady = false;
  private checkTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private savepoints = 0;
  private commits = { full: 0, normal: 0 };
  private synchronous: 'FULL' | 'NORMAL' = 'FULL';

  constructor(path: string, options: SqliteStoreOptions = {}) {
    this.path = path;
    this.log = options.log ?? pino({ level: 'silent' });
    this.health = new StoreHealth({
      log: this.log,
      probe: () => this.probeWrite(),
      damagedAdvice: damagedAdvice(path),
      ...(options.now ? { now: options.now } : {}),
      ...(options.schedule ? { schedule: options.schedule } : {}),
      ...(options.onHealthChange ? { onChange: options.onHealthChange } : {}),
    });
    if (path !== ':memory:') {
      mkdirSync(dirname(path), { recursive: true });
      reportLostState(path, this.log);
    }
    this.db = options.open ? options.open(path) : new DatabaseSync(path);
    try {
      this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;');
      const started = performance.now();
      const problems = quickCheck(this.db);
      const ms = Math.round(performance.now() - started);
      if (problems.length > 0) this.health.markDamaged(`PRAGMA quick_check found: ${problems.join('; ')}`);
      else if (path !== ':memory:') this.log.info({ path, ms }, 'state file checked (PRAGMA quick_check): ok');
      if (problems.length === 0) this.prepareSchema();
    } catch (error) {
      // Damaged or unwritable from the start: Lookout still starts, says so in /readyz and refuses
      // webhooks, instead of exiting into a crash loop that hides the reason.
      if (!this.health.report(error)) throw error;
    }
    const every = options.checkIntervalMs ?? 0;
    if (every > 0 && path !== ':memory:') this.scheduleCheck(every);
  }

  private prepareSchema(): void {
    if (this.schemaReady) return;
    this.db.exec(SCHEMA);
    this.addMissingColumns('groups', ENRICHMENT_COLUMNS);
    this.db.exec(ENRICHMENT_SCHEMA);
    this.addMissingColumns('groups', OUTBOX_GROUP_COLUMNS);
    this.addMissingColumns('details', OUTBOX_DETAIL_COLUMNS);
    this.db.exec(OUTBOX_SCHEMA);
    // The column and its values in one transaction: a failure between them (a full disk) must not
    // leave a column that exists, so is never filled again, with old resolved episodes kept forever.
    this.transaction(() => {
      if (this.addMissingColumns('groups', RETENTION_COLUMNS).length > 0) this.fillResolvedAt();
    });
    this.db.exec(RETENTION_SCHEMA);
    // As for retention: the columns and their values together, or a file keeps threads unplaced.
    this.transaction(() => {
      for (const table of ['details', 'replies']) {
        if (this.addMissingColumns(table, THREAD_COLUMNS).length > 0) this.run(`UPDATE ${table} SET parent_channel = ${PARENT_CHANNEL}`);
      }
    });
    this.db.exec(BOUNDED_OUTBOX_SCHEMA);
    this.addMissingColumns('notices', NOTICE_COLUMNS);
    this.db.exec(CERTIFICATE_DIGEST_SCHEMA);
    this.db.exec(SLACK_DELIVERIES_SCHEMA);
    this.db.exec(REPLICAS_SCHEMA);
    this.db.exec(HEALTH_SCHEMA);
    this.schemaReady = true;
  }

  /** @returns the columns it added. */
  private addMissingColumns(table: string, columns: Record<string, string>): string[] {
    const present = new Set(this.all<{ name: string }>(`PRAGMA table_info(${table})`).map((column) => column.name));
    const added = Object.keys(columns).filter((name) => !present.has(name));
    for (const name of added) this.db.exec(`ALTER TABLE ${table} ADD COLUMN ${name} ${columns[name]}`);
    return added;
  }

  /** Once, for a file from before retention: resolved episodes count as resolved when last changed. */
  private fillResolvedAt(): void {
    for (const row of this.all<{ id: number; state: string; changed_at: number }>('SELECT id, state, changed_at FROM groups')) {
      if (!isFiring(JSON.parse(row.state) as GroupState)) this.run('UPDATE groups SET resolved_at = ? WHERE id = ?', row.changed_at, row.id);
    }
  }

  transaction<T>(fn: () => T): T {
    const scope = this.begin();
    try {
      const result = fn();
      this.end(scope);
      return result;
    } catch (error) {
      this.undo(scope, error);
      throw error;
    }
  }

  /**
   * transaction() for a function that awaits (asyncEngine(), async-engine.ts): the same BEGIN …
   * COMMIT, or a savepoint when nested. Only correct while nothing else uses this connection
   * until fn settles; the callers make sure of it (see async-engine.ts).
   */
  async transactionAwaiting<T>(fn: () => Promise<T>): Promise<T> {
    const scope = this.begin();
    try {
      const result = await fn();
      this.end(scope);
      return result;
    } catch (error) {
      this.undo(scope, error);
      throw error;
    }
  }

  /**
   * Starts a transaction, or a savepoint inside one (the worker runs a batch of calls as one
   * transaction): a call that fails undoes its own writes only, and the batch still commits once.
   */
  private begin(): TransactionScope {
    if (this.db.isOpen && this.db.isTransaction) {
      const savepoint = `nested_${++this.savepoints}`;
      this.exec(`SAVEPOINT ${savepoint}`);
      return { savepoint };
    }
    this.exec('BEGIN IMMEDIATE');
    return {};
  }

  private end({ savepoint }: TransactionScope): void {
    if (savepoint !== undefined) {
      this.exec(`RELEASE ${savepoint}`);
      this.savepoints -= 1;
      return;
    }
    this.exec('COMMIT');
    this.commits[this.synchronous === 'FULL' ? 'full' : 'normal'] += 1;
  }

  private undo({ savepoint }: TransactionScope, error: unknown): void {
    if (savepoint !== undefined) this.savepoints -= 1;
    this.depth = undefined;
    this.noticeCount = undefined;
    // SQLite itself ends the transaction on some errors (SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM):
    // a ROLLBACK then fails with "no transaction is active", and that error used to replace the
    // one that said what went wrong. Roll back only what is still open; the caller rethrows the cause.
    if (!this.db.isOpen || !this.db.isTransaction) return;
    try {
      if (savepoint === undefined) {
        this.db.exec('ROLLBACK');
      } else {
        this.db.exec(`ROLLBACK TO ${savepoint}`);
        this.db.exec(`RELEASE ${savepoint}`);
      }
    } catch (rollbackError) {
      this.health.report(rollbackError);
      const what = savepoint === undefined ? 'ROLLBACK failed after a failed transaction' : 'ROLLBACK TO SAVEPOINT failed after a failed call';
      this.log.error({ err: rollbackError, cause: describeError(error) }, what);
    }
  }

  /** Transactions committed by this connection: with an fsync (full), or without (normal). */
  commitCount(): { full: number; normal: number } {
    return { ...this.commits };
  }

  /**
   * How the next commits reach the disk. FULL (the default): each commit fsyncs the WAL, so it
   * survives a power loss. NORMAL: no fsync; it survives the process being killed (the OS has the
   * write) and becomes power-loss durable with the next FULL commit, whose fsync covers the whole
   * WAL. Only for writes whose loss in a power cut the state already covers (store-worker.ts).
   */
  setSynchronous(mode: 'FULL' | 'NORMAL'): void {
    if (mode === this.synchronous) return;
    this.exec(`PRAGMA synchronous = ${mode}`);
    this.synchronous = mode;
  }

  addNotification(payload: AlertmanagerPayload, receivedAt: number): number {
    const row = this.get<{ id: number }>(
      'INSERT INTO notifications (received_at, payload) VALUES (?, ?) RETURNING id',
      receivedAt,
      JSON.stringify(payload),
    );
    return row!.id;
  }

  pendingNotifications(limit: number): StoredNotification[] {
    return this.all<{ id: number; received_at: number; payload: string }>(
      'SELECT id, received_at, payload FROM notifications ORDER BY id LIMIT ?',
      limit,
    ).map((row) => ({ id: row.id, receivedAt: row.received_at, payload: JSON.parse(row.payload) as AlertmanagerPayload }));
  }

  deleteNotification(id: number): void {
    this.run('DELETE FROM notifications WHERE id = ?', id);
  }

  quarantineNotification(id: number, error: string, at: number): number | undefined {
    return this.transaction(() => {
      const moved = this.get<{ received_at: number; payload: string }>('DELETE FROM notifications WHERE id = ? RETURNING received_at, payload', id);
      if (moved === undefined) return undefined;
      return this.get<{ id: number }>(
        'INSERT INTO quarantined_notifications (notification_id, received_at, payload, error, quarantined_at) VALUES (?, ?, ?, ?, ?) RETURNING id',
        id,
        moved.received_at,
        moved.payload,
        error,
        at,
      )!.id;
    });
  }

  quarantinedNotifications(): { count: number; oldestReceivedAt: number | null } {
    const row = this.get<{ count: number; oldest: number | null }>('SELECT COUNT(*) AS count, MIN(received_at) AS oldest FROM quarantined_notifications')!;
    return { count: row.count, oldestReceivedAt: row.oldest };
  }

  latestGroup(groupKey: string): GroupRecord | undefined {
    const row = this.get<GroupRow>('SELECT * FROM groups WHERE group_key = ? ORDER BY id DESC LIMIT 1', groupKey);
    return row && toGroup(row);
  }

  addGroup(groupKey: string, channel: string, state: GroupState, changedAt: number): number {
    this.depth = undefined;
    const row = this.get<{ id: number }>(
      'INSERT INTO groups (group_key, channel, state, version, changed_at, resolved_at) VALUES (?, ?, ?, 1, ?, ?) RETURNING id',
      groupKey,
      channel,
      JSON.stringify(state),
      changedAt,
      isFiring(state) ? null : changedAt,
    );
    return row!.id;
  }

  updateGroupState(id: number, state: GroupState, changedAt: number): void {
    this.depth = undefined;
    // resolved_at keeps the first time the episode was all resolved: a repeated "resolved" does not move it.
    this.run(
      `UPDATE groups SET state = ?, version = version + 1, changed_at = ?,
       resolved_at = CASE WHEN ? = 1 THEN NULL ELSE COALESCE(resolved_at, ?) END WHERE id = ?`,
      JSON.stringify(state),
      changedAt,
      isFiring(state) ? 1 : 0,
      changedAt,
      id,
    );
  }

  pruneResolvedGroups(resolvedBefore: number, limit: number): number {
    // Only episodes Slack is in sync with (or gave up on): one still waiting for its last edit stays.
    // The same ordered, limited selection three times in one transaction picks the same rows;
    // children first, as replies and details reference groups (foreign keys are on).
    const batch = `SELECT id FROM groups WHERE resolved_at IS NOT NULL AND resolved_at < ? AND posted_version >= version
                   ORDER BY resolved_at, id LIMIT ?`;
    return this.transaction(() => {
      this.run(`DELETE FROM replies WHERE group_id IN (${batch})`, resolvedBefore, limit);
      this.run(`DELETE FROM details WHERE group_id IN (${batch})`, resolvedBefore, limit);
      const deleted = this.all<{ id: number }>(`DELETE FROM groups WHERE id IN (${batch}) RETURNING id`, resolvedBefore, limit).length;
      if (deleted > 0) this.depth = undefined;
      return deleted;
    });
  }

  storedRows(): { groups: number; replies: number; details: number; notifications: number; notices: number } {
    return this.get<{ groups: number; replies: number; details: number; notifications: number; notices: number }>(
      `SELECT (SELECT COUNT(*) FROM groups) AS groups, (SELECT COUNT(*) FROM replies) AS replies,
              (SELECT COUNT(*) FROM details) AS details, (SELECT COUNT(*) FROM notifications) AS notifications,
              (SELECT COUNT(*) FROM notices) AS notices`,
    )!;
  }

  addReply(groupId: number, text: string, createdAt: number): void {
    this.depth = undefined;
    this.run('INSERT INTO replies (group_id, text, created_at) VALUES (?, ?, ?)', groupId, text, createdAt);
    this.placeInThread(groupId);
  }

  nextMessagePerChannel(now: number): GroupRecord[] {
    return this.firstDuePerChannel<GroupRow>(
      { first: OUTBOX_READS.firstMessageChannel, next: OUTBOX_READS.nextMessageChannel },
      (channel) => this.get<GroupRow>(OUTBOX_READS.firstMessageInChannel, channel, now, now),
    ).map(toGroup).sort(byId);
  }

  nextReplyPerChannel(now: number): ReplyRecord[] {
    return this.firstDuePerChannel<ReplyRow>(
      { first: OUTBOX_READS.firstReplyChannel, next: OUTBOX_READS.nextReplyChannel },
      (channel) => this.get<ReplyRow>(OUTBOX_READS.firstReplyInChannel, channel, now),
    ).map(toReply).sort(byId);
  }

  nextDueAt(): number | null {
    // A group message is due at next_attempt_at, or when its hold ends if that is later: the two
    // kinds each have their own index, so each earliest is the first entry of an index.
    const { messageDue, holdEnds, detailDue, replyDue, noticeDue } = OUTBOX_READS;
    const dues = [messageDue, holdEnds, detailDue, replyDue, noticeDue].flatMap((sql) => this.get<{ due: number }>(sql)?.due ?? []);
    return dues.length > 0 ? Math.min(...dues) : null;
  }

  markMessageDelivered(id: number, messageTs: string, version: number): void {
    this.depth = undefined;
    this.settle(MESSAGES, id, version, messageTs);
    this.placeInThread(id);
  }

  abandonMessage(id: number, version: number): void {
    this.depth = undefined;
    this.settle(MESSAGES, id, version);
  }

  forgetMessage(id: number): void {
    this.run('UPDATE groups SET message_ts = NULL, message_channel = NULL WHERE id = ?', id);
    // The detail message was in the deleted message's thread: post it again under the new one.
    this.run('UPDATE details SET message_ts = NULL, posted_version = 0 WHERE group_id = ?', id);
    this.placeInThread(id);
  }

  deferMessage(id: number, delivery: DeliveryAttempts): void {
    this.defer(MESSAGES, id, delivery);
  }

  removeReply(id: number): void {
    this.depth = undefined;
    this.remove(REPLIES, id);
  }

  deferReply(id: number, delivery: DeliveryAttempts): void {
    this.defer(REPLIES, id, delivery);
  }

  outboxDepth(): OutboxDepth {
    // Cached until the next write that can change it: /metrics scrapes must not scan tables.
    this.depth ??= this.get<OutboxDepth>(
      `SELECT (SELECT COUNT(*) FROM groups WHERE version > posted_version) AS messages,
              (SELECT COUNT(*) FROM replies) AS replies,
              (SELECT MIN(changed_at) FROM groups WHERE version > posted_version) AS oldestMessageAt`,
    )!;
    return this.depth;
  }

  groupByMessage(channel: string, messageTs: string): GroupRecord | undefined {
    // Where the message lives: its own channel, or the default channel it fell back to.
    const row = this.get<GroupRow>(
      'SELECT * FROM groups WHERE message_ts = ? AND COALESCE(message_channel, channel) = ? ORDER BY id DESC LIMIT 1',
      messageTs,
      channel,
    );
    return row && toGroup(row);
  }

  addNotice(channel: string, text: string, createdAt: number): number {
    this.noticeCount = undefined;
    const row = this.get<{ id: number }>('INSERT INTO notices (channel, text, created_at) VALUES (?, ?, ?) RETURNING id', channel, text, createdAt);
    return row!.id;
  }

  nextNoticePerChannel(now: number): NoticeRecord[] {
    return this.firstDuePerChannel<NoticeRow>(
      { first: OUTBOX_READS.firstNoticeChannel, next: OUTBOX_READS.nextNoticeChannel },
      (channel) => this.get<NoticeRow>(OUTBOX_READS.firstNoticeInChannel, channel, now),
    ).map(toNotice).sort(byId);
  }

  removeNotice(id: number): void {
    this.noticeCount = undefined;
    this.remove(NOTICES, id);
  }

  deferNotice(id: number, delivery: DeliveryAttempts): void {
    this.defer(NOTICES, id, delivery);
  }

  startNoticePost(id: number, channel: string, at: number): void {
    this.run('UPDATE notices SET post_started_at = ?, post_channel = ? WHERE id = ?', at, channel, id);
  }

  clearNoticePost(id: number): void {
    this.run('UPDATE notices SET post_started_at = NULL, post_channel = NULL WHERE id = ?', id);
  }

  reportedCertificates(): string[] {
    return this.all<{ certificate: string }>('SELECT certificate FROM certificate_reports').map((row) => row.certificate);
  }

  recordCertificatesReported(certificates: readonly string[], at: number): void {
    // Multi-row VALUES (portable), a bounded number of rows per statement.
    for (let start = 0; start < certificates.length; start += REPORT_ROWS_PER_INSERT) {
      const chunk = certificates.slice(start, start + REPORT_ROWS_PER_INSERT);
      this.run(`INSERT INTO certificate_reports (certificate, reported_at) VALUES ${chunk.map(() => '(?, ?)').join(', ')}`, ...chunk.flatMap((certificate) => [certificate, at]));
    }
  }

  forgetCertificateReports(before: number): void {
    this.run('DELETE FROM certificate_reports WHERE reported_at <= ?', before);
  }

  slackDeliverySeen(key: string): boolean {
    return this.get<{ found: number }>('SELECT 1 AS found FROM slack_deliveries WHERE delivery_key = ?', key) !== undefined;
  }

  recordSlackDelivery(key: string, at: number): void {
    this.run('INSERT INTO slack_deliveries (delivery_key, received_at) VALUES (?, ?)', key, at);
  }

  forgetSlackDeliveries(before: number): void {
    this.run('DELETE FROM slack_deliveries WHERE received_at < ?', before);
  }

  claimLeases(names: readonly string[], owner: string, now: number, ttlMs: number): string[] {
    // Each name once: asked for twice, a lease is still held once (as PostgreSQL's engine answers).
    return this.transaction(() =>
      [...new Set(names)].filter(
        (name) =>
          this.get(
            `INSERT INTO leases (name, owner, expires_at) VALUES (?, ?, ?)
             ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
             WHERE leases.owner = excluded.owner OR leases.expires_at <= ?
             RETURNING name`,
            name,
            owner,
            now + ttlMs,
            now,
          ) !== undefined,
      ),
    );
  }

  releaseLeases(owner: string, names?: readonly string[]): void {
    if (names === undefined) {
      this.run('DELETE FROM leases WHERE owner = ?', owner);
      return;
    }
    this.transaction(() => {
      for (const name of names) this.run('DELETE FROM leases WHERE name = ? AND owner = ?', name, owner);
    });
  }

  leaseHolder(name: string, now: number): Lease | undefined {
    const row = this.get<{ owner: string; expires_at: number }>('SELECT owner, expires_at FROM leases WHERE name = ? AND expires_at > ?', name, now);
    return row === undefined ? undefined : { name, owner: row.owner, expiresAt: row.expires_at };
  }

  addPendingInteraction(entry: PendingInteraction, now: number, maxEntries: number): void {
    this.transaction(() => {
      this.run('DELETE FROM pending_interactions WHERE expires_at <= ?', now);
      // Keep the newest maxEntries - 1, so with this one there are at most maxEntries.
      this.run('DELETE FROM pending_interactions WHERE seq <= (SELECT seq FROM pending_interactions ORDER BY seq DESC LIMIT 1 OFFSET ?)', Math.max(0, maxEntries - 1));
      this.run(
        'INSERT INTO pending_interactions (id, kind, owner, value, expires_at) VALUES (?, ?, ?, ?, ?)',
        entry.id,
        entry.kind,
        entry.owner,
        JSON.stringify(entry.value),
        entry.expiresAt,
      );
    });
  }

  peekPendingInteraction(id: string, kind: string, now: number): PendingInteraction | undefined {
    const row = this.get<PendingRow>('SELECT id, kind, owner, value, expires_at FROM pending_interactions WHERE id = ? AND kind = ? AND expires_at > ?', id, kind, now);
    return row === undefined ? undefined : toPendingInteraction(row);
  }

  claimPendingInteraction(id: string, kind: string, owner: string, now: number): PendingInteraction | undefined {
    const row = this.get<PendingRow>(
      'DELETE FROM pending_interactions WHERE id = ? AND kind = ? AND owner = ? AND expires_at > ? RETURNING id, kind, owner, value, expires_at',
      id,
      kind,
      owner,
      now,
    );
    return row === undefined ? undefined : toPendingInteraction(row);
  }

  pendingNotices(): number {
    // Cached like outboxDepth(): the outbox reports it on every pass, and notices change rarely.
    this.noticeCount ??= this.get<{ count: number }>('SELECT COUNT(*) AS count FROM notices')!.count;
    return this.noticeCount;
  }

  groupById(id: number): GroupRecord | undefined {
    const row = this.get<GroupRow>('SELECT * FROM groups WHERE id = ?', id);
    return row && toGroup(row);
  }

  silencedGroups(): GroupRecord[] {
    // Only at start, and only firing episodes (resolved_at IS NULL uses groups_resolved's column):
    // a silence on a resolved group is no longer shown, so it needs no clearing.
    return this.all<GroupRow>('SELECT * FROM groups WHERE resolved_at IS NULL ORDER BY id')
      .map(toGroup)
      .filter((group) => group.state.silenced !== undefined);
  }

  firingGroups(): FiringGroup[] {
    // Like silencedGroups: firing episodes by the resolved_at column, their alerts read in JS.
    return this.all<GroupRow>('SELECT * FROM groups WHERE resolved_at IS NULL ORDER BY id')
      .map(toGroup)
      .map(toFiringGroup)
      .filter((group) => group !== undefined);
  }

  alertMessages(fingerprints: readonly string[]): AlertMessage[] {
    if (fingerprints.length === 0) return [];
    const wanted = new Set(fingerprints);
    const found: AlertMessage[] = [];
    // Firing episodes only (the groups_resolved column), matched in JS like silencedGroups: JSON
    // functions in SQL differ between databases, and the firing episodes are the few that matter.
    for (const group of this.all<GroupRow>('SELECT * FROM groups WHERE resolved_at IS NULL AND message_ts IS NOT NULL ORDER BY id DESC').map(toGroup)) {
      for (const alert of group.state.alerts) {
        if (alert.status !== 'firing' || !wanted.has(alert.fingerprint)) continue;
        wanted.delete(alert.fingerprint);
        found.push({ fingerprint: alert.fingerprint, channel: group.messageChannel ?? group.channel, messageTs: group.messageTs! });
      }
    }
    return found;
  }

  requestEnrichment(groupId: number, alerts: PendingEnrichment, holdFirstPostUntil: number | null): void {
    // Read-merge-write rather than JSON functions in SQL, which differ between databases.
    const row = this.get<{ enrich_pending: string | null }>('SELECT enrich_pending FROM groups WHERE id = ?', groupId);
    if (row === undefined) return;
    const pending = { ...parsePending(row.enrich_pending), ...alerts };
    this.run(
      `UPDATE groups SET enrich_pending = ?,
       enrich_until = CASE WHEN message_ts IS NULL AND ? IS NOT NULL THEN ? ELSE enrich_until END WHERE id = ?`,
      Object.keys(pending).length > 0 ? JSON.stringify(pending) : null,
      holdFirstPostUntil,
      holdFirstPostUntil,
      groupId,
    );
  }

  groupsAwaitingEnrichment(limit: number): EnrichmentWork[] {
    return this.all<GroupRow>('SELECT * FROM groups WHERE enrich_pending IS NOT NULL ORDER BY id LIMIT ?', limit).map((row) => ({
      group: toGroup(row),
      pending: parsePending(row.enrich_pending),
    }));
  }

  saveEnrichment(groupId: number, update: EnrichmentUpdate): void {
    this.depth = undefined;
    const row = this.get<{ enrich_pending: string | null }>('SELECT enrich_pending FROM groups WHERE id = ?', groupId);
    if (row === undefined) return;
    const pending = parsePending(row.enrich_pending);
    for (const [fingerprint, startsAt] of Object.entries(update.handled)) {
      if (pending[fingerprint] === startsAt) delete pending[fingerprint];
    }
    this.run(
      `UPDATE groups SET enrichment = ?, enrich_pending = ?,
       enrich_until = CASE WHEN ? = 1 THEN NULL ELSE enrich_until END, version = version + ? WHERE id = ?`,
      JSON.stringify(update.enrichment),
      Object.keys(pending).length > 0 ? JSON.stringify(pending) : null,
      update.releaseFirstPost ? 1 : 0,
      update.messageChanged ? 1 : 0,
      groupId,
    );
    if (!update.detailChanged) return;
    // No upsert: ON CONFLICT spellings differ between SQLite and PostgreSQL versions.
    if (this.get('SELECT group_id FROM details WHERE group_id = ?', groupId) === undefined) {
      this.run('INSERT INTO details (group_id, version) VALUES (?, 1)', groupId);
      this.placeInThread(groupId);
    } else {
      this.run('UPDATE details SET version = version + 1 WHERE group_id = ?', groupId);
    }
  }

  nextDetailPerChannel(now: number): DetailRecord[] {
    return this.firstDuePerChannel<DetailRow>(
      { first: OUTBOX_READS.firstDetailChannel, next: OUTBOX_READS.nextDetailChannel },
      (channel) => this.get<DetailRow>(OUTBOX_READS.firstDetailInChannel, channel, now),
    ).map(toDetail).sort(byId);
  }

  markDetailDelivered(groupId: number, messageTs: string, version: number): void {
    this.settle(DETAILS, groupId, version, messageTs);
    this.run('UPDATE details SET post_started_at = NULL WHERE group_id = ? AND post_started_at IS NOT NULL', groupId);
  }

  // ---- the outbox's post intents and where messages live (see OUTBOX_GROUP_COLUMNS) ----------

  startMessagePost(id: number, channel: string, at: number): void {
    this.run('UPDATE groups SET post_started_at = ?, post_channel = ? WHERE id = ?', at, channel, id);
  }

  clearMessagePost(id: number): void {
    this.run('UPDATE groups SET post_started_at = NULL, post_channel = NULL WHERE id = ?', id);
  }

  recordMessagePosted(id: number, messageTs: string, channel: string, version: number): void {
    this.depth = undefined;
    this.run(
      `UPDATE groups SET message_ts = ?, message_channel = CASE WHEN channel = ? THEN NULL ELSE ? END,
       post_started_at = NULL, post_channel = NULL, posted_version = ?, attempts = 0, next_attempt_at = 0, failing_since = NULL,
       enrich_until = NULL
       WHERE id = ?`,
      messageTs,
      channel,
      channel,
      version,
      id,
    );
    // A detail message in an earlier message's thread (the copy in the default channel) is posted
    // again under this one.
    this.run('UPDATE details SET message_ts = NULL, posted_version = 0, post_started_at = NULL WHERE group_id = ? AND message_ts IS NOT NULL', id);
    this.placeInThread(id);
  }

  groupsAwayFromChannel(channel: string, limit: number): GroupRecord[] {
    return this.all<GroupRow>('SELECT * FROM groups WHERE message_channel IS NOT NULL AND channel = ? ORDER BY id LIMIT ?', channel, limit).map(toGroup);
  }

  channelsWithMessagesAway(): string[] {
    return this.all<{ channel: string }>('SELECT DISTINCT channel FROM groups WHERE message_channel IS NOT NULL').map((row) => row.channel);
  }

  startDetailPost(groupId: number, at: number): void {
    this.run('UPDATE details SET post_started_at = ? WHERE group_id = ?', at, groupId);
  }

  clearDetailPost(groupId: number): void {
    this.run('UPDATE details SET post_started_at = NULL WHERE group_id = ?', groupId);
  }

  abandonDetail(groupId: number, version: number): void {
    this.settle(DETAILS, groupId, version);
  }

  forgetDetail(groupId: number): void {
    this.run('UPDATE details SET message_ts = NULL WHERE group_id = ?', groupId);
  }

  deferDetail(groupId: number, delivery: DeliveryAttempts): void {
    this.defer(DETAILS, groupId, delivery);
  }

  ping(): string | undefined {
    const problem = this.health.problem();
    if (problem?.kind === 'damaged') return `state file ${this.path} is damaged (${problem.reason}); stop Lookout, move the file aside and restart (see the log)`;
    if (problem) return `state store cannot write (${problem.reason}); retrying`;
    try {
      this.get('SELECT 1');
      return undefined;
    } catch (error) {
      return `state store: ${(error as Error).message}`;
    }
  }

  onRecovered(listener: () => void): void {
    this.health.onRecovered(listener);
  }

  close(): void {
    this.closed = true;
    this.health.stop();
    clearTimeout(this.checkTimer);
    this.db.close();
  }

  /** The recovery probe: a real write of PROBE_BYTES, committed (so fsync'd) like any other. */
  private probeWrite(): void {
    this.prepareSchema();
    this.transaction(() => {
      this.run('DELETE FROM store_probe');
      this.run('INSERT INTO store_probe (id, written_at, filler) VALUES (1, ?, ?)', Date.now(), new Uint8Array(PROBE_BYTES));
    });
  }

  /** quick_check in a worker every `everyMs`, until the file is found damaged or the store closes. */
  private scheduleCheck(everyMs: number): void {
    this.checkTimer = setTimeout(() => {
      void this.periodicCheck().finally(() => {
        if (!this.closed && this.health.problem()?.kind !== 'damaged') this.scheduleCheck(everyMs);
      });
    }, everyMs).unref();
  }

  private async periodicCheck(): Promise<void> {
    if (this.health.problem()?.kind === 'damaged') return;
    try {
      const started = performance.now();
      const problems = await quickCheckInWorker(this.path);
      if (this.closed) return;
      if (problems.length > 0) this.health.markDamaged(`PRAGMA quick_check found: ${problems.join('; ')}`);
      else this.log.debug({ ms: Math.round(performance.now() - started) }, 'state file checked (PRAGMA quick_check): ok');
    } catch (error) {
      this.log.warn({ err: error }, 'the periodic check of the state file (PRAGMA quick_check) could not run; trying again at the next interval');
    }
  }

  /**
   * For each channel of a lane, its first due row (`firstIn`). The channels come from an index
   * skip (`channels.first`, then `channels.next` after each): one probe a channel, however many
   * rows each holds. The outbox takes them oldest first: callers sort by id (byId).
   */
  private firstDuePerChannel<T>(channels: { first: string; next: string }, firstIn: (channel: string) => T | undefined): T[] {
    const rows: T[] = [];
    let channel = this.get<{ channel: string }>(channels.first)?.channel;
    while (channel !== undefined) {
      const row = firstIn(channel);
      if (row !== undefined) rows.push(row);
      channel = this.get<{ channel: string }>(channels.next, channel)?.channel;
    }
    return rows;
  }

  /**
   * After the group's message appeared, moved or went: its detail message and replies follow it
   * (their parent_channel), so they are delivered in its thread, or wait while there is none.
   * Every write of groups.message_ts or message_channel calls this.
   */
  private placeInThread(groupId: number): void {
    for (const table of ['details', 'replies']) {
      this.run(`UPDATE ${table} SET parent_channel = ${PARENT_CHANNEL} WHERE group_id = ? AND parent_channel IS NOT ${PARENT_CHANNEL}`, groupId);
    }
  }

  /** A failed attempt: try again at `delivery.nextAttemptAt`. */
  private defer(lane: Lane, id: number, delivery: DeliveryAttempts): void {
    this.run(
      `UPDATE ${lane.table} SET attempts = ?, next_attempt_at = ?, failing_since = ? WHERE ${lane.key} = ?`,
      delivery.attempts,
      delivery.nextAttemptAt,
      delivery.failingSince,
      id,
    );
  }

  /**
   * A versioned row is done with `version` (delivered with `messageTs`, or abandoned without).
   * posted_version never moves back: settling an older version late must not mark a newer one unsent.
   */
  private settle(lane: Lane, id: number, version: number, messageTs?: string): void {
    const setTs = messageTs === undefined ? '' : 'message_ts = ?, ';
    this.run(
      `UPDATE ${lane.table} SET ${setTs}posted_version = CASE WHEN posted_version > ? THEN posted_version ELSE ? END,
       attempts = 0, next_attempt_at = 0, failing_since = NULL WHERE ${lane.key} = ?`,
      ...(messageTs === undefined ? [] : [messageTs]),
      version,
      version,
      id,
    );
  }

  /** A one-shot row (reply, notice) is done: delivered, or abandoned. */
  private remove(lane: Lane, id: number): void {
    this.run(`DELETE FROM ${lane.table} WHERE ${lane.key} = ?`, id);
  }

  private get<T>(sql: string, ...params: SQLInputValue[]): T | undefined {
    return this.use(() => this.prepare(sql).get(...params) as T | undefined);
  }

  private all<T>(sql: string, ...params: SQLInputValue[]): T[] {
    return this.use(() => this.prepare(sql).all(...params) as T[]);
  }

  private run(sql: string, ...params: SQLInputValue[]): void {
    this.use(() => this.prepare(sql).run(...params));
  }

  private exec(sql: string): void {
    this.use(() => this.db.exec(sql));
  }

  /**
   * Every statement goes through here: a damaged file is not touched again (each read of a bad
   * page would only log the same error), and a storage error marks the store before it is rethrown.
   */
  private use<T>(fn: () => T): T {
    const problem = this.health.problem();
    if (problem?.kind === 'damaged') throw new StoreUnavailable(problem);
    try {
      return fn();
    } catch (error) {
      this.health.report(error);
      throw error;
    }
  }

  private prepare(sql: string): StatementSync {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}

/** What the operator must do about a damaged file at `path`, and what is lost. */
function damagedAdvice(path: string): string {
  return (
    `Lookout answers webhooks 503 and sends nothing until the file is replaced. To recover: stop Lookout, move ${path} ` +
    `(and ${path}-wal, ${path}-shm if present) aside, start Lookout again; it starts with an empty state. Lost: the link ` +
    'between alert groups and their Slack messages (a group that fires again gets a new message; old messages are no longer ' +
    'edited), acknowledgements, notifications accepted but not yet processed, and queued thread replies and audit lines. ' +
    'Alertmanager re-sends what still fires at its repeat_interval. See docs/deploy.md, "A damaged state file".'
  );
}

/**
 * A missing or empty state file where there was state is data loss someone should hear about:
 * -wal/-shm files beside a missing database mean it was deleted or moved while Lookout used it
 * (SQLite would silently discard them: they are moved aside instead), and a 0-byte file was
 * truncated (Lookout never leaves one: the schema is written at the first start).
 */
function reportLostState(path: string, log: Logger): void {
  const size = statSync(path, { throwIfNoEntry: false })?.size;
  const leftovers = ['-wal', '-shm'].map((suffix) => path + suffix).filter((file) => existsSync(file));
  if (size === undefined && leftovers.length > 0) {
    const movedTo = leftovers.map((file) => {
      const aside = `${file}.orphaned-${Date.now()}`;
      try {
        renameSync(file, aside);
        return aside;
      } catch (error) {
        // Kept in place (SQLite will then discard it); starting matters more than the evidence.
        return `not moved (${(error as NodeJS.ErrnoException).code ?? 'error'}): ${file}`;
      }
    });
    log.error(
      { path, movedTo },
      `the state file ${path} is missing but its journal files are there: it was deleted or moved while it held state. ` +
        'Starting with an empty state (alert groups already in Slack get new messages when they change); the journal files were moved aside.',
    );
  } else if (size === 0) {
    log.error({ path }, `the state file ${path} is empty (0 bytes): its state was lost (truncated?). Starting with an empty state.`);
  } else if (size === undefined) {
    log.info({ path }, 'no state file yet; creating it');
  }
}

function describeError(error: unknown): string {
  const { errcode, message } = error as { errcode?: number; message?: string };
  return errcode === undefined ? String(message ?? error) : `${message} (errcode ${errcode})`;
}
