import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../../src/state/sqlite-store.ts';

/*
 * The SQLite side of the replica contract (issue 16): leases and pending interactions. The store
 * contract suite runs the same cases against PostgreSQL.
 */
describe('leases and pending interactions (SQLite)', () => {
  const stores: SqliteStore[] = [];
  afterEach(() => {
    for (const store of stores.splice(0)) store.close();
  });
  const open = (): SqliteStore => {
    const store = new SqliteStore(':memory:');
    stores.push(store);
    return store;
  };

  it('gives a lease to one owner until it expires, then to whoever asks', () => {
    const store = open();
    expect(store.claimLeases(['channel:C1', 'channel:C2'], 'a', 1_000, 10_000).sort()).toEqual(['channel:C1', 'channel:C2']);
    expect(store.claimLeases(['channel:C1', 'channel:C3'], 'b', 5_000, 10_000)).toEqual(['channel:C3']);
    // a renews its own; the expiry moves.
    expect(store.claimLeases(['channel:C1'], 'a', 9_000, 10_000)).toEqual(['channel:C1']);
    expect(store.leaseHolder('channel:C1', 9_000)).toEqual({ name: 'channel:C1', owner: 'a', expiresAt: 19_000 });
    // Not yet expired at 18,999; expired at 19,000.
    expect(store.claimLeases(['channel:C1'], 'b', 18_999, 10_000)).toEqual([]);
    expect(store.claimLeases(['channel:C1'], 'b', 19_000, 10_000)).toEqual(['channel:C1']);
    expect(store.leaseHolder('channel:C1', 19_000)?.owner).toBe('b');
    expect(store.leaseHolder('channel:C2', 11_000)).toBeUndefined();
  });

  it('releases the named leases, or all of an owner\'s, and never another owner\'s', () => {
    const store = open();
    store.claimLeases(['job:a', 'job:b', 'job:c'], 'a', 0, 60_000);
    store.claimLeases(['job:d'], 'b', 0, 60_000);
    store.releaseLeases('b', ['job:a']);
    expect(store.leaseHolder('job:a', 1)?.owner).toBe('a');
    store.releaseLeases('a', ['job:a']);
    expect(store.leaseHolder('job:a', 1)).toBeUndefined();
    store.releaseLeases('a');
    expect(store.leaseHolder('job:b', 1)).toBeUndefined();
    expect(store.leaseHolder('job:c', 1)).toBeUndefined();
    expect(store.leaseHolder('job:d', 1)?.owner).toBe('b');
    expect(store.claimLeases(['job:b'], 'b', 2, 60_000)).toEqual(['job:b']);
  });

  it('lets only the owner claim a pending interaction, once, before it expires', () => {
    const store = open();
    const entry = { id: 'id-1', kind: 'confirmation', owner: 'U1:C1', value: { command: 'scale', words: ['api', '3'] }, expiresAt: 10_000 };
    store.addPendingInteraction(entry, 0, 100);
    expect(store.peekPendingInteraction('id-1', 'confirmation', 1)).toEqual(entry);
    expect(store.peekPendingInteraction('id-1', 'modal', 1)).toBeUndefined();
    expect(store.claimPendingInteraction('id-1', 'confirmation', 'U2:C1', 1)).toBeUndefined();
    expect(store.claimPendingInteraction('id-1', 'confirmation', 'U1:C1', 1)).toEqual(entry);
    expect(store.claimPendingInteraction('id-1', 'confirmation', 'U1:C1', 2)).toBeUndefined();

    store.addPendingInteraction({ ...entry, id: 'id-2' }, 0, 100);
    expect(store.peekPendingInteraction('id-2', 'confirmation', 10_000)).toBeUndefined();
    expect(store.claimPendingInteraction('id-2', 'confirmation', 'U1:C1', 10_000)).toBeUndefined();
  });

  it('keeps at most maxEntries pending interactions, dropping the oldest, and deletes expired ones', () => {
    const store = open();
    for (let i = 0; i < 5; i++) store.addPendingInteraction({ id: `id-${i}`, kind: 'modal', owner: 'U1', value: i, expiresAt: 1_000 + i }, 0, 3);
    expect(['id-0', 'id-1', 'id-2', 'id-3', 'id-4'].filter((id) => store.peekPendingInteraction(id, 'modal', 0) !== undefined)).toEqual(['id-2', 'id-3', 'id-4']);
    store.addPendingInteraction({ id: 'late', kind: 'modal', owner: 'U1', value: null, expiresAt: 9_000 }, 1_003, 3);
    expect(['id-2', 'id-3', 'id-4', 'late'].filter((id) => store.peekPendingInteraction(id, 'modal', 0) !== undefined)).toEqual(['id-4', 'late']);
  });
});
