import type { OutboxConfig } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { DeliveryAttempts, Store } from '../state/store.ts';
import type { AuthPause } from './auth-pause.ts';
import type { ChannelFallback } from './channel-fallback.ts';
import type { Delivery } from './delivery.ts';
import type { SlackFailure } from './slack-api.ts';
import type { SlackPacing } from './slack-pacing.ts';

/**
 * `attempts` at or above this: the give-up was already reported (log line and metric) and the
 * delivery is retried every maxBackoffMs. Kept in the row so a restart does not report it again.
 */
const GAVE_UP_ATTEMPTS = 1_000_000;

export interface DeliveryFailuresOptions {
  store: Store;
  log: Logger;
  metrics: Metrics;
  config: OutboxConfig;
  pacing: SlackPacing;
  fallback: ChannelFallback;
  pause: AuthPause;
  now: () => number;
  random: () => number;
}

/**
 * What a failed delivery does next, by what Slack said: a 429 waits for its Retry-After, a
 * refused token pauses everything, a channel that refuses a post sends it to the default
 * channel, a deleted message is posted again, a request Slack calls wrong is abandoned (and
 * reported), and everything else backs off and stays queued, reported once after giveUpAfterMs.
 */
export class DeliveryFailures {
  private readonly options: DeliveryFailuresOptions;

  constructor(options: DeliveryFailuresOptions) {
    this.options = options;
  }

  /** Records a failed delivery; a store that cannot write pauses the channel in memory instead. */
  async record(delivery: Delivery, failure: SlackFailure, method: string | undefined): Promise<void> {
    try {
      await this.handle(delivery, failure, method);
    } catch (error) {
      const retryInMs = this.options.config.initialBackoffMs * 5;
      this.options.pacing.holdChannel(delivery.target, this.options.now() + retryInMs);
      this.options.log.error({ err: error, channel: delivery.target, kind: delivery.kind }, 'cannot record a failed Slack delivery in the store; trying that channel again later');
    }
  }

  private async handle(delivery: Delivery, failure: SlackFailure, method: string | undefined): Promise<void> {
    const { store, log, config, pacing, fallback, pause } = this.options;
    const now = this.options.now();
    const { record, target } = delivery;
    // Slack answered (an error or a 429): the post did not happen, so nothing needs looking up.
    const postRefused = method === 'chat.postMessage' && !(failure.kind === 'retryable' && failure.uncertain === true);
    if (postRefused) await this.clearIntent(delivery);

    if (failure.kind === 'rate_limited') {
      pacing.rateLimited(target, method, now + failure.retryAfterMs);
      log.warn({ channel: target, method, retryAfterMs: failure.retryAfterMs }, 'Slack rate limited us; pausing');
      return;
    }
    if (failure.kind === 'auth') {
      // Nothing is deferred or counted: the delivery waits for the token like every other one.
      pause.pause(failure.reason, now);
      return;
    }
    if (failure.kind === 'channel' && method === 'chat.postMessage' && fallback.canFallBack(delivery)) {
      fallback.markUnreachable(target, failure.reason, now);
      return;
    }
    if (delivery.kind === 'move') {
      // The copy in the default channel stays, and is still edited; the move is tried again later.
      fallback.moveFailed(target, now);
      log.warn({ channel: target, groupKey: delivery.record.groupKey, reason: failure.reason }, 'could not move an alert message back to its channel; trying again later');
      return;
    }
    if ((delivery.kind === 'message' || delivery.kind === 'detail') && failure.kind === 'permanent' && failure.reason === 'message_not_found') {
      log.warn({ kind: delivery.kind, groupKey: delivery.record.groupKey, channel: target }, 'the message was deleted in Slack; posting it again');
      if (delivery.kind === 'message') await store.forgetMessage(delivery.record.id);
      else await store.forgetDetail(delivery.record.groupId);
      return;
    }
    if (failure.kind === 'permanent') {
      await this.abandon(delivery, failure.reason);
      return;
    }

    // Retryable, or a channel error with nowhere else to go: back off, and never drop it.
    const failingSince = record.delivery.failingSince ?? now;
    const failingFor = now - failingSince;
    let attempts = record.delivery.attempts + 1;
    if (failingFor >= config.giveUpAfterMs && attempts < GAVE_UP_ATTEMPTS) {
      this.reportGiveUp(delivery, failure.reason, failingFor);
      attempts = GAVE_UP_ATTEMPTS;
    }
    const backoff = attempts >= GAVE_UP_ATTEMPTS ? config.maxBackoffMs : Math.min(config.maxBackoffMs, config.initialBackoffMs * 2 ** (attempts - 1));
    const channelWait = failure.kind === 'channel' ? config.channelRetryMs : 0;
    const next: DeliveryAttempts = { attempts, failingSince, nextAttemptAt: now + Math.max(channelWait, Math.round(backoff * (0.5 + this.options.random() / 2))) };
    const line = { channel: target, kind: delivery.kind, reason: failure.reason, attempts: Math.min(attempts, record.delivery.attempts + 1) };
    if (failure.kind === 'channel') log.error(line, 'Lookout cannot post in this channel and has no other to use; invite Lookout to it. Retrying');
    else log.warn(line, 'Slack delivery failed; will retry');
    if (delivery.kind === 'message') await store.deferMessage(delivery.record.id, next);
    else if (delivery.kind === 'notice') await store.deferNotice(delivery.record.id, next);
    else if (delivery.kind === 'detail') await store.deferDetail(delivery.record.groupId, next);
    else await store.deferReply(delivery.record.id, next);
  }

