import { beforeEach, describe, expect, it } from 'vitest';
import { inProcessStore } from '../../../src/state/in-process-store.ts';
import { SqliteStore } from '../../../src/state/sqlite-store.ts';
import { payload } from '../../helpers/fakes.ts';

/*
 * The unit tests' Store runs named transactions that await inside a SQLite transaction on the one
 * connection: calls must run one at a time, or a call started meanwhile lands inside another's
 * transaction (async-engine.ts).
 */
describe('inProcessStore', () => {
  let engine: SqliteStore;

  beforeEach(() => {
    engine = new SqliteStore(':memory:');
    engine.addNotification(payload('g', [{ fingerprint: 'a' }]), 1);
  });

  /** The engine, except that folding a notification fails halfway through the fold's transaction. */
  function failingFold(): SqliteStore {
    return Object.assign(Object.create(engine) as SqliteStore, {
      latestGroup: () => {
        throw new Error('boom');
      },
    });
  }

  const inbox = () => engine.pendingNotifications(10).map((notification) => notification.payload.groupKey);

  it('a write started in the same tick as a fold runs after it: the fold rolling back does not take the write with it', async () => {
    const store = inProcessStore(failingFold());
    const fold = store.foldInbox(10);
    const write = store.addNotification(payload('h', [{ fingerprint: 'b' }]), 2);
    await expect(fold).rejects.toThrow('boom');
    expect(await write).toBeGreaterThan(0);
    expect(inbox()).toEqual(['g', 'h']);
  });

  it('a named transaction started in the same tick as a fold commits on its own, not as a savepoint of the fold', async () => {
    const store = inProcessStore(failingFold());
    const results = await Promise.allSettled([
      store.foldInbox(10),
      store.addNotifications([{ payload: payload('h', [{ fingerprint: 'b' }]), receivedAt: 2 }]),
      store.claimSlackDelivery({ keys: ['envelope:1'], at: 2, forgetBefore: 0 }),
    ]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    expect(inbox()).toEqual(['g', 'h']);
    expect(engine.slackDeliverySeen('envelope:1')).toBe(true);
  });

  it('answers calls in the order they were made, each seeing the writes of those before it', async () => {
    const store = inProcessStore(engine);
    const [folded, groups, second] = await Promise.all([store.foldInbox(10), store.storedRows(), store.foldInbox(10)]);
    expect(folded).toEqual({ changed: 1, more: false });
    expect(groups).toMatchObject({ groups: 1, notifications: 0 });
    expect(second).toEqual({ changed: 0, more: false });
  });

  it('a failing call does not stop the ones queued behind it', async () => {
    const store = inProcessStore(engine);
    const results = await Promise.allSettled([store.addReply(999_999, 'orphan', 1), store.storedRows()]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'fulfilled']);
  });

  it('close() waits for the calls already made', async () => {
    const store = inProcessStore(engine);
    const fold = store.foldInbox(10);
    await store.close();
    expect(await fold).toEqual({ changed: 1, more: false });
  });
});
