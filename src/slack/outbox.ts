import type { GroupState } from '../../alerts/group-state.ts';
import type { OutboxConfig } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { DeliveryAttempts, DetailRecord, GroupRecord, NoticeRecord, ReplyRecord, Store } from '../state/store.ts';
import { SlackCallError, type OutgoingMessage, type SlackApi, type SlackFailure } from './slack-api.ts';

export interface RenderedMessage {
  text: string;
  blocks: NonNullable<OutgoingMessage['blocks']>;
}

export interface OutboxOptions {
  store: Store;
  slack: SlackApi;
  /** The group's message from its latest state (and the record's enrichment). */
  render: (state: GroupState, record: GroupRecord) => RenderedMessage;
  /**
   * The group's thread detail message (enrichment detail: events, log excerpts); undefined when
   * there is nothing to show. Without it, detail messages are never sent.
   */
  renderDetail?: (detail: DetailRecord) => RenderedMessage | undefined;
  metrics: Metrics;
  log: Logger;
  config: OutboxConfig;
  now?: () => number;
  random?: () => number;
  /** Slack calls in flight at once, across channels. */
  maxConcurrentCalls?: number;
}

type Delivery =
  | { kind: 'message'; record: GroupRecord }
  | { kind: 'reply'; record: ReplyRecord }
  | { kind: 'notice'; record: NoticeRecord }
  | { kind: 'detail'; record: DetailRecord };

/** Slack errors that say the blocks were rejected; the message is re-sent as plain text. */
const BLOCK_ERRORS = new Set(['invalid_blocks', 'invalid_blocks_format', 'msg_too_long', 'msg_blocks_too_long']);

/** chat.update is limited per workspace (Tier 3), chat.postMessage per channel. */
const WORKSPACE_LIMITED_METHOD = 'chat.update';

/**
 * Delivers group messages, thread replies and notices (standalone lines such as the audit
 * channel's) from the store to Slack.
 *
 * - About one call per channel per `minIntervalMs` (Slack's posting limit), and a 429's
 *   Retry-After pauses the channel (or, for chat.update, the method) for that long.
 * - Coalescing is structural: a group's message is rendered from its latest state at send
 *   time, so any number of changes while it waits costs one call.
 * - 5xx and network errors back off exponentially (with jitter) and are abandoned only after
 *   `giveUpAfterMs`, with an error log line and `lookout_outbox_gave_up_total`.
 * - Everything pending lives in the store, so a restart resumes where it stopped.
 */
export class Outbox {
  private readonly options: Required<OutboxOptions>;
  private readonly channelFreeAt = new Map<string, number>();
  private readonly methodFreeAt = new Map<string, number>();
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private wokenEarly = false;

  constructor(options: OutboxOptions) {
    this.options = { now: Date.now, random: Math.random, maxConcurrentCalls: 8, renderDetail: () => undefined, ...options };
  }

  /** Start delivering in the background until stop(). */
  start(): void {
    this.stopped = false;
    this.loop ??= this.run();
  }

  /** Something new is pending: deliver it without waiting for the current sleep to end. */
  wake(): void {
    this.wokenEarly = true;
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loop;
    this.loop = undefined;
  }

  /**
   * One pass: at most one call for each channel whose interval has passed.
   * @returns when the next pass has work to do, or null when nothing is pending.
   */
  async deliverDue(): Promise<number | null> {
    const now = this.options.now();
    const { deliveries, readyLeft } = this.pick(now);
    await Promise.all(deliveries.map((delivery) => this.deliver(delivery)));
    this.reportDepth();
    return readyLeft ? this.options.now() : this.nextPassAt(this.options.now());
  }

  private pick(now: number): { deliveries: Delivery[]; readyLeft: boolean } {
    const { store, maxConcurrentCalls } = this.options;
    const byChannel = new Map<string, Delivery>();
    const updatesPaused = (this.methodFreeAt.get(WORKSPACE_LIMITED_METHOD) ?? 0) > now;
    for (const record of store.nextMessagePerChannel(now)) {
      if (record.messageTs !== null && updatesPaused) continue;
      byChannel.set(record.channel, { kind: 'message', record });
    }
    // A group's detail message right after the group's message, before change replies.
    for (const record of store.nextDetailPerChannel(now)) {
      if (record.messageTs !== null && updatesPaused) continue;
      if (!byChannel.has(record.channel)) byChannel.set(record.channel, { kind: 'detail', record });
    }
    for (const record of store.nextReplyPerChannel(now)) {
      if (!byChannel.has(record.channel)) byChannel.set(record.channel, { kind: 'reply', record });
    }
    // Notices (audit lines) after alerts: in a shared channel an alert is the more urgent post.
    for (const record of store.nextNoticePerChannel(now)) {
      if (!byChannel.has(record.channel)) byChannel.set(record.channel, { kind: 'notice', record });
    }
    const ready = [...byChannel.values()].filter((delivery) => (this.channelFreeAt.get(delivery.record.channel) ?? 0) <= now);
    return { deliveries: ready.slice(0, maxConcurrentCalls), readyLeft: ready.length > maxConcurrentCalls };
  }