  /** Only called for a chat.postMessage that failed: replies record no intent. */
  private async clearIntent(delivery: Delivery): Promise<void> {
    if (delivery.kind === 'message' || delivery.kind === 'move') await this.options.store.clearMessagePost(delivery.record.id);
    else if (delivery.kind === 'detail') await this.options.store.clearDetailPost(delivery.record.groupId);
    else if (delivery.kind === 'notice') await this.options.store.clearNoticePost(delivery.record.id);
  }

  /** Failing for longer than giveUpAfterMs: said loudly once; the delivery stays queued and is retried. */
  private reportGiveUp(delivery: Delivery, reason: string, failingForMs: number): void {
    const { log, metrics, config } = this.options;
    metrics.outboxGaveUp.inc({ kind: delivery.kind === 'move' ? 'message' : delivery.kind, reason });
    log.error(
      { kind: delivery.kind, channel: delivery.target, reason, failingForMs, ...('groupKey' in delivery.record ? { groupKey: delivery.record.groupKey } : {}) },
      `a Slack delivery has failed for longer than giveUpAfterMs; it stays queued and is retried every ${config.maxBackoffMs} ms`,
    );
  }

  /** A permanent error: this version (or this reply/notice) cannot be delivered as it is. */
  private async abandon(delivery: Delivery, reason: string): Promise<void> {
    const { store, log, metrics } = this.options;
    metrics.outboxGaveUp.inc({ kind: delivery.kind === 'move' ? 'message' : delivery.kind, reason });
    if (delivery.kind === 'message' || delivery.kind === 'move') {
      log.error(
        { groupKey: delivery.record.groupKey, channel: delivery.target, version: delivery.record.version, reason },
        'Slack refused an alert message for good; it is sent again when the group changes',
      );
      await store.abandonMessage(delivery.record.id, delivery.record.version);
    } else if (delivery.kind === 'detail') {
      log.error({ groupKey: delivery.record.groupKey, channel: delivery.target, reason }, 'Slack refused a detail message for good; it is sent again when the enrichment changes');
      await store.abandonDetail(delivery.record.groupId, delivery.record.version);
    } else if (delivery.kind === 'notice') {
      log.error({ channel: delivery.target, noticeId: delivery.record.id, reason }, 'Slack refused a notice (audit line) for good; dropped');
      await store.removeNotice(delivery.record.id);
    } else {
      log.error({ channel: delivery.target, replyId: delivery.record.id, reason }, 'Slack refused a thread reply for good; dropped');
      await store.removeReply(delivery.record.id);
    }
  }
}
