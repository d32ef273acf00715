import { beforeEach, describe, expect, it } from 'vitest';
import { foldNotificationBatch, type ProcessorDeps } from '../../../alerts/process-notifications.ts';
import { compileRoute } from '../../../alerts/route-channel.ts';
import { asyncEngine } from '../../../src/state/async-engine.ts';
import { SqliteStore } from '../../../src/state/sqlite-store.ts';
import { payload, recordingLogger } from '../../helpers/fakes.ts';

/** The whole inbox, in batches of 100 as Lookout folds it. */
async function processPendingNotifications(deps: ProcessorDeps): Promise<number> {
  let changed = 0;
  for (;;) {
    const batch = await foldNotificationBatch(deps, 100);
    changed += batch.changed;
    if (!batch.more) return changed;
  }
}

describe('foldNotificationBatch', () => {
  let store: SqliteStore;
  const routes = [compileRoute({ match: { team: 'payments' }, channel: 'CPAY' })];
  const deps = (engine: SqliteStore = store) => ({ store: asyncEngine(engine), routes, defaultChannel: 'CDEFAULT', log: recordingLogger().log });

  beforeEach(() => {
    store = new SqliteStore(':memory:');
  });

  /** Marks a group's current version as shown in Slack, as the outbox would. */
  function deliver(groupKey: string): void {
    const group = store.latestGroup(groupKey)!;
    store.markMessageDelivered(group.id, '1.000001', group.version);
  }

  it('routes a new group by its common labels and empties the inbox', async () => {
    store.addNotification(payload('g', [{ fingerprint: 'a' }], { commonLabels: { alertname: 'X', team: 'payments' } }), 1);
    store.addNotification(payload('h', [{ fingerprint: 'b' }]), 2);
    expect(await processPendingNotifications(deps())).toBe(2);
    expect(store.latestGroup('g')?.channel).toBe('CPAY');
    expect(store.latestGroup('h')?.channel).toBe('CDEFAULT');
    expect(store.pendingNotifications(10)).toEqual([]);
  });

  it('duplicates from retries and HA replicas leave one message and no reply', async () => {
    for (let i = 0; i < 3; i++) store.addNotification(payload('g', [{ fingerprint: 'a' }]), i);
    expect(await processPendingNotifications(deps())).toBe(1);
    deliver('g');
    store.addNotification(payload('g', [{ fingerprint: 'a' }]), 10);
    expect(await processPendingNotifications(deps())).toBe(0);
    expect(store.outboxDepth()).toMatchObject({ messages: 0, replies: 0 });
  });

  it('a change after the first post queues an edit and one thread reply', async () => {
    store.addNotification(payload('g', [{ fingerprint: 'a' }]), 1);
    await processPendingNotifications(deps());
    deliver('g');
    store.addNotification(payload('g', [{ fingerprint: 'a', status: 'resolved' }]), 2);
    await processPendingNotifications(deps());
    const group = store.latestGroup('g')!;
    expect(group.version).toBe(2);
    expect(group.postedVersion).toBe(1);
    const [reply] = store.nextReplyPerChannel(10);
    expect(reply?.text).toMatch(/resolved/i);
  });

  it('changes before the first post only update what will be posted', async () => {
    store.addNotification(payload('g', [{ fingerprint: 'a' }]), 1);
    store.addNotification(payload('g', [{ fingerprint: 'a' }, { fingerprint: 'b' }]), 2);
    await processPendingNotifications(deps());
    expect(store.latestGroup('g')?.state.alerts).toHaveLength(2);
    expect(store.outboxDepth()).toMatchObject({ messages: 1, replies: 0 });
  });

  it('a group firing again after it resolved gets a new message', async () => {
    store.addNotification(payload('g', [{ fingerprint: 'a' }]), 1);
    store.addNotification(payload('g', [{ fingerprint: 'a', status: 'resolved' }]), 2);
    await processPendingNotifications(deps());
    deliver('g');
    const first = store.latestGroup('g')!.id;
    store.addNotification(payload('g', [{ fingerprint: 'a', startsAt: '2026-01-02T00:00:00Z' }]), 3);
    await processPendingNotifications(deps());
    const second = store.latestGroup('g')!;
    expect(second.id).not.toBe(first);
    expect(second.messageTs).toBeNull();
  });

  it('folds a batch of notifications in one transaction (one fsync, not one per notification)', async () => {
    for (const key of ['g1', 'g2', 'g3']) store.addNotification(payload(key, [{ fingerprint: 'a' }]), 1);
    let transactions = 0;
    const counting = Object.assign(Object.create(store) as SqliteStore, {
      transactionAwaiting: <T>(fn: () => Promise<T>): Promise<T> => {
        transactions += 1;
        return store.transactionAwaiting(fn);
      },
    });
    expect(await processPendingNotifications(deps(counting))).toBe(3);
    expect(transactions).toBe(1);
    expect(store.pendingNotifications(10)).toHaveLength(0);
    expect(['g1', 'g2', 'g3'].map((key) => store.latestGroup(key)?.state.alerts.length)).toEqual([1, 1, 1]);
  });

  it('leaves a notification in the inbox when applying it fails', async () => {
    store.addNotification(payload('g', [{ fingerprint: 'a' }]), 1);
    const broken = deps(Object.assign(Object.create(store) as SqliteStore, { addGroup: () => { throw new Error('disk full'); } }));
    await expect(processPendingNotifications(broken)).rejects.toThrow('disk full');
    expect(store.pendingNotifications(10)).toHaveLength(1);
  });
});