  private nextPassAt(now: number): number | null {
    const due = this.options.store.nextDueAt();
    if (due === null) return null;
    if (due > now) return due;
    // Work is due but every channel that has some is waiting out its interval or a 429.
    const gates = [...this.channelFreeAt.values(), ...this.methodFreeAt.values()].filter((at) => at > now);
    return gates.length > 0 ? Math.min(...gates) : now + this.options.config.minIntervalMs;
  }

  private async deliver(delivery: Delivery): Promise<void> {
    const { channel } = delivery.record;
    const startedAt = this.options.now();
    this.channelFreeAt.set(channel, startedAt + this.options.config.minIntervalMs);
    try {
      if (delivery.kind === 'message') await this.deliverMessage(delivery.record);
      else if (delivery.kind === 'notice') await this.deliverNotice(delivery.record);
      else if (delivery.kind === 'detail') await this.deliverDetail(delivery.record);
      else await this.deliverReply(delivery.record);
    } catch (error) {
      const failure: SlackFailure =
        error instanceof SlackCallError ? error.failure : { kind: 'retryable', reason: 'unexpected_error' };
      if (!(error instanceof SlackCallError)) this.options.log.error({ err: error, channel }, 'unexpected error delivering to Slack');
      this.handleFailure(delivery, failure);
    }
  }

  private async deliverMessage(record: GroupRecord): Promise<void> {
    const { store, slack, render, metrics } = this.options;
    const message = render(record.state, record);
    const send = async (body: OutgoingMessage): Promise<string> => {
      if (record.messageTs === null) return (await slack.postMessage(body)).ts;
      await slack.updateMessage({ ...body, ts: record.messageTs });
      return record.messageTs;
    };
    const ts = await this.withPlainTextFallback(
      (withBlocks) => send({ channel: record.channel, text: message.text, ...(withBlocks ? { blocks: message.blocks } : {}) }),
      { kind: 'message', groupKey: record.groupKey },
    );
    store.markMessageDelivered(record.id, ts, record.version);
    metrics.deliveryLatency.observe(Math.max(0, this.options.now() - record.changedAt) / 1000);
  }

  /** Posted once in the group's thread, then edited in place: never a second detail message. */
  private async deliverDetail(record: DetailRecord): Promise<void> {
    const { store, slack, renderDetail } = this.options;
    const message = renderDetail(record);
    if (message === undefined && record.messageTs === null) {
      // Nothing to show and nothing shown: this version needs no call.
      store.abandonDetail(record.groupId, record.version);
      return;
    }
    const body = message ?? { text: 'No details.', blocks: [] };
    const send = async (blocks: RenderedMessage['blocks'] | undefined): Promise<string> => {
      const outgoing: OutgoingMessage = { channel: record.channel, text: body.text, ...(blocks && blocks.length > 0 ? { blocks } : {}) };
      if (record.messageTs === null) return (await slack.postMessage({ ...outgoing, threadTs: record.parentTs })).ts;
      await slack.updateMessage({ ...outgoing, ts: record.messageTs });
      return record.messageTs;
    };
    const ts = await this.withPlainTextFallback((withBlocks) => send(withBlocks ? body.blocks : undefined), { kind: 'detail', groupKey: record.groupKey });
    store.markDetailDelivered(record.groupId, ts, record.version);
  }

  /**
   * Sends with blocks and, when Slack refuses the layout, once more as plain text: the text
   * still tells people about the alert.
   */
  private async withPlainTextFallback(send: (withBlocks: boolean) => Promise<string>, context: { kind: string; groupKey: string }): Promise<string> {
    try {
      return await send(true);
    } catch (error) {
      if (!(error instanceof SlackCallError) || error.failure.kind !== 'permanent' || !BLOCK_ERRORS.has(error.failure.reason)) throw error;
      this.options.log.warn({ ...context, reason: error.failure.reason }, 'Slack rejected the blocks; sending plain text');
      return send(false);
    }
  }

  private async deliverReply(record: ReplyRecord): Promise<void> {
    if (record.messageTs === null) return;
    await this.options.slack.postMessage({ channel: record.channel, text: record.text, threadTs: record.messageTs });
    this.options.store.removeReply(record.id);
  }

