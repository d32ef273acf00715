import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../../src/state/sqlite-store.ts';
import { WorkerStore, type WorkerStoreOptions } from '../../../src/state/worker-store.ts';
import { payload, recordingLogger } from '../../helpers/fakes.ts';

/*
 * The production store: the engine in a worker thread. These run a real worker on a real file;
 * a second connection of the test's own reads what the worker committed.
 */
// Each test starts a worker thread, which first loads the store's modules from src/ (type
// stripping included): seconds on a busy machine, and not what these tests are about.
describe('WorkerStore', { timeout: 20_000 }, () => {
  let dir: string;
  let path: string;
  const opened: WorkerStore[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lookout-worker-store-'));
    path = join(dir, 'state.db');
  });

  afterEach(async () => {
    for (const worker of opened.splice(0)) await worker.store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function open(options: Partial<WorkerStoreOptions> = {}) {
    const logs = recordingLogger();
    const worker = new WorkerStore({ path, log: logs.log, fold: { routes: [{ match: { team: 'pay' }, channel: 'CPAY' }], defaultChannel: 'CDEFAULT' }, ...options });
    opened.push(worker);
    expect(worker.store.ping()).toBe('the state store is starting');
    await worker.opened();
    return { worker, store: worker.store, logs };
  }

  /** What is on disk, read by a connection of the test's own. */
  function onDisk<T>(read: (engine: SqliteStore) => T): T {
    const engine = new SqliteStore(path);
    try {
      return read(engine);
    } finally {
      engine.close();
    }
  }

  it('answers a write only once it is committed: another connection reads it right after', async () => {
    const { store } = await open();
    expect(store.ping()).toBeUndefined();
    await store.addNotifications([{ payload: payload('g', [{ fingerprint: 'a' }]), receivedAt: 5 }]);
    expect(onDisk((engine) => engine.pendingNotifications(10).map((n) => [n.payload.groupKey, n.receivedAt]))).toEqual([['g', 5]]);
  });

  it('commits calls that arrive while it is busy together: 200 webhooks in one turn are a handful of fsyncs, not 200', async () => {
    const { worker, store } = await open();
    const before = worker.commitCount();
    await Promise.all(Array.from({ length: 200 }, (_, i) => store.addNotifications([{ payload: payload(`g${i}`, [{ fingerprint: 'a' }]), receivedAt: i }])));
    const commits = worker.commitCount().full - before.full;
    expect(commits).toBeGreaterThanOrEqual(1);
    // How many the worker finds waiting each time depends on how the two threads interleave (a few
    // on a quiet machine, more on a loaded one): what must not happen is one commit per call.
    expect(commits).toBeLessThanOrEqual(20);
    expect(onDisk((engine) => engine.storedRows().notifications)).toBe(200);
  });

  it('a call that fails (not the storage) fails alone: the others of its batch are committed', async () => {
    const { store } = await open();
    const results = await Promise.allSettled([
      store.addNotifications([{ payload: payload('before', [{ fingerprint: 'a' }]), receivedAt: 1 }]),
      // A reply to a group that does not exist: the foreign key refuses it.
      store.addReply(999_999, 'orphan', 1),
      store.addNotifications([{ payload: payload('after', [{ fingerprint: 'a' }]), receivedAt: 2 }]),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ message: expect.stringMatching(/FOREIGN KEY/) });
    expect(onDisk((engine) => engine.pendingNotifications(10).map((n) => n.payload.groupKey))).toEqual(['before', 'after']);
    expect(store.ping()).toBeUndefined();
  });

  it('answers reads that come before any write of a batch without waiting for its commit, in order', async () => {
    const { worker, store } = await open();
    const before = worker.commitCount();
    const [depth, , after] = await Promise.all([
      store.storedRows(),
      store.addNotifications([{ payload: payload('g', [{ fingerprint: 'a' }]), receivedAt: 1 }]),
      store.storedRows(),
    ]);
    // The read before the write does not see it; the one after does: the order of the calls holds.
    expect(depth.notifications).toBe(0);
    expect(after.notifications).toBe(1);
    expect(worker.commitCount().full - before.full).toBe(1);
  });

  it('a batch of writes a power cut cannot make lie (outcomes of posts) commits without an fsync; a webhook or a post intent with one', async () => {
    const { worker, store } = await open();
    await store.addNotifications([{ payload: payload('g', [{ fingerprint: 'a' }]), receivedAt: 1 }]);
    await store.foldInbox(10);
    const group = (await store.latestGroup('g'))!;
    let before = worker.commitCount();
    // The intent before the post: on disk (fsync) before Slack is called.
    await store.startMessagePost(group.id, 'CDEFAULT', 5);
    expect(worker.commitCount().full - before.full).toBe(1);
    // Its outcome: after a power cut the intent makes the outbox look the post up instead.
    before = worker.commitCount();
    await store.recordMessagePosted(group.id, '1.000001', 'CDEFAULT', group.version);
    expect(worker.commitCount()).toEqual({ full: before.full, normal: before.normal + 1 });
    // A webhook's 2xx promises it is on disk: an fsync, which also covers the outcome above.
    before = worker.commitCount();
    await Promise.all([
      store.markMessageDelivered(group.id, '1.000001', group.version),
      store.addNotifications([{ payload: payload('h', [{ fingerprint: 'b' }]), receivedAt: 2 }]),
    ]);
    expect(worker.commitCount().full - before.full).toBe(1);
    expect(onDisk((engine) => engine.latestGroup('g')?.messageTs)).toBe('1.000001');
  });

  it('runs the inbox fold in the worker with the routes it was given, a bounded batch per call', async () => {
    const { store, logs } = await open();
    await store.addNotifications([
      { payload: payload('g1', [{ fingerprint: 'a' }], { commonLabels: { alertname: 'X', team: 'pay' } }), receivedAt: 1 },
      { payload: payload('g2', [{ fingerprint: 'b' }]), receivedAt: 2 },
      { payload: payload('g3', [{ fingerprint: 'c' }]), receivedAt: 3 },
    ]);
    expect(await store.foldInbox(2)).toEqual({ changed: 2, more: true });
    expect(await store.foldInbox(2)).toEqual({ changed: 1, more: false });
    expect((await store.latestGroup('g1'))?.channel).toBe('CPAY');
    expect((await store.latestGroup('g2'))?.channel).toBe('CDEFAULT');
    // The worker's log lines come out of the main thread's logger.
    expect(logs.lines().filter((line) => line.msg === 'new alert group').map((line) => line['groupKey'])).toEqual(['g1', 'g2', 'g3']);
  });

  it('acknowledges once: of two clicks at once, the second is told who was first', async () => {
    const { store } = await open();
    await store.addNotifications([{ payload: payload('g', [{ fingerprint: 'a' }]), receivedAt: 1 }]);
    await store.foldInbox(10);
    const group = (await store.latestGroup('g'))!;
    await store.recordMessagePosted(group.id, '1.000001', 'CDEFAULT', group.version);
    const click = (by: string) => store.changeAcknowledgement({ groupId: group.id, acknowledge: true, by, at: 10 });
    expect(await Promise.all([click('U1'), click('U2')])).toEqual([undefined, 'Already acknowledged by <@U1>.']);
    expect((await store.latestGroup('g'))?.state.acknowledged).toEqual({ by: 'U1', at: new Date(10).toISOString() });
  });

  it('a crash of the worker thread: calls waiting and later ones reject, ping() says Lookout must restart, onFailed is told', async () => {
    const failures: Error[] = [];
    const { worker, store, logs } = await open({ onFailed: (error) => failures.push(error) });
    // Stands for any crash of the thread (an uncaught error, out of memory): it exits.
    const thread = (worker as unknown as { worker: Worker }).worker;
    const waiting = store.outboxDepth();
    await thread.terminate();
    await expect(waiting).rejects.toThrow(/worker thread stopped/);
    await expect(store.outboxDepth()).rejects.toThrow(/Lookout must restart/);
    expect(store.ping()).toMatch(/worker thread stopped .*Lookout must restart/);
    expect(failures).toHaveLength(1);
    expect(logs.lines().some((line) => line.level === 'fatal')).toBe(true);
    await store.close();
  });

  it('a call whose arguments cannot cross to the worker fails alone; calls made with it are answered', async () => {
    const { store } = await open();
    const good = store.addNotifications([{ payload: payload('g', [{ fingerprint: 'a' }]), receivedAt: 1 }]);
    const uncloneable = { ...payload('h', [{ fingerprint: 'b' }]), toString: () => 'a function' };
    const bad = store.addNotifications([{ payload: uncloneable, receivedAt: 2 }]);
    const depth = store.outboxDepth();
    await expect(bad).rejects.toThrow(/could not be cloned/);
    await expect(good).resolves.toBeUndefined();
    await expect(depth).resolves.toMatchObject({ messages: 0 });
    expect(onDisk((engine) => engine.storedRows().notifications)).toBe(1);
  });

  it('close() waits for calls already made, then later calls reject', async () => {
    const { store } = await open();
    const write = store.addNotifications([{ payload: payload('g', [{ fingerprint: 'a' }]), receivedAt: 1 }]);
    const closed = store.close();
    await write;
    await closed;
    await expect(store.outboxDepth()).rejects.toThrow(/closed/);
    expect(onDisk((engine) => engine.storedRows().notifications)).toBe(1);
  });
});
