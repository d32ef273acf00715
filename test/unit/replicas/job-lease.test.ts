import { describe, expect, it } from 'vitest';
import { JobLease, type LeasedJob } from '../../../src/replicas/job-lease.ts';
import { inProcessStore } from '../../../src/state/in-process-store.ts';
import { SqliteStore } from '../../../src/state/sqlite-store.ts';
import type { Store } from '../../../src/state/store.ts';
import { ManualClock, freshMetrics, metricValue, recordingLogger } from '../../helpers/fakes.ts';

const LEASE_MS = 9000;

/** A job that records when it ran, as the replicas' shared view of "who runs it now". */
class RecordingJob implements LeasedJob {
  running = false;
  readonly starts: number[] = [];
  private readonly clock: ManualClock;
  constructor(clock: ManualClock) {
    this.clock = clock;
  }
  start(): void {
    this.running = true;
    this.starts.push(this.clock.now());
  }
  async stop(): Promise<void> {
    this.running = false;
  }
}

function twoReplicas() {
  const clock = new ManualClock();
  const store = inProcessStore(new SqliteStore(':memory:'));
  const replica = (owner: string) => {
    const job = new RecordingJob(clock);
    const database = { down: false };
    const own: Pick<Store, 'claimLeases' | 'releaseLeases'> = {
      claimLeases: async (...args) => {
        if (database.down) throw new Error('connection lost');
        return store.claimLeases(...args);
      },
      releaseLeases: (...args) => store.releaseLeases(...args),
    };
    const metrics = freshMetrics();
    const lease = new JobLease({ name: 'reconcile', job, store: own, owner, durationMs: LEASE_MS, metrics, log: recordingLogger().log, now: clock.now });
    return { job, lease, database, metrics };
  };
  return { clock, store, a: replica('a'), b: replica('b') };
}

describe('JobLease', () => {
  it('runs the job on exactly one of two replicas while both renew', async () => {
    const { clock, store, a, b } = twoReplicas();
    for (let i = 0; i < 10; i++) {
      await a.lease.tick();
      await b.lease.tick();
      expect(a.job.running !== b.job.running).toBe(true);
      clock.advance(LEASE_MS / 3);
    }
    expect(a.job.starts).toHaveLength(1);
    expect(b.job.starts).toHaveLength(0);
    expect((await store.leaseHolder('job:reconcile', clock.now()))?.owner).toBe('a');
    expect(await metricValue(a.metrics, 'lookout_leases_held', { kind: 'job' })).toBe(1);
  });

  it('starts the job on the other replica once a killed holder\'s lease expires', async () => {
    const { clock, a, b } = twoReplicas();
    await a.lease.tick();
    const claimedAt = clock.now();
    // a is killed: no more ticks. b keeps trying every second.
    while (!b.job.running) {
      clock.advance(1000);
      await b.lease.tick();
      expect(clock.now() - claimedAt).toBeLessThanOrEqual(LEASE_MS + 1000);
    }
    expect(b.job.starts[0]).toBeGreaterThanOrEqual(claimedAt + LEASE_MS);
    expect(await metricValue(b.metrics, 'lookout_lease_takeovers_total', { kind: 'job' })).toBe(1);
  });

  it('stops the job when it cannot renew, a third of the duration before another replica may start it', async () => {
    const { clock, a, b } = twoReplicas();
    await a.lease.tick();
    const claimedAt = clock.now();
    a.database.down = true;
    let stoppedAt: number | undefined;
    while (!b.job.running) {
      clock.advance(500);
      await a.lease.tick();
      if (!a.job.running) stoppedAt ??= clock.now();
      await b.lease.tick();
      expect(a.job.running && b.job.running).toBe(false);
    }
    expect(stoppedAt).toBeLessThanOrEqual(claimedAt + LEASE_MS - LEASE_MS / 3 + 500);
    expect(b.job.starts[0]).toBeGreaterThanOrEqual(claimedAt + LEASE_MS);
  });

  it('hands the job over at once when its holder stops, and does not start it again after stop()', async () => {
    const { clock, a, b } = twoReplicas();
    await a.lease.tick();
    await a.lease.stop();
    expect(a.job.running).toBe(false);
    await b.lease.tick();
    expect(b.job.running).toBe(true);
    // A tick after stop() (a timer that fired meanwhile) neither claims nor starts anything.
    clock.advance(LEASE_MS * 2);
    await b.lease.stop();
    await a.lease.tick();
    expect(a.job.starts).toHaveLength(1);
    expect(a.job.running).toBe(false);
  });
});
