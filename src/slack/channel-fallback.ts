import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { Delivery } from './delivery.ts';

/**
 * Channels Lookout cannot post in (not invited, archived, missing): while one refuses, its alerts
 * and notices go to the default channel, and every `channelRetryMs` it is tried again, by a new
 * post or by moving an alert back from the default channel. Memory only: after a restart the
 * first post finds out again.
 */
export class ChannelFallback {
  /** Channels Lookout could not post in, and when to try them again. */
  private readonly unreachable = new Map<string, { reason: string; retryAt: number }>();
  /** Channels whose last move back failed for another reason, and when to try again. */
  private readonly moveNotBefore = new Map<string, number>();
  private readonly defaultChannel: string | undefined;
  private readonly channelRetryMs: number;
  private readonly log: Logger;
  private readonly metrics: Metrics;

  constructor(options: { defaultChannel: string | undefined; channelRetryMs: number; log: Logger; metrics: Metrics }) {
    this.defaultChannel = options.defaultChannel;
    this.channelRetryMs = options.channelRetryMs;
    this.log = options.log;
    this.metrics = options.metrics;
  }

  /** The default channel, while `channel` is known not to take Lookout's posts. */
  fallbackFor(channel: string, now: number): string | undefined {
    const { defaultChannel } = this;
    if (defaultChannel === undefined || channel === defaultChannel) return undefined;
    return (this.unreachable.get(channel)?.retryAt ?? 0) > now ? defaultChannel : undefined;
  }

  /** Why Lookout could not post in `channel` (a Slack error code), if it knows. */
  reasonFor(channel: string): string | undefined {
    return this.unreachable.get(channel)?.reason;
  }

  /** When alerts living in the default channel may next be moved back to `channel`. */
  moveDueAt(channel: string, now: number): number {
    return Math.max(this.unreachable.get(channel)?.retryAt ?? now, this.moveNotBefore.get(channel) ?? now);
  }

  /** A first post, a move or a notice can go elsewhere (the default channel) while its channel refuses. */
  canFallBack(delivery: Delivery): boolean {
    if (delivery.kind === 'move') return true;
    const { defaultChannel } = this;
    if (defaultChannel === undefined || delivery.target === defaultChannel) return false;
    if (delivery.kind === 'notice') return true;
    return delivery.kind === 'message' && delivery.record.messageTs === null;
  }

  markUnreachable(channel: string, reason: string, now: number): void {
    const known = this.unreachable.has(channel);
    this.unreachable.set(channel, { reason, retryAt: now + this.channelRetryMs });
    this.metrics.slackChannelsUnreachable.set(this.unreachable.size);
    const line = { channel, reason, defaultChannel: this.defaultChannel, retryInMs: this.channelRetryMs };
    if (!known) this.log.error(line, `Lookout cannot post in channel ${channel} (${reason}): invite Lookout to it. Its alerts go to the default channel meanwhile, and move back once Lookout can post there`);
    else this.log.warn(line, 'still cannot post in the channel; its alerts stay in the default channel');
  }

  /** A call to `channel` succeeded: Lookout can post there. */
  reached(channel: string): void {
    if (this.unreachable.delete(channel)) this.metrics.slackChannelsUnreachable.set(this.unreachable.size);
  }

  /** A move back to `channel` failed for another reason than the channel: the copy in the default channel stays, and is still edited. */
  moveFailed(channel: string, now: number): void {
    this.moveNotBefore.set(channel, now + this.channelRetryMs);
  }
}
