import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import type { AlertmanagerPayload } from '../../alerts/payload.ts';
import type { GroupState } from '../../alerts/group-state.ts';
import type { GroupEnrichment } from '../../alerts/enrichers/enrichment.ts';
import type { DetailRecord, EnrichmentUpdate, EnrichmentWork, PendingEnrichment } from './store.ts';
import type { DeliveryAttempts, GroupRecord, NoticeRecord, OutboxDepth, ReplyRecord, Store, StoredNotification } from './store.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS notifications (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  received_at INTEGER NOT NULL,
  payload TEXT NOT NULL
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
CREATE INDEX IF NOT EXISTS groups_pending ON groups (next_attempt_at) WHERE version > posted_version;
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
-- Like groups_pending: the outbox looks for unsent details on every pass, and without it each
-- pass read every detail (or every posted group) ever written.
CREATE INDEX IF NOT EXISTS details_pending ON details (next_attempt_at) WHERE version > posted_version;
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

interface DetailRow {
  group_id: number;
  group_key: string;
  channel: string;
  parent_ts: string;
  message_ts: string | null;
  post_started_at: number | null;
  version: number;
  posted_version: number;
  state: string;
  enrichment: string | null;
  attempts: number;
  next_attempt_at: number;
  failing_since: number | null;
}

interface GroupRow {
  id: number;
  group_key: string;
  channel: string;
  state: string;
  version: number;
  posted_version: number;
  message_ts: string | null;
  message_channel: string | null;
  post_started_at: number | null;
  post_channel: string | null;
  changed_at: number;
  attempts: number;
  next_attempt_at: number;
  failing_since: number | null;
  enrichment: string | null;
  enrich_pending: string | null;
  enrich_until: number | null;
}

interface ReplyRow {
  id: number;
  group_id: number;
  channel: string;
  message_ts: string | null;
  text: string;
  created_at: number;
  attempts: number;
  next_attempt_at: number;
  failing_since: number | null;
}

interface NoticeRow {
  id: number;
  channel: string;
  text: string;
  created_at: number;
  attempts: number;
  next_attempt_at: number;
  failing_since: number | null;
}

/**
 * A delivery lane: a table whose rows the outbox delivers to Slack, each row with its own
 * retry columns (attempts, next_attempt_at, failing_since). Group messages and details are
 * versioned (posted_version catches up with version); replies and notices are deleted once sent.
 */
interface Lane {
  table: 'groups' | 'replies' | 'notices' | 'details';
  /** The column the outbox names a row by: a detail row is keyed by its group's id. */
  key: 'id' | 'group_id';
}
const MESSAGES: Lane = { table: 'groups', key: 'id' };
const REPLIES: Lane = { table: 'replies', key: 'id' };
const NOTICES: Lane = { table: 'notices', key: 'id' };
const DETAILS: Lane = { table: 'details', key: 'group_id' };

/**
 * The embedded store: one SQLite file in WAL mode with synchronous=FULL, so a webhook
 * answered 2xx has reached the disk and survives the process being killed right after.
 */
