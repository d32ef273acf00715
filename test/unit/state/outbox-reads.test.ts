import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mergeNotification } from '../../../alerts/merge-group.ts';
import { OUTBOX_READS, SqliteStore } from '../../../src/state/sqlite-store.ts';
import type { GroupRecord } from '../../../src/state/store.ts';
import { payload } from '../../helpers/fakes.ts';

/*
 * Issue 11: the outbox reads the store on every pass, so each read must cost O(channels), not
 * O(unsent groups). These tests pin the query plans (an index walk that stops at its first row,
 * never a scan of the table or a sort) and check that the bounded reads answer exactly what the
 * definition says, against a model computed from every row.
 */

const NOW = 1_700_000_000_000;

function addGroup(store: SqliteStore, key: string, channel: string): number {
  return store.addGroup(key, channel, mergeNotification(undefined, payload(key, [{ fingerprint: 'a' }])).state, NOW);
}

describe('SqliteStore: the outbox reads', () => {
  let dir: string;
  let path: string;
  let store: SqliteStore;

  /** Every statement the store prepared, in order (each is prepared once, at its first use). */
  let prepared: string[];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lookout-outbox-reads-'));
    path = join(dir, 'state.db');
    prepared = [];
    store = new SqliteStore(path, {
      open: (file) => {
        const db = new DatabaseSync(file);
        const prepare = db.prepare.bind(db);
        db.prepare = (sql: string) => {
          prepared.push(sql);
          return prepare(sql);
        };
        return db;
      },
    });
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('walk an index to their first row: no table scan, no sort, whatever the backlog', () => {
    // A backlog in which the cheapest-looking plan for `message_ts IS NULL` (groups_by_ts) differs
    // from the bounded one, as it did when SQLite's planner chose it and sorted every row.
    store.transaction(() => {
      for (let i = 0; i < 2000; i++) {
        const id = addGroup(store, `g${i}`, `C${i % 20}`);
        if (i % 3 === 0) store.requestEnrichment(id, { a: 'x' }, NOW + 60_000);
        if (i % 10 === 0) store.recordMessagePosted(id, `${i}.0001`, `C${i % 20}`, 0);
        if (i % 2 === 0) store.addReply(id, 'resolved', NOW);
        if (i % 4 === 0) store.saveEnrichment(id, { enrichment: {}, handled: {}, releaseFirstPost: false, messageChanged: false, detailChanged: true });
      }
      for (let i = 0; i < 50; i++) store.addNotice(`C${i % 5}`, 'audit', NOW);
    });
    // What the reads of a pass actually run (a read not in OUTBOX_READS would show up here).
    const before = prepared.length;
    store.nextMessagePerChannel(NOW);
    store.nextDetailPerChannel(NOW);
    store.nextReplyPerChannel(NOW);
    store.nextNoticePerChannel(NOW);
    store.nextDueAt();
    expect(prepared.slice(before).toSorted()).toEqual(Object.values(OUTBOX_READS).toSorted());
    const db = new DatabaseSync(path);
    db.exec('ANALYZE');
    try {
      for (const [name, sql] of Object.entries(OUTBOX_READS)) {
        const params = sql.split('?').slice(1).map(() => 'C1');
        const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>).map((row) => row.detail);
        // The lane's own index first; a join only looks its group up by primary key.
        expect(plan[0], name).toMatch(/^(SCAN|SEARCH) (groups|notices|details|replies|d|r) USING (COVERING )?INDEX \w+_(outbox|due|held|by_channel)\b/);
        expect(plan.slice(1), name).toEqual(plan.length > 1 ? ['SEARCH g USING INTEGER PRIMARY KEY (rowid=?)'] : []);
        expect(plan.join('\n'), name).not.toMatch(/TEMP B-TREE/);
        // A SCAN (an index in order, no key) is bounded only by its LIMIT: it stops at the first row.
        if (plan[0]!.startsWith('SCAN')) expect(sql, name).toMatch(/ORDER BY \w+ LIMIT 1$/);
        else expect(sql, name).toMatch(/LIMIT 1$/);
      }
    } finally {
      db.close();
    }
  });

  it('answer what every row says: the next message, detail and reply of each channel, pass after pass, and when the next is due', () => {
    // A deterministic mix of every case: posted or not, edits pending or not, deferred, held for
    // enrichment until before or after now, holds that outlast a retry, in 7 channels.
    let seed = 11;
    const random = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 3; round++) {
      store.transaction(() => {
        for (let i = 0; i < 80; i++) {
          const channel = `C${random(7)}`;
          const id = addGroup(store, `r${round}-${i}`, channel);
          const posted = random(3) === 0;
          if (random(3) === 0) store.addReply(id, 'before the post', NOW);
          if (random(3) === 0) store.saveEnrichment(id, { enrichment: {}, handled: {}, releaseFirstPost: false, messageChanged: false, detailChanged: true });
          // Posted in its channel, or in the default channel (C0) while it could not be.
          if (posted) store.recordMessagePosted(id, `${id}.0001`, random(4) === 0 ? 'C0' : channel, 1);
          if (posted && random(5) === 0) store.forgetMessage(id);
          // Marked delivered with a ts without a post first, as some tests and scripts set a message up.
          if (!posted && random(6) === 0) store.markMessageDelivered(id, `${id}.0003`, 1);
          if (random(3) === 0) store.addReply(id, 'after the post', NOW);
          if (random(6) === 0) store.deferReply(latestReply(path), { attempts: 1, nextAttemptAt: NOW + (random(5) - 2) * 900, failingSince: NOW });
          if (random(4) === 0) store.saveEnrichment(id, { enrichment: {}, handled: {}, releaseFirstPost: false, messageChanged: false, detailChanged: true });
          if (random(5) === 0) store.deferDetail(id, { attempts: 1, nextAttemptAt: NOW + (random(5) - 2) * 800, failingSince: NOW });
          if (random(5) === 0) store.markDetailDelivered(id, `${id}.0002`, 1);
          if (random(2) === 0) store.updateGroupState(id, store.groupById(id)!.state, NOW);
          if (!posted && random(3) === 0) store.requestEnrichment(id, { a: 'x' }, NOW + (random(5) - 2) * 1000);
          if (random(4) === 0) store.deferMessage(id, { attempts: 1, nextAttemptAt: NOW + (random(5) - 2) * 700, failingSince: NOW });
        }
      });
      // Then deliver (settle) what the reads give, pass after pass, until nothing is due at
      // NOW + 1000: every pass must match the model, so the whole order is checked, not only its head.
      for (;;) {
        expectAsTheModelSays(store, path);
        const pass = { messages: store.nextMessagePerChannel(NOW + 1000), details: store.nextDetailPerChannel(NOW + 1000), replies: store.nextReplyPerChannel(NOW + 1000) };
        if (pass.messages.length + pass.details.length + pass.replies.length === 0) break;
        store.transaction(() => {
          for (const record of pass.messages) store.abandonMessage(record.id, record.version);
          for (const record of pass.details) store.abandonDetail(record.id, record.version);
          for (const record of pass.replies) store.removeReply(record.id);
        });
      }
    }
    expect(store.storedRows()).toMatchObject({ groups: 240 });
    // A shared 2-core machine: a few hundred passes, each checked against every row.
  }, 30_000);

  it('forget the hold of a group once its message is posted, so only unsent groups carry one', () => {
    const id = addGroup(store, 'g', 'C1');
    store.requestEnrichment(id, { a: 'x' }, NOW + 5000);
    expect(store.groupById(id)!.enrichUntil).toBe(NOW + 5000);
    store.recordMessagePosted(id, '1.0001', 'C1', 1);
    expect(store.groupById(id)!.enrichUntil).toBeNull();
  });

  it('give the notices lane its oldest due notice per channel, and its earliest due time', () => {
    const first = store.addNotice('C2', 'one', NOW);
    const second = store.addNotice('C2', 'two', NOW);
    const other = store.addNotice('C1', 'three', NOW);
    store.deferNotice(first, { attempts: 1, nextAttemptAt: NOW + 2000, failingSince: NOW });
    expect(store.nextNoticePerChannel(NOW).map((notice) => notice.id)).toEqual([second, other]);
    expect(store.nextNoticePerChannel(NOW + 2000).map((notice) => notice.id)).toEqual([first, other]);
    store.removeNotice(second);
    store.removeNotice(other);
    expect(store.nextDueAt()).toBe(NOW + 2000);
  });
});

