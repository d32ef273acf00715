import { describe, expect, it } from 'vitest';
import { LeaseSet } from '../../../src/replicas/lease-set.ts';
import { inProcessStore } from '../../../src/state/in-process-store.ts';
import { SqliteStore } from '../../../src/state/sqlite-store.ts';
import type { Store } from '../../../src/state/store.ts';
import { ManualClock, freshMetrics, metricValue, recordingLogger } from '../../helpers/fakes.ts';

const LEASE_MS = 9000;

/** A LeaseSet over a shared store that counts its own store round trips (the cost the outbox pays per pass). */
function replica(store: Store, owner: string, clock: ManualClock) {
  const trips = { claims: 0, releases: 0 };
  const counted: Pick<Store, 'claimLeases' | 'releaseLeases'> = {
    claimLeases: (...args) => {
      trips.claims++;
      return store.claimLeases(...args);
    },
    releaseLeases: (...args) => {
      trips.releases++;
      return store.releaseLeases(...args);
    },
  };
  const metrics = freshMetrics();
  const leases = new LeaseSet({ store: counted, owner, durationMs: LEASE_MS, kind: 'channel', metrics, log: recordingLogger().log, now: clock.now });
  return { leases, trips, metrics };
}

describe('LeaseSet', () => {
  it('claims many leases in one call, and calls again only to renew at a third of the duration', async () => {
    const clock = new ManualClock();
    const store = inProcessStore(new SqliteStore(':memory:'));
    const a = replica(store, 'a', clock);
    const wanted = Array.from({ length: 50 }, (_, i) => `channel:C${i}`);
    for (let step = 0; step < 30; step++) {
      await a.leases.keep(wanted, clock.now());
      clock.advance(100);
    }
    // 3 s of passes every 100 ms: one claim, and one renewal at 3 s.
    expect(a.trips.claims).toBe(1);
    clock.advance(LEASE_MS / 3 - 3000);
    await a.leases.keep(wanted, clock.now());
    expect(a.trips.claims).toBe(2);
    expect(wanted.every((name) => a.leases.usable(name, clock.now()))).toBe(true);
    expect(await metricValue(a.metrics, 'lookout_leases_held', { kind: 'channel' })).toBe(50);
  });

  it('asks again for a lease another replica holds a sixth of the duration later, not at every pass', async () => {
    const clock = new ManualClock();
    const store = inProcessStore(new SqliteStore(':memory:'));
    const a = replica(store, 'a', clock);
    const b = replica(store, 'b', clock);
    await a.leases.keep(['channel:C1'], clock.now());
    for (let step = 0; step < 30; step++) {
      await b.leases.keep(['channel:C1'], clock.now());
      expect(b.leases.nextDueAt(clock.now())).toBeGreaterThan(clock.now());
      clock.advance(100);
    }
    // 3 s: asked at 0 and at 1.5 s only.
    expect(b.trips.claims).toBe(2);
    expect(b.leases.usable('channel:C1', clock.now())).toBe(false);
  });

  it('releases a lease nobody wanted for a whole duration, then makes no calls at all', async () => {
    const clock = new ManualClock();
    const store = inProcessStore(new SqliteStore(':memory:'));
    const a = replica(store, 'a', clock);
    const b = replica(store, 'b', clock);
    await a.leases.keep(['channel:C1'], clock.now());
    // Kept (renewed) for a duration after its last use: work deferred by a backoff may come back.
    for (let elapsed = 0; elapsed < LEASE_MS; elapsed += 1000) {
      clock.advance(1000);
      await a.leases.keep([], clock.now());
      if (elapsed + 1000 < LEASE_MS) expect(a.leases.usable('channel:C1', clock.now())).toBe(true);
    }
    expect(a.trips.releases).toBe(1);
    expect(a.leases.nextDueAt(clock.now())).toBeUndefined();
    // Released, not left to expire: b takes it at once.
    await b.leases.keep(['channel:C1'], clock.now());
    expect(b.leases.usable('channel:C1', clock.now())).toBe(true);
    const before = { ...a.trips };
    for (let step = 0; step < 50; step++) {
      await a.leases.keep([], clock.now());
      clock.advance(1000);
    }
    expect(a.trips).toEqual(before);
  });

  it('forgets a lease it could not renew once it expires, and reports it lost', async () => {
    const clock = new ManualClock();
    const engine = new SqliteStore(':memory:');
    const store = inProcessStore(engine);
    const a = replica(store, 'a', clock);
    await a.leases.keep(['channel:C1'], clock.now());
    clock.advance(LEASE_MS);
    engine.claimLeases(['channel:C1'], 'b', clock.now(), LEASE_MS);
    expect(await a.leases.keep(['channel:C1'], clock.now())).toEqual(['channel:C1']);
    expect(a.leases.usable('channel:C1', clock.now())).toBe(false);
    expect(a.leases.names()).toEqual([]);
  });
});
