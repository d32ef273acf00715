import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { asyncEngine } from '../../../src/state/async-engine.ts';
import { SqliteStore } from '../../../src/state/sqlite-store.ts';
import { payload } from '../../helpers/fakes.ts';

/** The synchronous SQLite engine as the named transactions use it: calls answered with promises, transactions held across awaits. */
describe('asyncEngine', () => {
  let dir: string;
  let engine: SqliteStore;
  let other: SqliteStore;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lookout-async-engine-'));
    engine = new SqliteStore(join(dir, 'state.db'));
    // A second connection sees only what the first committed.
    other = new SqliteStore(join(dir, 'state.db'));
  });

  afterEach(() => {
    engine.close();
    other.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const inbox = (store: SqliteStore) => store.pendingNotifications(10).map((notification) => notification.payload.groupKey);

  it('holds one transaction open across the awaits of fn and commits once, when fn resolves', async () => {
    const engineAsync = asyncEngine(engine);
    const before = engine.commitCount().full;
    let seenMidway: string[] | undefined;
    const value = await engineAsync.transaction(async () => {
      await engineAsync.addNotification(payload('a', [{ fingerprint: 'x' }]), 1);
      await new Promise((resolve) => setImmediate(resolve));
      seenMidway = inbox(other);
      await engineAsync.addNotification(payload('b', [{ fingerprint: 'x' }]), 2);
      return 'done';
    });
    expect(value).toBe('done');
    expect(seenMidway).toEqual([]);
    expect(inbox(other)).toEqual(['a', 'b']);
    expect(engine.commitCount().full - before).toBe(1);
  });

  it('rolls back every write of fn when it rejects, and rejects with its error', async () => {
    const engineAsync = asyncEngine(engine);
    await expect(
      engineAsync.transaction(async () => {
        await engineAsync.addNotification(payload('a', [{ fingerprint: 'x' }]), 1);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(inbox(engine)).toEqual([]);
  });

  it('nested: a savepoint, so an inner failure undoes only the inner writes', async () => {
    const engineAsync = asyncEngine(engine);
    await engineAsync.transaction(async () => {
      await engineAsync.addNotification(payload('outer', [{ fingerprint: 'x' }]), 1);
      await expect(
        engineAsync.transaction(async () => {
          await engineAsync.addNotification(payload('inner', [{ fingerprint: 'x' }]), 2);
          throw new Error('inner failed');
        }),
      ).rejects.toThrow('inner failed');
      await engineAsync.transaction(async () => engineAsync.addNotification(payload('kept', [{ fingerprint: 'x' }]), 3));
    });
    expect(inbox(other)).toEqual(['outer', 'kept']);
  });

  it('an engine call that throws answers with a rejected promise, as a database over the network would', async () => {
    const engineAsync = asyncEngine(engine);
    const answer = engineAsync.addReply(999_999, 'orphan', 1);
    expect(answer).toBeInstanceOf(Promise);
    await expect(answer).rejects.toThrow(/FOREIGN KEY/);
  });

  it('calls the engine as it is when called, not as it was when wrapped (tests replace methods)', async () => {
    const engineAsync = asyncEngine(engine);
    engine.outboxDepth = () => ({ messages: 7, replies: 0, oldestMessageAt: null });
    expect((await engineAsync.outboxDepth()).messages).toBe(7);
  });
});
