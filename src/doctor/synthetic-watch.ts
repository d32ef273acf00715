import { SYNTHETIC_LABEL } from '../../alerts/route-channel.ts';
import type { GroupRecord } from '../state/store.ts';

/** When a synthetic alert's group message reached Slack, and what it went through. */
export interface SyntheticArrival {
  /** When Lookout received the webhook notification behind the shown version (ms). */
  receivedAt: number;
  /** When Slack answered the post or edit (ms). */
  shownAt: number;
  channel: string;
  /** Whether the shown version had the synthetic alert firing (false: resolved). */
  firing: boolean;
}

/**
 * Hands the outbox's "Slack shows this group message now" to whoever waits for a synthetic
 * alert (by its `lookout_synthetic` id): the doctor learns of the post the moment it is made,
 * without polling Slack or the store.
 */
export class SyntheticWatch {
  private readonly waiting = new Map<string, { firing: boolean; resolve: (arrival: SyntheticArrival) => void }>();

  private readonly now: () => number;

  constructor(now: () => number) {
    this.now = now;
  }

  /** Resolves when the alert with this id is shown firing (or resolved, with `firing: false`); rejects when `signal` aborts. */
  wait(id: string, firing: boolean, signal: AbortSignal): Promise<SyntheticArrival> {
    return new Promise((resolve, reject) => {
      const key = `${id}/${firing}`;
      const stop = () => {
        this.waiting.delete(key);
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      if (signal.aborted) return stop();
      signal.addEventListener('abort', stop, { once: true });
      this.waiting.set(key, {
        firing,
        resolve: (arrival) => {
          signal.removeEventListener('abort', stop);
          this.waiting.delete(key);
          resolve(arrival);
        },
      });
    });
  }

  /** The outbox's OutboxOptions.onMessageShown. */
  shown(record: GroupRecord, channel: string): void {
    if (this.waiting.size === 0) return;
    for (const alert of record.state.alerts) {
      const id = alert.labels[SYNTHETIC_LABEL];
      if (id === undefined) continue;
      const firing = alert.status === 'firing';
      this.waiting.get(`${id}/${firing}`)?.resolve({ receivedAt: record.changedAt, shownAt: this.now(), channel, firing });
    }
  }
}