export class SqliteStore implements Store {
  private readonly db: DatabaseSync;
  private readonly statements = new Map<string, StatementSync>();
  private depth: OutboxDepth | undefined;
  private noticeCount: number | undefined;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new DatabaseSync(path);
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;');
    this.db.exec(SCHEMA);
    this.addMissingColumns('groups', ENRICHMENT_COLUMNS);
    this.db.exec(ENRICHMENT_SCHEMA);
    this.addMissingColumns('groups', OUTBOX_GROUP_COLUMNS);
    this.addMissingColumns('details', OUTBOX_DETAIL_COLUMNS);
    this.db.exec(OUTBOX_SCHEMA);
  }

  private addMissingColumns(table: string, columns: Record<string, string>): void {
    const present = new Set(this.all<{ name: string }>(`PRAGMA table_info(${table})`).map((column) => column.name));
    for (const [name, type] of Object.entries(columns)) {
      if (!present.has(name)) this.db.exec(`ALTER TABLE ${table} ADD COLUMN ${name} ${type}`);
    }
  }

  transaction<T>(fn: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const result = fn();
      this.db.exec('COMMIT');
      return result;
    } catch (error) {
      this.db.exec('ROLLBACK');
      this.depth = undefined;
      this.noticeCount = undefined;
      throw error;
    }
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

  latestGroup(groupKey: string): GroupRecord | undefined {
    const row = this.get<GroupRow>('SELECT * FROM groups WHERE group_key = ? ORDER BY id DESC LIMIT 1', groupKey);
    return row && toGroup(row);
  }

  addGroup(groupKey: string, channel: string, state: GroupState, changedAt: number): number {
    this.depth = undefined;
    const row = this.get<{ id: number }>(
      'INSERT INTO groups (group_key, channel, state, version, changed_at) VALUES (?, ?, ?, 1, ?) RETURNING id',
      groupKey,
      channel,
      JSON.stringify(state),
      changedAt,
    );
    return row!.id;
  }

  updateGroupState(id: number, state: GroupState, changedAt: number): void {
    this.depth = undefined;
    this.run('UPDATE groups SET state = ?, version = version + 1, changed_at = ? WHERE id = ?', JSON.stringify(state), changedAt, id);
  }

  addReply(groupId: number, text: string, createdAt: number): void {
    this.depth = undefined;
    this.run('INSERT INTO replies (group_id, text, created_at) VALUES (?, ?, ?)', groupId, text, createdAt);
  }

  nextMessagePerChannel(now: number): GroupRecord[] {
    return this.firstPerChannel<GroupRow>(
      `SELECT * FROM groups WHERE version > posted_version AND next_attempt_at <= ?
         AND (message_ts IS NOT NULL OR enrich_until IS NULL OR enrich_until <= ?)`,
      { key: 'id', inChannel: '(message_ts IS NOT NULL), id', across: 'id' },
      now,
      now,
    ).map(toGroup);
  }

  nextReplyPerChannel(now: number): ReplyRecord[] {
    return this.firstPerChannel<ReplyRow>(
      `SELECT r.*, COALESCE(g.message_channel, g.channel) AS channel, g.message_ts FROM replies r JOIN groups g ON g.id = r.group_id
       WHERE g.message_ts IS NOT NULL AND r.next_attempt_at <= ?`,
      { key: 'id', inChannel: 'id', across: 'id' },
      now,
    ).map(toReply);
  }

  nextDueAt(): number | null {
    const row = this.get<{ due: number | null }>(
      `SELECT MIN(due) AS due FROM (
         SELECT MIN(CASE WHEN message_ts IS NULL AND enrich_until > next_attempt_at THEN enrich_until ELSE next_attempt_at END) AS due
           FROM groups WHERE version > posted_version
         UNION ALL
         SELECT MIN(d.next_attempt_at) FROM details d JOIN groups g ON g.id = d.group_id
           WHERE d.version > d.posted_version AND g.message_ts IS NOT NULL
         UNION ALL
         SELECT MIN(r.next_attempt_at) FROM replies r JOIN groups g ON g.id = r.group_id WHERE g.message_ts IS NOT NULL
         UNION ALL
         SELECT MIN(next_attempt_at) FROM notices)`,
    );
    return row?.due ?? null;
  }

  markMessageDelivered(id: number, messageTs: string, version: number): void {
    this.depth = undefined;
    this.settle(MESSAGES, id, version, messageTs);
  }

  abandonMessage(id: number, version: number): void {
    this.depth = undefined;
    this.settle(MESSAGES, id, version);
  }

  forgetMessage(id: number): void {
    this.run('UPDATE groups SET message_ts = NULL, message_channel = NULL WHERE id = ?', id);
    // The detail message was in the deleted message's thread: post it again under the new one.
    this.run('UPDATE details SET message_ts = NULL, posted_version = 0 WHERE group_id = ?', id);
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
              (SELECT COUNT(*) FROM replies) AS replies`,
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
    return this.firstPerChannel<NoticeRow>('SELECT * FROM notices WHERE next_attempt_at <= ?', { key: 'id', inChannel: 'id', across: 'id' }, now).map(toNotice);
  }

  removeNotice(id: number): void {
    this.noticeCount = undefined;
    this.remove(NOTICES, id);
  }

  deferNotice(id: number, delivery: DeliveryAttempts): void {
    this.defer(NOTICES, id, delivery);
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
    } else {
      this.run('UPDATE details SET version = version + 1 WHERE group_id = ?', groupId);
    }
  }

  nextDetailPerChannel(now: number): DetailRecord[] {
    return this.firstPerChannel<DetailRow>(
      `SELECT d.*, g.group_key, COALESCE(g.message_channel, g.channel) AS channel, g.message_ts AS parent_ts, g.state, g.enrichment
       FROM details d JOIN groups g ON g.id = d.group_id
       WHERE d.version > d.posted_version AND g.message_ts IS NOT NULL AND d.next_attempt_at <= ?`,
      { key: 'group_id', inChannel: '(message_ts IS NOT NULL), group_id', across: 'group_id' },
      now,
    ).map(toDetail);
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
       post_started_at = NULL, post_channel = NULL, posted_version = ?, attempts = 0, next_attempt_at = 0, failing_since = NULL
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
    try {
      this.get('SELECT 1');
      return undefined;
    } catch (error) {
      return `state store: ${(error as Error).message}`;
    }
  }

  close(): void {
    this.db.close();
  }

  /**
   * For each channel, the first of `rows` in `order.inChannel`, the lot sorted by `order.across`:
   * one row a channel, so a storm costs one row a channel. `rows` must select a `channel` column.
   * The derived tables are named, as PostgreSQL (before 16) requires.
   */
  private firstPerChannel<T>(rows: string, order: { key: string; inChannel: string; across: string }, ...params: SQLInputValue[]): T[] {
    // Ranked on the key alone, then only each channel's first row is read whole: ranking whole
    // rows copied every pending group's state JSON into the sort on every outbox pass, which
    // under a backlog of thousands of messages was a quarter of Lookout's CPU time.
    return this.all<T>(
      `SELECT * FROM (${rows}) lane WHERE ${order.key} IN (
         SELECT ${order.key} FROM (
           SELECT ${order.key}, ROW_NUMBER() OVER (PARTITION BY channel ORDER BY ${order.inChannel}) AS lane_rank FROM (${rows}) lane
         ) WHERE lane_rank = 1
       ) ORDER BY ${order.across}`,
      ...params,
      ...params,
    );
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
    return this.prepare(sql).get(...params) as T | undefined;
  }

  private all<T>(sql: string, ...params: SQLInputValue[]): T[] {
    return this.prepare(sql).all(...params) as T[];
  }

  private run(sql: string, ...params: SQLInputValue[]): void {
    this.prepare(sql).run(...params);
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

function attemptsOf(row: { attempts: number; next_attempt_at: number; failing_since: number | null }): DeliveryAttempts {
  return { attempts: row.attempts, nextAttemptAt: row.next_attempt_at, failingSince: row.failing_since };
}

function toGroup(row: GroupRow): GroupRecord {
  return {
    id: row.id,
    groupKey: row.group_key,
    channel: row.channel,
    state: JSON.parse(row.state) as GroupState,
    version: row.version,
    postedVersion: row.posted_version,
    messageTs: row.message_ts,
    messageChannel: row.message_channel ?? null,
    postStartedAt: row.post_started_at ?? null,
    postChannel: row.post_channel ?? null,
    changedAt: row.changed_at,
    delivery: attemptsOf(row),
    enrichment: parseEnrichment(row.enrichment),
    enrichUntil: row.enrich_until ?? null,
  };
}

function parseEnrichment(json: string | null): GroupEnrichment {
  return json === null ? {} : (JSON.parse(json) as GroupEnrichment);
}

function parsePending(json: string | null): PendingEnrichment {
  return json === null ? {} : (JSON.parse(json) as PendingEnrichment);
}

function toDetail(row: DetailRow): DetailRecord {
  return {
    id: row.group_id,
    groupId: row.group_id,
    groupKey: row.group_key,
    channel: row.channel,
    parentTs: row.parent_ts,
    messageTs: row.message_ts,
    postStartedAt: row.post_started_at ?? null,
    version: row.version,
    postedVersion: row.posted_version,
    state: JSON.parse(row.state) as GroupState,
    enrichment: parseEnrichment(row.enrichment),
    delivery: attemptsOf(row),
  };
}

function toReply(row: ReplyRow): ReplyRecord {
  return {
    id: row.id,
    groupId: row.group_id,
    channel: row.channel,
    messageTs: row.message_ts,
    text: row.text,
    createdAt: row.created_at,
    delivery: attemptsOf(row),
  };
}

function toNotice(row: NoticeRow): NoticeRecord {
  return { id: row.id, channel: row.channel, text: row.text, createdAt: row.created_at, delivery: attemptsOf(row) };
}