describe('SqliteStore: a state file from before the bounded outbox reads', () => {
  it('gets their indexes at start, loses the one nothing reads, and reads as before', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lookout-outbox-reads-'));
    const path = join(dir, 'state.db');
    try {
      const old = new SqliteStore(path);
      const id = addGroup(old, 'g', 'C1');
      const away = addGroup(old, 'away', 'C2');
      old.recordMessagePosted(away, '1.0001', 'C9', 1);
      old.updateGroupState(away, old.groupById(away)!.state, NOW);
      old.addReply(away, 'resolved', NOW);
      old.saveEnrichment(away, { enrichment: {}, handled: {}, releaseFirstPost: false, messageChanged: false, detailChanged: true });
      old.close();
      // As the file was: groups_pending and details_pending, no parent_channel, none of the new indexes.
      const db = new DatabaseSync(path);
      db.exec(`DROP INDEX groups_outbox; DROP INDEX groups_due; DROP INDEX groups_held; DROP INDEX notices_by_channel; DROP INDEX notices_due;
               DROP INDEX details_outbox; DROP INDEX details_due; DROP INDEX replies_outbox; DROP INDEX replies_due;
               ALTER TABLE details DROP COLUMN parent_channel; ALTER TABLE replies DROP COLUMN parent_channel;
               CREATE INDEX groups_pending ON groups (next_attempt_at) WHERE version > posted_version;
               CREATE INDEX details_pending ON details (next_attempt_at) WHERE version > posted_version;`);
      db.close();

      const store = new SqliteStore(path);
      try {
        expect(store.nextMessagePerChannel(NOW).map((record) => record.id)).toEqual([id, away]);
        // The thread rows learnt where their group's message lives (the default channel here).
        expect(store.nextDetailPerChannel(NOW).map((record) => [record.id, record.channel])).toEqual([[away, 'C9']]);
        expect(store.nextReplyPerChannel(NOW).map((record) => record.channel)).toEqual(['C9']);
        expect(store.nextDueAt()).toBe(0);
      } finally {
        store.close();
      }
      const check = new DatabaseSync(path);
      const indexes = (check.prepare("SELECT name FROM sqlite_master WHERE type = 'index'").all() as Array<{ name: string }>).map((row) => row.name);
      check.close();
      expect(indexes).toEqual(
        expect.arrayContaining(['groups_outbox', 'groups_due', 'groups_held', 'notices_by_channel', 'notices_due', 'details_outbox', 'details_due', 'replies_outbox', 'replies_due']),
      );
      expect(indexes).not.toContain('groups_pending');
      expect(indexes).not.toContain('details_pending');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The reads against the model, at several times, and nextDueAt. */
function expectAsTheModelSays(store: SqliteStore, path: string): void {
  const all = Array.from({ length: store.storedRows().groups }, (_, i) => store.groupById(i + 1)!);
  const threads = readThreads(path);
  for (const now of [NOW - 3000, NOW, NOW + 1000]) {
    expect(store.nextMessagePerChannel(now).map((record) => record.id)).toEqual(firstDuePerChannel(all, now));
    expect(store.nextDetailPerChannel(now).map((record) => [record.id, record.channel, record.parentTs])).toEqual(
      firstPerThreadChannel(threads.details.filter((row) => row.next_attempt_at <= now)),
    );
    expect(store.nextReplyPerChannel(now).map((record) => [record.id, record.channel, record.messageTs])).toEqual(
      firstPerThreadChannel(threads.replies.filter((row) => row.next_attempt_at <= now)),
    );
  }
  const dues = [...threads.details, ...threads.replies].map((row) => row.next_attempt_at);
  const groupsDue = earliestDue(all);
  if (groupsDue !== null) dues.push(groupsDue);
  expect(store.nextDueAt()).toBe(dues.length > 0 ? Math.min(...dues) : null);
}

/** A thread row the outbox may deliver now or later, by the definition: from a join with its group, not from parent_channel. */
interface ThreadRow {
  id: number;
  channel: string;
  parent_ts: string;
  posted: number;
  next_attempt_at: number;
}

/** Every deliverable detail message and reply, read with a second connection (WAL lets it see what is committed). */
function readThreads(path: string): { details: ThreadRow[]; replies: ThreadRow[] } {
  const db = new DatabaseSync(path);
  try {
    const details = db
      .prepare(
        `SELECT d.group_id AS id, COALESCE(g.message_channel, g.channel) AS channel, g.message_ts AS parent_ts, (d.message_ts IS NOT NULL) AS posted,
                d.next_attempt_at FROM details d JOIN groups g ON g.id = d.group_id WHERE d.version > d.posted_version AND g.message_ts IS NOT NULL`,
      )
      .all() as unknown as ThreadRow[];
    const replies = db
      .prepare(
        `SELECT r.id, COALESCE(g.message_channel, g.channel) AS channel, g.message_ts AS parent_ts, 0 AS posted, r.next_attempt_at
         FROM replies r JOIN groups g ON g.id = r.group_id WHERE g.message_ts IS NOT NULL`,
      )
      .all() as unknown as ThreadRow[];
    return { details, replies };
  } finally {
    db.close();
  }
}

function latestReply(path: string): number {
  const db = new DatabaseSync(path);
  try {
    return (db.prepare('SELECT MAX(id) AS id FROM replies').get() as { id: number }).id;
  } finally {
    db.close();
  }
}

/** The model for threads: per channel, first posts before edits, then the lowest id; channels oldest first. */
function firstPerThreadChannel(rows: ThreadRow[]): Array<[number, string, string]> {
  const first = new Map<string, ThreadRow>();
  for (const row of rows) {
    const current = first.get(row.channel);
    if (current === undefined || row.posted < current.posted || (row.posted === current.posted && row.id < current.id)) first.set(row.channel, row);
  }
  return [...first.values()].sort((a, b) => a.id - b.id).map((row) => [row.id, row.channel, row.parent_ts]);
}

/** The model: per channel, the due unsent message first in (first posts before edits, oldest first); channels oldest first. */
function firstDuePerChannel(groups: GroupRecord[], now: number): number[] {
  const first = new Map<string, GroupRecord>();
  for (const group of groups) {
    const held = group.messageTs === null && group.enrichUntil !== null && group.enrichUntil > now;
    if (group.version <= group.postedVersion || group.delivery.nextAttemptAt > now || held) continue;
    const current = first.get(group.channel);
    const rank = (record: GroupRecord): [number, number] => [record.messageTs === null ? 0 : 1, record.id];
    if (current === undefined || rank(group)[0] < rank(current)[0] || (rank(group)[0] === rank(current)[0] && group.id < current.id)) first.set(group.channel, group);
  }
  return [...first.values()].map((group) => group.id).sort((a, b) => a - b);
}

/** The model: an unsent message is due at its next attempt, or when its hold for enrichment ends if that is later. */
function earliestDue(groups: GroupRecord[]): number | null {
  const dues = groups
    .filter((group) => group.version > group.postedVersion)
    .map((group) => Math.max(group.delivery.nextAttemptAt, group.messageTs === null && group.enrichUntil !== null ? group.enrichUntil : 0));
  return dues.length > 0 ? Math.min(...dues) : null;
}
