import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { Store } from '../state/store.ts';
import { LeaseSet } from './lease-set.ts';

/** A background job as a JobLease drives it: started while this replica holds its lease, stopped when it does not. */
export interface LeasedJob {
  start(): void;
  /** Resolves once whatever the job was doing has stopped. */
  stop(): Promise<void>;
}

export interface JobLeaseOptions {
  /** The lease is `job:<name>`. */
  name: string;
  job: LeasedJob;
  store: Pick<Store, 'claimLeases' | 'releaseLeases'>;
  owner: string;
  durationMs: number;
  metrics: Metrics;
  log: Logger;
  now?: () => number;
  /**
   * Called at each renewal while the job runs: a job that only hears of new work on its own
   * replica (the enrichment runner) looks for work the other replicas queued.
   */
  onRenewed?: () => void;
}

/**
 * Runs a background job on one replica at a time (docs/architecture.md, "Several replicas"):
 * claims `job:<name>` every third of the lease's duration, starts the job once it holds the
 * lease, stops it when it cannot keep it (another replica holds it, or the store did not answer
 * for two thirds of the duration), and releases it at stop() so another replica takes over at once.
 */
export class JobLease {
  private readonly options: JobLeaseOptions;
  private readonly leases: LeaseSet;
  private readonly now: () => number;
  private readonly lease: string;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** stop() was called: no further rounds, and the job does not start again. */
  private halted = false;
  /** The tick under way: stop() waits for it, so the job cannot start after stop(). */
  private ticking: Promise<void> | undefined;

  constructor(options: JobLeaseOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    this.lease = `job:${options.name}`;
    this.leases = new LeaseSet({ store: options.store, owner: options.owner, durationMs: options.durationMs, kind: 'job', metrics: options.metrics, log: options.log, now: this.now });
  }

  /** Whether the job runs on this replica now. */
  get runsHere(): boolean {
    return this.running;
  }

  /** Claims the lease now and keeps claiming it until stop(). */
  start(): void {
    this.halted = false;
    this.schedule(0);
  }

  /** Stops the job (if it runs here) and releases the lease. */
  async stop(): Promise<void> {
    this.halted = true;
    clearTimeout(this.timer);
    await this.ticking;
    await this.stopJob();
    try {
      await this.leases.release();
    } catch (error) {
      this.options.log.warn({ err: error, job: this.options.name }, 'could not release a job\'s lease at shutdown; another replica takes the job when it expires');
    }
  }

  /** One round: claim or renew, then start or stop the job. What the timer calls; tests call it under a manual clock. */
  tick(): Promise<void> {
    this.ticking ??= this.round().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  private async round(): Promise<void> {
    const now = this.now();
    await this.leases.keep([this.lease], now);
    if (this.halted) return;
    if (this.leases.usable(this.lease, this.now())) {
      if (!this.running) {
        this.running = true;
        this.options.log.info({ job: this.options.name, owner: this.options.owner }, 'this replica runs the job now');
        this.options.job.start();
      } else {
        this.options.onRenewed?.();
      }
    } else {
      await this.stopJob();
    }
  }

  private async stopJob(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.options.log.info({ job: this.options.name, owner: this.options.owner }, 'this replica no longer runs the job');
    await this.options.job.stop();
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      void this.tick().finally(() => {
        if (this.halted) return;
        // Renewal at a third of the duration; sooner after a failed claim (LeaseSet retries in a second).
        const next = this.leases.nextDueAt(this.now()) ?? this.now() + this.leases.thirdMs;
        this.schedule(Math.max(0, Math.min(next - this.now(), this.leases.thirdMs)));
      });
    }, delayMs);
    this.timer.unref();
  }
}
