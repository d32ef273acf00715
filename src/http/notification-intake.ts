import type { AlertmanagerPayload } from '../../alerts/payload.ts';
import type { Store } from '../state/store.ts';

export interface NotificationIntakeOptions {
  store: Pick<Store, 'addNotifications'>;
  now: () => number;
  /** Runs the batch's commit later in this event-loop turn; setImmediate unless a test drives it. */
  schedule?: (flush: () => void) => void;
}

interface Waiting {
  payload: AlertmanagerPayload;
  receivedAt: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Puts accepted webhook payloads in the inbox with group commit: at most one batch is being
 * committed at a time, and everything that arrives meanwhile waits for the next one. Every
 * commit is an fsync (synchronous=FULL); one per event-loop turn made 32 requests in flight
 * cost about a dozen commits, each with its own messages to the store's worker thread, where one
 * or two carry them all. Latency stays that of one commit when requests are few (a lone request
 * finds nothing in flight), and at most two when they are many. A caller's promise settles only
 * after its payload's transaction committed, so a 2xx still means "on disk"; if the commit fails,
 * every payload of that batch is refused.
 */
export class NotificationIntake {
  private readonly store: NotificationIntakeOptions['store'];
  private readonly now: () => number;
  private readonly schedule: (flush: () => void) => void;
  private waiting: Waiting[] = [];
  private scheduled = false;
  private committing = false;

  constructor({ store, now, schedule = (flush) => setImmediate(flush) }: NotificationIntakeOptions) {
    this.store = store;
    this.now = now;
    this.schedule = schedule;
  }

  /** Resolves once the payload is stored; rejects with the store's error if it could not be. */
  add(payload: AlertmanagerPayload): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ payload, receivedAt: this.now(), resolve, reject });
      this.flushSoon();
    });
  }

  /** Later in this turn, so the turn's other requests join the batch; never while one commits. */
  private flushSoon(): void {
    if (this.scheduled || this.committing || this.waiting.length === 0) return;
    this.scheduled = true;
    this.schedule(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    const batch = this.waiting;
    this.waiting = [];
    this.committing = true;
    this.store
      .addNotifications(batch.map(({ payload, receivedAt }) => ({ payload, receivedAt })))
      .then(
        () => {
          for (const { resolve } of batch) resolve();
        },
        (error: unknown) => {
          for (const { reject } of batch) reject(error);
        },
      )
      .finally(() => {
        this.committing = false;
        this.flushSoon();
      });
  }
}