  private async deliverNotice(record: NoticeRecord): Promise<void> {
    await this.options.slack.postMessage({ channel: record.channel, text: record.text });
    this.options.store.removeNotice(record.id);
  }

  private handleFailure(delivery: Delivery, failure: SlackFailure): void {
    const { store, log, config } = this.options;
    const now = this.options.now();
    const { record } = delivery;

    if (failure.kind === 'rate_limited') {
      const until = now + failure.retryAfterMs;
      this.channelFreeAt.set(record.channel, until);
      if ((delivery.kind === 'message' || delivery.kind === 'detail') && delivery.record.messageTs !== null) {
        this.methodFreeAt.set(WORKSPACE_LIMITED_METHOD, until);
      }
      log.warn({ channel: record.channel, retryAfterMs: failure.retryAfterMs }, 'Slack rate limited us; pausing');
      return;
    }
    if ((delivery.kind === 'message' || delivery.kind === 'detail') && failure.kind === 'permanent' && failure.reason === 'message_not_found') {
      log.warn({ kind: delivery.kind, groupKey: delivery.record.groupKey, channel: record.channel }, 'the message was deleted in Slack; posting it again');
      if (delivery.kind === 'message') store.forgetMessage(delivery.record.id);
      else store.forgetDetail(delivery.record.groupId);
      return;
    }

    const failingSince = record.delivery.failingSince ?? now;
    if (failure.kind === 'permanent' || now - failingSince >= config.giveUpAfterMs) {
      this.giveUp(delivery, failure.reason);
      return;
    }
    const attempts = record.delivery.attempts + 1;
    const backoff = Math.min(config.maxBackoffMs, config.initialBackoffMs * 2 ** (attempts - 1));
    const next: DeliveryAttempts = { attempts, failingSince, nextAttemptAt: now + Math.round(backoff * (0.5 + this.options.random() / 2)) };
    log.warn({ channel: record.channel, kind: delivery.kind, reason: failure.reason, attempts }, 'Slack delivery failed; will retry');
    if (delivery.kind === 'message') store.deferMessage(record.id, next);
    else if (delivery.kind === 'notice') store.deferNotice(record.id, next);
    else if (delivery.kind === 'detail') store.deferDetail(delivery.record.groupId, next);
    else store.deferReply(record.id, next);
  }

  private giveUp(delivery: Delivery, reason: string): void {
    const { store, log, metrics } = this.options;
    metrics.outboxGaveUp.inc({ kind: delivery.kind, reason });
    if (delivery.kind === 'message') {
      log.error(
        { groupKey: delivery.record.groupKey, channel: delivery.record.channel, version: delivery.record.version, reason },
        'gave up delivering an alert message to Slack',
      );
      store.abandonMessage(delivery.record.id, delivery.record.version);
    } else if (delivery.kind === 'detail') {
      log.error({ groupKey: delivery.record.groupKey, channel: delivery.record.channel, reason }, 'gave up delivering a detail message to Slack');
      store.abandonDetail(delivery.record.groupId, delivery.record.version);
    } else if (delivery.kind === 'notice') {
      log.error({ channel: delivery.record.channel, noticeId: delivery.record.id, reason }, 'gave up delivering a notice (audit line) to Slack');
      store.removeNotice(delivery.record.id);
    } else {
      log.error({ channel: delivery.record.channel, replyId: delivery.record.id, reason }, 'gave up delivering a thread reply to Slack');
      store.removeReply(delivery.record.id);
    }
  }

  private reportDepth(): void {
    const depth = this.options.store.outboxDepth();
    this.options.metrics.outboxDepth.set({ kind: 'message' }, depth.messages);
    this.options.metrics.outboxDepth.set({ kind: 'reply' }, depth.replies);
    this.options.metrics.outboxDepth.set({ kind: 'notice' }, this.options.store.pendingNotices());
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      this.wokenEarly = false;
      let next: number | null;
      try {
        next = await this.deliverDue();
      } catch (error) {
        this.options.log.error({ err: error }, 'outbox pass failed; retrying shortly');
        next = this.options.now() + 1000;
      }
      if (this.stopped || this.wokenEarly) continue;
      await this.sleepUntil(next);
    }
  }

  private sleepUntil(at: number | null): Promise<void> {
    return new Promise((resolve) => {
      const timer = at === null ? undefined : setTimeout(done, Math.max(0, at - this.options.now()));
      this.wakeUp = done;
      function done(): void {
        if (timer) clearTimeout(timer);
        resolve();
      }
    });
  }
}
