import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import type { AlertmanagerPayload } from '../../alerts/payload.ts';
import type { GroupState } from '../../alerts/group-state.ts';
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

interface GroupRow {
  id: number;
  group_key: string;
  channel: string;
  state: string;
  version: number;
  posted_version: number;
  message_ts: string | null;
  changed_at: number;
  attempts: number;
  next_attempt_at: number;
  failing_since: number | null;
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
 * The embedded store: one SQLite file in WAL mode with synchronous=FULL, so a webhook
 * answered 2xx has reached the disk and survives the process being killed right after.
 */
export class SqliteStore implements Store {
  private readonly db: DatabaseSync;
  private readonly statements = new Map<string, StatementSync>();
  private depth: OutboxDepth | undefined;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new DatabaseSync(path);
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;');
    this.db.exec(SCHEMA);
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
    return this.all<GroupRow>(
      `SELECT * FROM (
         SELECT g.*, ROW_NUMBER() OVER (PARTITION BY channel ORDER BY (message_ts IS NOT NULL), id) AS rank
         FROM groups g WHERE version > posted_version AND next_attempt_at <= ?)
       WHERE rank = 1 ORDER BY id`,
      now,
    ).map(toGroup);
  }

  nextReplyPerChannel(now: number): ReplyRecord[] {
    return this.all<ReplyRow>(
      `SELECT * FROM (
         SELECT r.*, g.channel, g.message_ts, ROW_NUMBER() OVER (PARTITION BY g.channel ORDER BY r.id) AS rank
         FROM replies r JOIN groups g ON g.id = r.group_id
         WHERE g.message_ts IS NOT NULL AND r.next_attempt_at <= ?)
       WHERE rank = 1 ORDER BY id`,
      now,
    ).map(toReply);
  }

  nextDueAt(): number | null {
    const row = this.get<{ due: number | null }>(
      `SELECT MIN(due) AS due FROM (
         SELECT MIN(next_attempt_at) AS due FROM groups WHERE version > posted_version
         UNION ALL
         SELECT MIN(r.next_attempt_at) FROM replies r JOIN groups g ON g.id = r.group_id WHERE g.message_ts IS NOT NULL
         UNION ALL
         SELECT MIN(next_attempt_at) FROM notices)`,
    );
    return row?.due ?? null;
  }

  markMessageDelivered(id: number, messageTs: string, version: number): void {
    this.depth = undefined;
    this.run(
      `UPDATE groups SET message_ts = ?, posted_version = CASE WHEN posted_version > ? THEN posted_version ELSE ? END,
       attempts = 0, next_attempt_at = 0, failing_since = NULL WHERE id = ?`,
      messageTs,
      version,
      version,
      id,
    );
  }

  abandonMessage(id: number, version: number): void {
    this.depth = undefined;
    this.run(
      `UPDATE groups SET posted_version = CASE WHEN posted_version > ? THEN posted_version ELSE ? END,
       attempts = 0, next_attempt_at = 0, failing_since = NULL WHERE id = ?`,
      version,
      version,
      id,
    );
  }

  forgetMessage(id: number): void {
    this.run('UPDATE groups SET message_ts = NULL WHERE id = ?', id);
  }

  deferMessage(id: number, delivery: DeliveryAttempts): void {
    this.run(
      'UPDATE groups SET attempts = ?, next_attempt_at = ?, failing_since = ? WHERE id = ?',
      delivery.attempts,
      delivery.nextAttemptAt,
      delivery.failingSince,
      id,
    );
  }

  removeReply(id: number): void {
    this.depth = undefined;
    this.run('DELETE FROM replies WHERE id = ?', id);
  }

  deferReply(id: number, delivery: DeliveryAttempts): void {
    this.run(
      'UPDATE replies SET attempts = ?, next_attempt_at = ?, failing_since = ? WHERE id = ?',
      delivery.attempts,
      delivery.nextAttemptAt,
      delivery.failingSince,
      id,
    );
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
    const row = this.get<GroupRow>('SELECT * FROM groups WHERE channel = ? AND message_ts = ? ORDER BY id DESC LIMIT 1', channel, messageTs);
    return row && toGroup(row);
  }

  addNotice(channel: string, text: string, createdAt: number): number {
    const row = this.get<{ id: number }>('INSERT INTO notices (channel, text, created_at) VALUES (?, ?, ?) RETURNING id', channel, text, createdAt);
    return row!.id;
  }

  nextNoticePerChannel(now: number): NoticeRecord[] {
    return this.all<NoticeRow>(
      `SELECT * FROM (
         SELECT n.*, ROW_NUMBER() OVER (PARTITION BY channel ORDER BY id) AS rank
         FROM notices n WHERE next_attempt_at <= ?)
       WHERE rank = 1 ORDER BY id`,
      now,
    ).map(toNotice);
  }

  removeNotice(id: number): void {
    this.run('DELETE FROM notices WHERE id = ?', id);
  }

  deferNotice(id: number, delivery: DeliveryAttempts): void {
    this.run(
      'UPDATE notices SET attempts = ?, next_attempt_at = ?, failing_since = ? WHERE id = ?',
      delivery.attempts,
      delivery.nextAttemptAt,
      delivery.failingSince,
      id,
    );
  }

  pendingNotices(): number {
    return this.get<{ count: number }>('SELECT COUNT(*) AS count FROM notices')!.count;
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
    changedAt: row.changed_at,
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
