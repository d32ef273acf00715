import type { Logger } from '../log.ts';
import type { Store } from './store.ts';

export interface RetentionOptions {
  store: Pick<Store, 'pruneResolvedGroups' | 'ping'>;
  /** Resolved group episodes older than this (ms since they resolved) are deleted. */
  resolvedGroupsMs: number;
  log: Logger;
  now?: () => number;
  /** Episodes deleted per transaction. */
  batchSize?: number;
}

/** The longest time between passes; shorter retentions (tests, the soak benchmark) prune more often. */
const MAX_PASS_INTERVAL_MS = 60 * 60_000;
/** 200 episodes with their replies: about 2–4 ms of the store's work and one fsync, per batch. */
const DEFAULT_BATCH = 200;

/**
 * Deletes resolved group episodes (and their thread replies and detail rows) once they are older
 * than the retention, so the state file stops growing with every alert ever seen. A pass deletes
 * in small transactions, so other store calls (webhooks) are served between batches.
 * An episode is only deleted once Slack shows its final state (or delivery was given up).
 * After that a notification for the same group starts a new episode with a new message, which is
 * what happens anyway when a resolved group fires again.
 */
export class RetentionPruner {
  private readonly options: Required<RetentionOptions>;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(options: RetentionOptions) {
    this.options = { now: Date.now, batchSize: DEFAULT_BATCH, ...options };
  }

  /** A pass now, then one every min(1 h, retention / 4). */
  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One pass: every batch that is due, with the event loop free between batches. */
  async prune(): Promise<number> {
    const { store, resolvedGroupsMs, batchSize, log, now } = this.options;
    let deleted = 0;
    for (;;) {
      if (this.stopped || store.ping() !== undefined) break;
      const count = await store.pruneResolvedGroups(now() - resolvedGroupsMs, batchSize);
      deleted += count;
      if (count < batchSize) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (deleted > 0) log.info({ deleted, olderThanMs: resolvedGroupsMs }, 'deleted resolved alert groups past their retention');
    return deleted;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.prune()
        .then(
          () => undefined,
          // A failed write has marked the store (it probes on its own); the next pass tries again.
          (error: unknown) => this.options.log.warn({ err: error }, 'retention pass failed; trying again at the next one'),
        )
        .finally(() => {
          this.running = undefined;
          this.schedule(Math.min(MAX_PASS_INTERVAL_MS, Math.max(1000, this.options.resolvedGroupsMs / 4)));
        });
    }, ms).unref();
  }
}
