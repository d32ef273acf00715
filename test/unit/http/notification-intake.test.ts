import { beforeEach, describe, expect, it } from 'vitest';
import { NotificationIntake } from '../../../src/http/notification-intake.ts';
import { inProcessStore } from '../../../src/state/in-process-store.ts';
import { SqliteStore } from '../../../src/state/sqlite-store.ts';
import { payload } from '../../helpers/fakes.ts';

describe('NotificationIntake', () => {
  let store: SqliteStore;
  let flushes: Array<() => void>;
  let transactions: number;
  let counting: SqliteStore;
  const settled = async (promise: Promise<void>): Promise<string> =>
    Promise.race([promise.then(() => 'stored', () => 'refused'), new Promise<string>((resolve) => setImmediate(() => resolve('waiting')))]);

  beforeEach(() => {
    store = new SqliteStore(':memory:');
    flushes = [];
    transactions = 0;
    counting = Object.assign(Object.create(store) as SqliteStore, {
      transactionAwaiting: <T>(fn: () => Promise<T>): Promise<T> => {
        transactions += 1;
        return store.transactionAwaiting(fn);
      },
    });
  });

  it('stores the payloads of one turn in one transaction and answers none before the commit', async () => {
    let clock = 10;
    const intake = new NotificationIntake({ store: inProcessStore(counting), now: () => clock++, schedule: (flush) => flushes.push(flush) });
    const adds = ['g1', 'g2', 'g3'].map((key) => intake.add(payload(key, [{ fingerprint: 'a' }])));
    expect(flushes).toHaveLength(1);
    expect(await settled(adds[0]!)).toBe('waiting');
    expect(store.pendingNotifications(10)).toEqual([]);

    flushes[0]!();
    expect(await Promise.all(adds.map(settled))).toEqual(['stored', 'stored', 'stored']);
    expect(transactions).toBe(1);
    expect(store.pendingNotifications(10).map((n) => [n.payload.groupKey, n.receivedAt])).toEqual([['g1', 10], ['g2', 11], ['g3', 12]]);

    // The next turn is a batch of its own.
    const later = intake.add(payload('g4', [{ fingerprint: 'a' }]));
    expect(flushes).toHaveLength(2);
    flushes[1]!();
    expect(await settled(later)).toBe('stored');
    expect(transactions).toBe(2);
  });

  it('refuses every payload of a batch whose commit fails, and stores none of them', async () => {
    const failing = Object.assign(Object.create(store) as SqliteStore, {
      addNotification: (...args: Parameters<SqliteStore['addNotification']>) => {
        if (args[0].groupKey === 'bad') throw new Error('disk full');
        return store.addNotification(...args);
      },
    });
    const intake = new NotificationIntake({ store: inProcessStore(failing), now: () => 1, schedule: (flush) => flushes.push(flush) });
    const adds = ['g1', 'bad'].map((key) => intake.add(payload(key, [{ fingerprint: 'a' }])));
    flushes[0]!();
    expect(await Promise.all(adds.map(settled))).toEqual(['refused', 'refused']);
    await expect(adds[0]).rejects.toThrow('disk full');
    expect(store.pendingNotifications(10)).toEqual([]);
  });
});
