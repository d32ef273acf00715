import type { Logger } from './log.ts';

export interface InboxWorkerOptions {
  /** Folds what is in the inbox; resolves to how many notifications changed something to deliver. */
  process: () => Promise<number>;
  /** Something changed: wake the outbox and enrichment. */
  onChanged: () => void;
  /** The store's problem (store.ping()), or undefined while it can write. */
  storeProblem: () => string | undefined;
  log: Logger;
  firstRetryMs?: number;
  maxRetryMs?: number;
}

/**
 * Runs the inbox processor: once per event-loop turn however many webhooks asked, and after a
 * failure ONE retry timer with backoff, which every later request waits for. It used to start
 * a timer per failure, so while the store failed each webhook added a retry loop of its own and
 * the errors multiplied. While the store cannot write it does not retry at all: the store's
 * recovery probe calls wake() when writes work again.
 */
export class InboxWorker {
  private readonly options: Required<InboxWorkerOptions>;
  private immediate: NodeJS.Immediate | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs: number;
  private stopped = false;
  /** A run is under way; a wake meanwhile runs once more after it (the new notifications may be too late for it). */
  private running = false;
  private again = false;

  constructor(options: InboxWorkerOptions) {
    this.options = { firstRetryMs: 1000, maxRetryMs: 30_000, ...options };
    this.retryMs = this.options.firstRetryMs;
  }

  /** New notifications (or the store recovered): process them soon, unless a retry is already pending. */
  wake(): void {
    if (this.stopped || this.retryTimer !== undefined) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.immediate ??= setImmediate(() => void this.run());
  }

  stop(): void {
    this.stopped = true;
    if (this.immediate) clearImmediate(this.immediate);
    clearTimeout(this.retryTimer);
    this.immediate = undefined;
    this.retryTimer = undefined;
  }

  private async run(): Promise<void> {
    this.immediate = undefined;
    const { process, onChanged, storeProblem, log } = this.options;
    if (this.stopped || storeProblem() !== undefined) return;
    this.running = true;
    this.again = false;
    try {
      if ((await process()) > 0) onChanged();
      this.retryMs = this.options.firstRetryMs;
    } catch (error) {
      this.again = false;
      const problem = storeProblem();
      if (problem !== undefined) {
        // The store logged the cause and probes on its own; it wakes this worker when it can write.
        log.warn({ storeProblem: problem }, 'processing alert notifications stopped: the state store cannot write; waiting for it');
        return;
      }
      // The notifications stay in the inbox; one retry, with backoff so a poison notification does not spin.
      log.error({ err: error, retryMs: this.retryMs }, 'processing alert notifications failed; retrying');
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.wake();
      }, this.retryMs);
      this.retryMs = Math.min(this.options.maxRetryMs, this.retryMs * 2);
    } finally {
      this.running = false;
      if (this.again) this.wake();
    }
  }
}
