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
 * Puts accepted webhook payloads in the inbox with one transaction per event-loop turn (group
 * commit). Every commit is an fsync (synchronous=FULL): with one per request a burst of webhooks
 * spent most of Lookout's time in fsync. The store's worker thread commits batches that arrive
 * while it is busy together too. A caller's promise settles only after its payload's transaction
 * committed, so a 2xx still means "on disk"; if the commit fails, every payload of that batch is refused.
 */
export class NotificationIntake {
  private readonly store: NotificationIntakeOptions['store'];
  private readonly now: () => number;
  private readonly schedule: (flush: () => void) => void;
  private waiting: Waiting[] = [];

  constructor({ store, now, schedule = (flush) => setImmediate(flush) }: NotificationIntakeOptions) {
    this.store = store;
    this.now = now;
    this.schedule = schedule;
  }

  /** Resolves once the payload is stored; rejects with the store's error if it could not be. */
  add(payload: AlertmanagerPayload): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ payload, receivedAt: this.now(), resolve, reject });
      if (this.waiting.length === 1) this.schedule(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.waiting;
    this.waiting = [];
    this.store.addNotifications(batch.map(({ payload, receivedAt }) => ({ payload, receivedAt }))).then(
      () => {
        for (const { resolve } of batch) resolve();
      },
      (error: unknown) => {
        for (const { reject } of batch) reject(error);
      },
    );
  }
}
