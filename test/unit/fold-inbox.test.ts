import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { foldInbox } from '../../src/fold-inbox.ts';
import { inProcessStore } from '../../src/state/in-process-store.ts';
import { SqliteStore } from '../../src/state/sqlite-store.ts';
import type { Store } from '../../src/state/store.ts';
import { payload, recordingLogger } from '../helpers/fakes.ts';

/** Merging it throws every time: no alerts array (as an older intake could have stored it). */
function poison(groupKey: string): ReturnType<typeof payload> {
  return { ...payload(groupKey, [{ fingerprint: 'a' }]), alerts: null } as unknown as ReturnType<typeof payload>;
}

describe('foldInbox sets aside what cannot be folded, and only that', () => {
  let dir: string;
  let db: DatabaseSync | undefined;
  let engine: SqliteStore;
  let store: Store;
  let probes: Array<() => void>;
  beforeEach(() => {
    probes = [];
    dir = mkdtempSync(join(tmpdir(), 'lookout-fold-inbox-'));
    engine = new SqliteStore(join(dir, 'lookout.db'), { log: recordingLogger().log, open: (file) => (db = new DatabaseSync(file)), schedule: (probe) => {
        probes.push(probe);
        return () => undefined;
      },
    });
    store = inProcessStore(engine);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function fold(batch = 100) {
    const recorded = recordingLogger();
    let quarantined = 0;
    const run = foldInbox({ store, log: recorded.log, onQuarantined: () => (quarantined += 1), now: () => 5000, batch });
    return { run, quarantined: () => quarantined, errors: () => recorded.lines().filter((line) => line.level === 'error') };
  }

  it('two poisoned notifications among good ones, across batches: both quarantined, the rest folded in order', async () => {
    await store.addNotifications(['g1', 'p1', 'g2', 'g3', 'p2', 'g1'].map((key, i) => ({ payload: key.startsWith('p') ? poison(key) : payload(key, [{ fingerprint: 'a' }, ...(i === 5 ? [{ fingerprint: 'b' }] : [])]), receivedAt: 1000 + i })));
    const { run, quarantined, errors } = fold(2);
    expect(await run).toBe(4);
    expect(quarantined()).toBe(2);
    expect(errors().map((line) => line.groupKey)).toEqual(['p1', 'p2']);
    expect(await store.pendingNotifications(10)).toEqual([]);
    expect(await store.latestGroup('g1')).toMatchObject({ version: 2, changedAt: 1005 });
    expect(await store.quarantinedNotifications()).toEqual({ count: 2, oldestReceivedAt: 1001 });
    const rows = db!.prepare('SELECT received_at, payload, error, quarantined_at FROM quarantined_notifications ORDER BY id').all() as Array<{ received_at: number; payload: string; error: string; quarantined_at: number }>;
    expect(rows.map((row) => [row.received_at, JSON.parse(row.payload).groupKey, row.quarantined_at])).toEqual([
      [1001, 'p1', 5000],
      [1004, 'p2', 5000],
    ]);
    expect(rows[0]!.error).toMatch(/null/);
  });

  it('a full disk quarantines nothing: the fold fails, every notification stays, and all fold once there is room', async () => {
    // With enrichment each fold also queues its alerts: the folds need more pages than the notifications free.
    const enriched = inProcessStore(engine, { fold: { routes: [], defaultChannel: 'CDEFAULT', enrichmentBudgetMs: 5000 } });
    const big = (key: string) => payload(key, Array.from({ length: 40 }, (_, i) => ({ fingerprint: `fp-${i}`, labels: { filler: 'x'.repeat(400) } })));
    await enriched.addNotifications([...Array.from({ length: 30 }, (_, i) => ({ payload: big(`big-${i}`), receivedAt: 1 + i })), { payload: poison('p'), receivedAt: 100 }]);
    // SQLite fails with SQLITE_FULL past max_page_count, exactly as on a full disk.
    const pages = (db!.prepare('PRAGMA page_count').get() as { page_count: number }).page_count;
    db!.exec(`PRAGMA max_page_count = ${pages}`);
    let quarantined = 0;
    const foldEnriched = () => foldInbox({ store: enriched, log: recordingLogger().log, onQuarantined: () => (quarantined += 1) });
    await expect(foldEnriched()).rejects.toMatchObject({ errcode: 13 });
    expect(enriched.ping()).toMatch(/SQLITE_FULL/);
    expect(quarantined).toBe(0);
    expect(await enriched.pendingNotifications(100)).toHaveLength(31);
    expect(await enriched.quarantinedNotifications()).toEqual({ count: 0, oldestReceivedAt: null });

    db!.exec('PRAGMA max_page_count = 1000000');
    // The store's recovery probe (run by hand) finds it can write again.
    probes.shift()!();
    expect(enriched.ping()).toBeUndefined();
    expect(await foldEnriched()).toBe(30);
    expect(quarantined).toBe(1);
    expect(await enriched.pendingNotifications(100)).toEqual([]);
  });

  it.each([
    ['a PostgreSQL statement timeout', Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' })],
    ['a PostgreSQL lock wait', Object.assign(new Error('could not obtain lock on relation "groups"'), { code: '55P03' })],
    ['a busy SQLite file', Object.assign(new Error('database is locked'), { errcode: 5 })],
    // Storage and connection errors are the store's problem even before ping() reports it.
    ['a full disk', Object.assign(new Error('database or disk is full'), { errcode: 13 })],
    ['a connection reset', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
  ])('%s quarantines nothing, the store reporting no problem yet', async (_name, error) => {
    await store.addNotifications([{ payload: payload('g', [{ fingerprint: 'a' }]), receivedAt: 1 }]);
    const failing: Store = { ...store, foldInbox: () => Promise.reject(error) };
    let quarantined = 0;
    await expect(foldInbox({ store: failing, log: recordingLogger().log, onQuarantined: () => (quarantined += 1) })).rejects.toBe(error);
    expect(quarantined).toBe(0);
    expect(await store.pendingNotifications(10)).toHaveLength(1);
  });

  it('a wait for a pooled PostgreSQL connection that timed out (all busy in a storm) quarantines nothing', async () => {
    await store.addNotifications([{ payload: payload('g', [{ fingerprint: 'a' }]), receivedAt: 1 }]);
    // pg-pool's own error: no SQLSTATE, and the store is not marked for it (load, not an outage).
    const busy = new Error('timeout exceeded when trying to connect');
    const crowded: Store = { ...store, foldInbox: () => Promise.reject(busy) };
    let quarantined = 0;
    await expect(foldInbox({ store: crowded, log: recordingLogger().log, onQuarantined: () => (quarantined += 1) })).rejects.toBe(busy);
    expect(quarantined).toBe(0);
    expect(await store.pendingNotifications(10)).toHaveLength(1);
  });
});
