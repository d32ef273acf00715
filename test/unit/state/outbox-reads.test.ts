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
      }
      for (let i = 0; i < 50; i++) store.addNotice(`C${i % 5}`, 'audit', NOW);
    });
    // What the reads of a pass actually run (a read not in OUTBOX_READS would show up here).
    const before = prepared.length;
    store.nextMessagePerChannel(NOW);
    store.nextNoticePerChannel(NOW);
    store.nextDueAt();
    // Details and thread replies are read with a join and still walk their pending rows (docs/architecture.md).
    const reads = prepared.slice(before).filter((sql) => !/\b(details|replies)\b/.test(sql));
    expect(reads.toSorted()).toEqual(Object.values(OUTBOX_READS).toSorted());
    const db = new DatabaseSync(path);
    db.exec('ANALYZE');
    try {
      for (const [name, sql] of Object.entries(OUTBOX_READS)) {
        const params = sql.split('?').slice(1).map(() => 'C1');
        const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>).map((row) => row.detail);
        expect(plan, name).toHaveLength(1);
        expect(plan[0], name).toMatch(/^(SCAN|SEARCH) (groups|notices) USING (COVERING )?INDEX (groups_outbox|groups_due|groups_held|notices_by_channel|notices_due)\b/);
        expect(plan.join('\n'), name).not.toMatch(/TEMP B-TREE/);
        // A SCAN (an index in order, no key) is bounded only by its LIMIT: it stops at the first row.
        if (plan[0]!.startsWith('SCAN')) expect(sql, name).toMatch(/ORDER BY \w+ LIMIT 1$/);
        else expect(sql, name).toMatch(/LIMIT 1$/);
      }
    } finally {
      db.close();
    }
  });

  it('answer what every row says: the first due message per channel, and when the next one is due', () => {
    // A deterministic mix of every case: posted or not, edits pending or not, deferred, held for
    // enrichment until before or after now, holds that outlast a retry, in 7 channels.
    let seed = 11;
    const random = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 4; round++) {
      store.transaction(() => {
        for (let i = 0; i < 150; i++) {
          const channel = `C${random(7)}`;
          const id = addGroup(store, `r${round}-${i}`, channel);
          const posted = random(3) === 0;
          if (posted) store.recordMessagePosted(id, `${id}.0001`, channel, 1);
          if (random(2) === 0) store.updateGroupState(id, store.groupById(id)!.state, NOW);
          if (!posted && random(3) === 0) store.requestEnrichment(id, { a: 'x' }, NOW + (random(5) - 2) * 1000);
          if (random(4) === 0) store.deferMessage(id, { attempts: 1, nextAttemptAt: NOW + (random(5) - 2) * 700, failingSince: NOW });
        }
      });
      const all = Array.from({ length: store.storedRows().groups }, (_, i) => store.groupById(i + 1)!);
      for (const now of [NOW - 3000, NOW, NOW + 1000, NOW + 5000]) {
        expect(store.nextMessagePerChannel(now).map((record) => record.id)).toEqual(firstDuePerChannel(all, now));
      }
      expect(store.nextDueAt()).toBe(earliestDue(all));
    }
  });

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
      old.close();
      // As the file was: groups_pending, none of the new indexes.
      const db = new DatabaseSync(path);
      db.exec(`DROP INDEX groups_outbox; DROP INDEX groups_due; DROP INDEX groups_held; DROP INDEX notices_by_channel; DROP INDEX notices_due;
               CREATE INDEX groups_pending ON groups (next_attempt_at) WHERE version > posted_version;`);
      db.close();

      const store = new SqliteStore(path);
      try {
        expect(store.nextMessagePerChannel(NOW).map((record) => record.id)).toEqual([id]);
        expect(store.nextDueAt()).toBe(0);
      } finally {
        store.close();
      }
      const check = new DatabaseSync(path);
      const indexes = (check.prepare("SELECT name FROM sqlite_master WHERE type = 'index'").all() as Array<{ name: string }>).map((row) => row.name);
      check.close();
      expect(indexes).toEqual(expect.arrayContaining(['groups_outbox', 'groups_due', 'groups_held', 'notices_by_channel', 'notices_due']));
      expect(indexes).not.toContain('groups_pending');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

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
