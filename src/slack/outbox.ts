import type { GroupState } from '../../alerts/group-state.ts';
import type { OutboxConfig } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { DeliveryAttempts, DetailRecord, GroupRecord, NoticeRecord, ReplyRecord, Store } from '../state/store.ts';
import { AuthPause } from './auth-pause.ts';
import { DETAIL_MESSAGE_EVENT, findMarkedMessage, GROUP_MESSAGE_EVENT, markerFor } from './find-marked-message.ts';
import { fallbackLine, movedLine, withLine } from './fallback-lines.ts';
import { SlackCallError, type MessageMarker, type OutgoingMessage, type SlackApi, type SlackFailure } from './slack-api.ts';

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
  /**
   * Where alerts go while their own channel cannot take posts (Lookout not invited, archived…).
   * Without it, such deliveries are retried every `channelRetryMs` until the channel works.
   */
  defaultChannel?: string;
  now?: () => number;
  random?: () => number;
  /** Slack calls in flight at once, across channels (default: config.maxConcurrentCalls). */
  maxConcurrentCalls?: number;
}

type Delivery =
  /** Post or edit a group's message; `fallbackFrom` = posted to the default channel instead of this one. */
  | { kind: 'message'; record: GroupRecord; target: string; fallbackFrom?: string }
  /** Post a group's message, living in the default channel, in its own channel now that Lookout may. */
  | { kind: 'move'; record: GroupRecord; target: string }
  | { kind: 'reply'; record: ReplyRecord; target: string }
  | { kind: 'notice'; record: NoticeRecord; target: string; fallbackFrom?: string }
  | { kind: 'detail'; record: DetailRecord; target: string };

/** A delivery with a Slack call under way. */
interface Flight {
  delivery: Delivery;
  startedAt: number;
  /** Past the outbox's deadline: its channel was freed and whatever it returns later is ignored. */
  abandoned: boolean;
}

/** Slack errors that say the blocks were rejected; the message is re-sent as plain text. */
const BLOCK_ERRORS = new Set(['invalid_blocks', 'invalid_blocks_format', 'msg_too_long', 'msg_blocks_too_long']);

/** chat.update is limited per workspace (Tier 3), chat.postMessage per channel. */
const WORKSPACE_LIMITED_METHOD = 'chat.update';
/** History reads (conversations.history/replies) are limited per workspace too, and must stay rare. */
const HISTORY_METHOD = 'conversations.history';

/** The outbox frees a channel this long after the Slack client's own timeout, if a call never settles. */
const DEADLINE_MARGIN_MS = 5000;
/** Look for a marked post from this long before the intent was recorded: clocks of Slack and Lookout differ. */
const LOOKUP_MARGIN_MS = 60_000;
/**
 * `attempts` at or above this: the give-up was already reported (log line and metric) and the
 * delivery is retried every maxBackoffMs. Kept in the row so a restart does not report it again.
 */
const GAVE_UP_ATTEMPTS = 1_000_000;

/**
 * Delivers group messages, thread replies and notices (standalone lines such as the audit
 * channel's) from the store to Slack.
 *
 * - Channels are independent: each pass starts a call for every channel that is free (no call in
 *   flight, its interval passed), up to `maxConcurrentCalls` at once, and does not wait for them;
 *   a call that never settles frees its channel after the client timeout plus a margin.
 * - About one call per channel per `minIntervalMs` (Slack's posting limit), and a 429's
 *   Retry-After pauses the channel (or, for chat.update, the method) for that long.
 * - Coalescing is structural: a group's message is rendered from its latest state at send
 *   time, so any number of changes while it waits costs one call.
 * - At most one top-level message per group episode: the intent to post is written before
 *   chat.postMessage, every post carries a metadata marker, and a post whose outcome is unknown is
 *   looked up by that marker (conversations.history) and adopted instead of posted again.
 * - Errors that need a person lose nothing: a refused token pauses every delivery until auth.test
 *   passes again; a channel Lookout cannot post in gets its alerts in the default channel, and
 *   they move back once it can.
 * - 5xx and network errors back off exponentially (with jitter); after `giveUpAfterMs` an error
 *   log line and `lookout_outbox_gave_up_total` report it, and it is retried every maxBackoffMs.
 * - Everything pending lives in the store, so a restart resumes where it stopped.
 */
export class Outbox {
  private readonly options: Required<Omit<OutboxOptions, 'defaultChannel'>> & { defaultChannel: string | undefined };
  private readonly channelFreeAt = new Map<string, number>();
  private readonly methodFreeAt = new Map<string, number>();
  /** By target channel: at most one call in flight per channel. */
  private readonly inFlight = new Map<string, Flight>();
  /** Groups with a delivery in flight: a group is never worked on twice at once. */
  private readonly busyGroups = new Set<number>();
  /** Channels Lookout could not post in, and when to try them again. */
  private readonly unreachable = new Map<string, { reason: string; retryAt: number }>();
  /** Channels whose last move back failed for another reason, and when to try again. */
  private readonly moveNotBefore = new Map<string, number>();
  private readonly pause: AuthPause;
  /** The last pass left ready deliveries behind only because of the cap on calls in flight. */
  private capped = false;
  private stopped = false;
  private drainUntil: number | undefined;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private wokenEarly = false;

  constructor(options: OutboxOptions) {
    this.options = {
      now: Date.now,
      random: Math.random,
      maxConcurrentCalls: options.config.maxConcurrentCalls,
      renderDetail: () => undefined,
      ...options,
      defaultChannel: options.defaultChannel,
    };
    this.pause = new AuthPause({
      log: options.log,
      metrics: options.metrics,
      initialDelayMs: options.config.initialBackoffMs,
      maxDelayMs: options.config.authProbeMaxMs,
    });
  }

  /** Start delivering in the background until stop(). */
  start(): void {
    this.stopped = false;
    this.drainUntil = undefined;
    this.loop ??= this.run();
  }

  /** Something new is pending: deliver it without waiting for the current sleep to end. */
  wake(): void {
    this.wokenEarly = true;
    this.wakeUp?.();
  }

  /**
   * Keep delivering what is due for up to `drainMs` (calls in flight included), then stop.
   * Calls still in flight then are left to their fate: a post among them has its intent recorded,
   * so the next start looks it up instead of posting it twice.
   */
  async stop(drainMs = 0): Promise<void> {
    this.drainUntil = this.options.now() + drainMs;
    if (this.loop === undefined) return;
    this.wake();
    await this.loop;
    this.loop = undefined;
    this.stopped = true;
    for (const flight of this.inFlight.values()) flight.abandoned = true;
  }

  /** For /readyz: why Lookout cannot deliver to Slack now, or undefined. */
  problem(): string | undefined {
    return this.pause.problem();
  }

  /**
   * One pass, for tests: start what is due, wait for those calls, and say when the next pass has
   * work to do (null when nothing is pending).
   */
  async deliverDue(): Promise<number | null> {
    await Promise.all(this.pass());
    return this.nextWakeAt(this.options.now());
  }

  /**
   * Starts a call for every channel that is free and has something due, without waiting for them.
   * @returns the started deliveries (they never reject).
   */
  pass(): Array<Promise<void>> {
    const now = this.options.now();
    this.expireDeadlines(now);
    const started: Array<Promise<void>> = [];
    // No Slack call whose result cannot be recorded: on a full disk a post Slack accepted but the
    // store could not mark was due again every pass (251 duplicates in 30 s). While the store
    // cannot write (store.ping()), start nothing; its recovery wakes the outbox (store.onRecovered).
    if (this.options.store.ping() !== undefined) return started;
    if (this.pause.paused) {
      if (this.pause.probeDue(now)) {
        this.pause.probeStarted();
        started.push(this.probe());
      }
      this.reportDepth();
      return started;
    }
    const { maxConcurrentCalls } = this.options;
    const claimed = new Set<string>();
    this.capped = false;
    const consider = (delivery: Delivery | undefined): void => {
      if (delivery === undefined) return;
      const { target } = delivery;
      if (claimed.has(target) || this.inFlight.has(target) || (this.channelFreeAt.get(target) ?? 0) > now) return;
      const groupId = groupOf(delivery);
      if (groupId !== undefined && this.busyGroups.has(groupId)) return;
      if (this.inFlight.size >= maxConcurrentCalls) {
        this.capped = true;
        return;
      }
      claimed.add(target);
      started.push(this.launch(delivery, now));
    };
    const { store } = this.options;
    const updatesPaused = (this.methodFreeAt.get(WORKSPACE_LIMITED_METHOD) ?? 0) > now;
    for (const record of store.nextMessagePerChannel(now)) {
      if (record.messageTs !== null && updatesPaused) continue;
      consider(this.messageDelivery(record, now));
    }
    // A group's detail message right after the group's message, before change replies.
    for (const record of store.nextDetailPerChannel(now)) {
      if (record.messageTs !== null && updatesPaused) continue;
      if (record.messageTs === null && record.postStartedAt !== null && this.historyGated(now)) continue;
      consider({ kind: 'detail', record, target: record.channel });
    }
    for (const record of store.nextReplyPerChannel(now)) consider({ kind: 'reply', record, target: record.channel });
    // Notices (audit lines) after alerts: in a shared channel an alert is the more urgent post.
    for (const record of store.nextNoticePerChannel(now)) consider(this.noticeDelivery(record, now));
    // Alerts living in the default channel go home once their channel takes posts again.
    for (const channel of store.channelsWithMessagesAway()) {
      if (this.moveDueAt(channel, now) > now) continue;
      const record = store.groupsAwayFromChannel(channel, 1)[0];
      if (record === undefined || (record.postStartedAt !== null && this.historyGated(now))) continue;
      consider({ kind: 'move', record, target: channel });
    }
    this.reportDepth();
    return started;
  }

  private messageDelivery(record: GroupRecord, now: number): Delivery | undefined {
    if (record.messageTs !== null) return { kind: 'message', record, target: record.messageChannel ?? record.channel };
    if (record.postStartedAt !== null) {
      // An earlier post's outcome is unknown: it is looked up where it went before anything else
      // (and, if not found, posted there again: in the default channel with its line).
      if (this.historyGated(now)) return undefined;
      const target = record.postChannel ?? record.channel;
      return target === record.channel ? { kind: 'message', record, target } : { kind: 'message', record, target, fallbackFrom: record.channel };
    }
    const fallback = this.fallbackFor(record.channel, now);
    return fallback ? { kind: 'message', record, target: fallback, fallbackFrom: record.channel } : { kind: 'message', record, target: record.channel };
  }

  private noticeDelivery(record: NoticeRecord, now: number): Delivery {
    const fallback = this.fallbackFor(record.channel, now);
    return fallback ? { kind: 'notice', record, target: fallback, fallbackFrom: record.channel } : { kind: 'notice', record, target: record.channel };
  }

  /** The default channel, while `channel` is known not to take Lookout's posts. */
  private fallbackFor(channel: string, now: number): string | undefined {
    const { defaultChannel } = this.options;
    if (defaultChannel === undefined || channel === defaultChannel) return undefined;
    return (this.unreachable.get(channel)?.retryAt ?? 0) > now ? defaultChannel : undefined;
  }

  private moveDueAt(channel: string, now: number): number {
    return Math.max(this.unreachable.get(channel)?.retryAt ?? now, this.moveNotBefore.get(channel) ?? now);
  }

  private historyGated(now: number): boolean {
    return (this.methodFreeAt.get(HISTORY_METHOD) ?? 0) > now;
  }

  /** When the next pass has work to do, or null when nothing is pending. */
  private nextWakeAt(now: number): number | null {
    const deadlines = [...this.inFlight.values()].map((flight) => flight.startedAt + this.deadlineMs());
    // The store cannot write (or its file is damaged): nothing to read, only calls in flight to expire.
    if (this.options.store.ping() !== undefined) return minOf(deadlines);
    if (this.pause.paused) return minOf([this.pause.wakeAt(), ...deadlines]);
    if (this.capped && this.inFlight.size < this.options.maxConcurrentCalls) return now;
    const due = this.options.store.nextDueAt();
    const away = this.options.store.channelsWithMessagesAway().map((channel) => this.moveDueAt(channel, now));
    let next: number | null = null;
    if (due !== null && due > now) next = due;
    else if (due !== null) {
      // Work is due but every channel that has some is busy, or waiting out its interval or a 429.
      const gates = [...this.channelFreeAt.values(), ...this.methodFreeAt.values()].filter((at) => at > now);
      next = gates.length > 0 ? Math.min(...gates) : now + this.options.config.minIntervalMs;
    }
    return minOf([next, ...deadlines, ...away.map((at) => Math.max(at, now + this.options.config.minIntervalMs))]);
  }

  private deadlineMs(): number {
    return this.options.config.callTimeoutMs + DEADLINE_MARGIN_MS;
  }

  /** Calls past the deadline free their channel; their outcome counts as unknown. */
  private expireDeadlines(now: number): void {
    for (const [channel, flight] of this.inFlight) {
      if (now - flight.startedAt < this.deadlineMs()) continue;
      flight.abandoned = true;
      this.inFlight.delete(channel);
      const groupId = groupOf(flight.delivery);
      if (groupId !== undefined) this.busyGroups.delete(groupId);
      this.options.log.warn({ channel, kind: flight.delivery.kind, waitedMs: now - flight.startedAt }, 'a Slack call did not settle in time; freeing its channel');
      this.recordFailure(flight.delivery, { kind: 'retryable', reason: 'no_answer', uncertain: true }, undefined);
    }
  }

  private launch(delivery: Delivery, now: number): Promise<void> {
    const flight: Flight = { delivery, startedAt: now, abandoned: false };
    const { target } = delivery;
    this.inFlight.set(target, flight);
    const groupId = groupOf(delivery);
    if (groupId !== undefined) this.busyGroups.add(groupId);
    this.channelFreeAt.set(target, now + this.options.config.minIntervalMs);
    return this.deliver(flight).finally(() => {
      if (flight.abandoned) return;
      this.inFlight.delete(target);
      if (groupId !== undefined) this.busyGroups.delete(groupId);
      this.wake();
    });
  }

  private async deliver(flight: Flight): Promise<void> {
    const { delivery } = flight;
    try {
      if (delivery.kind === 'message') await this.deliverMessage(delivery, flight);
      else if (delivery.kind === 'move') await this.deliverMove(delivery, flight);
      else if (delivery.kind === 'notice') await this.deliverNotice(delivery);
      else if (delivery.kind === 'detail') await this.deliverDetail(delivery, flight);
      else await this.deliverReply(delivery);
      // Slack counts arrivals; this call arrived before its answer, so the next one waits a full
      // interval from the answer too (a busy event loop can otherwise send two within a second).
      if (!flight.abandoned) this.beforePost(delivery.target);
      if (!flight.abandoned && this.unreachable.delete(delivery.target)) {
        this.options.metrics.slackChannelsUnreachable.set(this.unreachable.size);
      }
    } catch (error) {
      if (flight.abandoned) return;
      this.beforePost(delivery.target);
      const failure: SlackFailure =
        error instanceof SlackCallError ? error.failure : { kind: 'retryable', reason: 'unexpected_error', uncertain: true };
      if (!(error instanceof SlackCallError)) this.options.log.error({ err: error, channel: delivery.target, kind: delivery.kind }, 'unexpected error delivering to Slack');
      this.recordFailure(delivery, failure, error instanceof SlackCallError ? error.method : undefined);
    }
  }

  /** Marks a channel free only after `minIntervalMs` from now: a post that follows a lookup counts from the post, the next call from this one's answer. */
  private beforePost(channel: string): void {
    const at = this.options.now() + this.options.config.minIntervalMs;
    this.channelFreeAt.set(channel, Math.max(this.channelFreeAt.get(channel) ?? 0, at));
  }

  private async deliverMessage(delivery: Extract<Delivery, { kind: 'message' }>, flight: Flight): Promise<void> {
    const { store, slack, render, metrics } = this.options;
    const { record, target } = delivery;
    const rendered = render(record.state, record);
    const awayFrom = delivery.fallbackFrom ?? (record.messageChannel !== null && record.messageTs !== null ? record.channel : undefined);
    const message = awayFrom === undefined ? rendered : withLine(rendered, fallbackLine(awayFrom, this.unreachable.get(awayFrom)?.reason));

    if (record.messageTs !== null) {
      const messageTs = record.messageTs;
      await this.withPlainTextFallback(
        (withBlocks) => slack.updateMessage({ channel: target, ts: messageTs, text: message.text, ...(withBlocks ? { blocks: message.blocks } : {}) }),
        { kind: 'message', groupKey: record.groupKey },
        flight,
      );
      if (flight.abandoned) return;
      store.markMessageDelivered(record.id, messageTs, record.version);
      metrics.deliveryLatency.observe(Math.max(0, this.options.now() - record.changedAt) / 1000);
      return;
    }

    const marker = markerFor(GROUP_MESSAGE_EVENT, record.groupKey, record.id);
    if (record.postStartedAt !== null) {
      const found = await this.lookUp('message', { channel: target }, marker, record.postStartedAt, record.groupKey, flight);
      if (flight.abandoned) return;
      if (found !== undefined) {
        // Shows some earlier version: recorded as showing none, so the next delivery edits it to the latest.
        store.recordMessagePosted(record.id, found, target, 0);
        return;
      }
    }
    const ts = await this.post(
      { channel: target, text: message.text, blocks: message.blocks, marker },
      () => store.startMessagePost(record.id, target, this.options.now()),
      { kind: 'message', groupKey: record.groupKey },
      flight,
    );
    if (flight.abandoned) return;
    store.recordMessagePosted(record.id, ts, target, record.version);
    metrics.deliveryLatency.observe(Math.max(0, this.options.now() - record.changedAt) / 1000);
  }

  /** Posts a message that lives in the default channel in its own channel, then marks the old copy. */
  private async deliverMove(delivery: Extract<Delivery, { kind: 'move' }>, flight: Flight): Promise<void> {
    const { store, slack, render, log } = this.options;
    const { record, target } = delivery;
    const marker = markerFor(GROUP_MESSAGE_EVENT, record.groupKey, record.id);
    let ts: string | undefined;
    let version = record.version;
    if (record.postStartedAt !== null && record.postChannel === target) {
      ts = await this.lookUp('message', { channel: target }, marker, record.postStartedAt, record.groupKey, flight);
      if (flight.abandoned) return;
      // Found: it shows some earlier version, so the next delivery edits it.
      if (ts !== undefined) version = 0;
    }
    const rendered = render(record.state, record);
    if (ts === undefined) {
      ts = await this.post(
        { channel: target, text: rendered.text, blocks: rendered.blocks, marker },
        () => store.startMessagePost(record.id, target, this.options.now()),
        { kind: 'message', groupKey: record.groupKey },
        flight,
      );
      if (flight.abandoned) return;
    }
    store.recordMessagePosted(record.id, ts, target, version);
    log.info({ groupKey: record.groupKey, channel: target }, 'Lookout can post in the channel again: the alert message moved there from the default channel');
    if (record.messageTs === null || record.messageChannel === null) return;
    // The copy in the default channel says where the alert went; if this fails, it only stays stale.
    try {
      const moved = withLine(rendered, movedLine(target));
      await slack.updateMessage({ channel: record.messageChannel, ts: record.messageTs, text: moved.text, blocks: moved.blocks });
    } catch (error) {
      log.warn({ err: error, groupKey: record.groupKey, channel: record.messageChannel }, 'could not mark the default channel\'s copy of a moved alert message');
    }
  }

  /** Posted once in the group's thread, then edited in place: never a second detail message. */
  private async deliverDetail(delivery: Extract<Delivery, { kind: 'detail' }>, flight: Flight): Promise<void> {
    const { store, slack, renderDetail } = this.options;
    const { record, target } = delivery;
    const message = renderDetail(record);
    if (message === undefined && record.messageTs === null) {
      // Nothing to show and nothing shown: this version needs no call.
      store.abandonDetail(record.groupId, record.version);
      return;
    }
    const body = message ?? { text: 'No details.', blocks: [] };
    const blocksOf = (withBlocks: boolean) => (withBlocks && body.blocks.length > 0 ? { blocks: body.blocks } : {});
    if (record.messageTs !== null) {
      const messageTs = record.messageTs;
      await this.withPlainTextFallback(
        (withBlocks) => slack.updateMessage({ channel: target, ts: messageTs, text: body.text, ...blocksOf(withBlocks) }),
        { kind: 'detail', groupKey: record.groupKey },
        flight,
      );
      if (flight.abandoned) return;
      store.markDetailDelivered(record.groupId, messageTs, record.version);
      return;
    }
    const marker = markerFor(DETAIL_MESSAGE_EVENT, record.groupKey, record.groupId);
    if (record.postStartedAt !== null) {
      const found = await this.lookUp('detail', { channel: target, threadTs: record.parentTs }, marker, record.postStartedAt, record.groupKey, flight);
      if (flight.abandoned) return;
      if (found !== undefined) {
        // Version 0: it shows something older, so the next delivery edits it.
        store.markDetailDelivered(record.groupId, found, 0);
        return;
      }
    }
    const ts = await this.post(
      { channel: target, text: body.text, blocks: body.blocks, threadTs: record.parentTs, marker },
      () => store.startDetailPost(record.groupId, this.options.now()),
      { kind: 'detail', groupKey: record.groupKey },
      flight,
    );
    if (flight.abandoned) return;
    store.markDetailDelivered(record.groupId, ts, record.version);
  }

  /**
   * chat.postMessage after recording the intent: if that write fails, nothing is posted (a post
   * that cannot be recorded could be posted again later).
   */
  private async post(
    message: OutgoingMessage & { threadTs?: string; marker: MessageMarker },
    recordIntent: () => void,
    context: { kind: string; groupKey: string },
    flight: Flight,
  ): Promise<string> {
    recordIntent();
    this.beforePost(message.channel);
    const { blocks, ...rest } = message;
    return this.withPlainTextFallback(
      async (withBlocks) => (await this.options.slack.postMessage({ ...rest, ...(withBlocks && blocks && blocks.length > 0 ? { blocks } : {}) })).ts,
      context,
      flight,
    );
  }

  /**
   * Looks for a marked post from an attempt whose outcome is unknown. A history read Slack refuses
   * for good (a missing scope, say) cannot be allowed to hold the alert forever: it is logged and
   * the post goes ahead.
   */
  private async lookUp(
    kind: 'message' | 'detail',
    where: { channel: string; threadTs?: string },
    marker: MessageMarker,
    intentAt: number,
    groupKey: string,
    flight: Flight,
  ): Promise<string | undefined> {
    const { slack, metrics, log, config } = this.options;
    try {
      const result = await findMarkedMessage(slack, where, marker, intentAt - LOOKUP_MARGIN_MS, () => {
        // An abandoned lookup reads no more pages: its delivery is already being tried again.
        if (flight.abandoned) throw new Error('the lookup was abandoned at its deadline');
        this.methodFreeAt.set(HISTORY_METHOD, Math.max(this.methodFreeAt.get(HISTORY_METHOD) ?? 0, this.options.now() + config.lookupIntervalMs));
      });
      if ('found' in result) {
        metrics.outboxLookups.inc({ kind, outcome: 'found' });
        log.warn({ kind, groupKey, channel: where.channel }, 'a post whose outcome was unknown is in Slack: adopting it instead of posting again');
        return result.found;
      }
      metrics.outboxLookups.inc({ kind, outcome: 'not_found' });
      if (!result.complete) log.warn({ kind, groupKey, channel: where.channel }, 'a post whose outcome was unknown was not found in the pages read (a very busy channel); posting');
      return undefined;
    } catch (error) {
      if (!(error instanceof SlackCallError) || (error.failure.kind !== 'permanent' && error.failure.kind !== 'channel')) throw error;
      metrics.outboxLookups.inc({ kind, outcome: 'error' });
      log.error(
        { kind, groupKey, channel: where.channel, reason: error.failure.reason },
        'cannot read the channel history to look for a post whose outcome is unknown (is the channels:history / groups:history scope granted?); posting, which may duplicate it',
      );
      return undefined;
    }
  }

  /**
   * Sends with blocks and, when Slack refuses the layout, once more as plain text: the text
   * still tells people about the alert. Not once the call was abandoned at its deadline: the
   * delivery was tried again meanwhile, and a late plain-text copy would be a second post, or
   * put an older version back over a newer edit.
   */
  private async withPlainTextFallback<T>(send: (withBlocks: boolean) => Promise<T>, context: { kind: string; groupKey: string }, flight: Flight): Promise<T> {
    try {
      return await send(true);
    } catch (error) {
      if (flight.abandoned) throw error;
      if (!(error instanceof SlackCallError) || error.failure.kind !== 'permanent' || !BLOCK_ERRORS.has(error.failure.reason)) throw error;
      this.options.log.warn({ ...context, reason: error.failure.reason }, 'Slack rejected the blocks; sending plain text');
      return send(false);
    }
  }

  private async deliverReply({ record, target }: Extract<Delivery, { kind: 'reply' }>): Promise<void> {
    if (record.messageTs === null) return;
    this.beforePost(target);
    await this.options.slack.postMessage({ channel: target, text: record.text, threadTs: record.messageTs });
    this.options.store.removeReply(record.id);
  }

  private async deliverNotice({ record, target, fallbackFrom }: Extract<Delivery, { kind: 'notice' }>): Promise<void> {
    const text = fallbackFrom === undefined ? record.text : `${fallbackLine(fallbackFrom, this.unreachable.get(fallbackFrom)?.reason)}\n${record.text}`;
    this.beforePost(target);
    await this.options.slack.postMessage({ channel: target, text });
    this.options.store.removeNotice(record.id);
  }

  private async probe(): Promise<void> {
    let failure: string | undefined;
    try {
      await this.options.slack.authTest();
    } catch (error) {
      failure = error instanceof SlackCallError ? (error.failure.kind === 'rate_limited' ? 'ratelimited' : error.failure.reason) : 'unexpected_error';
    }
    this.pause.probed(failure, this.options.now());
    this.wake();
  }

  /** Records a failed delivery; a store that cannot write pauses the channel in memory instead. */
  private recordFailure(delivery: Delivery, failure: SlackFailure, method: string | undefined): void {
    try {
      this.handleFailure(delivery, failure, method);
    } catch (error) {
      const retryInMs = this.options.config.initialBackoffMs * 5;
      this.channelFreeAt.set(delivery.target, this.options.now() + retryInMs);
      this.options.log.error({ err: error, channel: delivery.target, kind: delivery.kind }, 'cannot record a failed Slack delivery in the store; trying that channel again later');
    }
  }

  private handleFailure(delivery: Delivery, failure: SlackFailure, method: string | undefined): void {
    const { store, log, config } = this.options;
    const now = this.options.now();
    const { record, target } = delivery;
    // Slack answered (an error or a 429): the post did not happen, so nothing needs looking up.
    const postRefused = method === 'chat.postMessage' && !(failure.kind === 'retryable' && failure.uncertain === true);
    if (postRefused) this.clearIntent(delivery);

    if (failure.kind === 'rate_limited') {
      const until = now + failure.retryAfterMs;
      if (method === 'conversations.history' || method === 'conversations.replies') this.methodFreeAt.set(HISTORY_METHOD, until);
      else this.channelFreeAt.set(target, until);
      if (method === WORKSPACE_LIMITED_METHOD) this.methodFreeAt.set(WORKSPACE_LIMITED_METHOD, until);
      log.warn({ channel: target, method, retryAfterMs: failure.retryAfterMs }, 'Slack rate limited us; pausing');
      return;
    }
    if (failure.kind === 'auth') {
      // Nothing is deferred or counted: the delivery waits for the token like every other one.
      this.pause.pause(failure.reason, now);
      return;
    }
    if (failure.kind === 'channel' && method === 'chat.postMessage' && this.canFallBack(delivery)) {
      this.markUnreachable(target, failure.reason, now);
      return;
    }
    if (delivery.kind === 'move') {
      // The copy in the default channel stays, and is still edited; the move is tried again later.
      this.moveNotBefore.set(target, now + config.channelRetryMs);
      log.warn({ channel: target, groupKey: delivery.record.groupKey, reason: failure.reason }, 'could not move an alert message back to its channel; trying again later');
      return;
    }
    if ((delivery.kind === 'message' || delivery.kind === 'detail') && failure.kind === 'permanent' && failure.reason === 'message_not_found') {
      log.warn({ kind: delivery.kind, groupKey: delivery.record.groupKey, channel: target }, 'the message was deleted in Slack; posting it again');
      if (delivery.kind === 'message') store.forgetMessage(delivery.record.id);
      else store.forgetDetail(delivery.record.groupId);
      return;
    }
    if (failure.kind === 'permanent') {
      this.abandon(delivery, failure.reason);
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
    if (delivery.kind === 'message') store.deferMessage(delivery.record.id, next);
    else if (delivery.kind === 'notice') store.deferNotice(delivery.record.id, next);
    else if (delivery.kind === 'detail') store.deferDetail(delivery.record.groupId, next);
    else store.deferReply(delivery.record.id, next);
  }

  /** A first post, a move or a notice can go elsewhere (the default channel) while its channel refuses. */
  private canFallBack(delivery: Delivery): boolean {
    if (delivery.kind === 'move') return true;
    const { defaultChannel } = this.options;
    if (defaultChannel === undefined || delivery.target === defaultChannel) return false;
    if (delivery.kind === 'notice') return true;
    return delivery.kind === 'message' && delivery.record.messageTs === null;
  }

  private markUnreachable(channel: string, reason: string, now: number): void {
    const known = this.unreachable.has(channel);
    this.unreachable.set(channel, { reason, retryAt: now + this.options.config.channelRetryMs });
    this.options.metrics.slackChannelsUnreachable.set(this.unreachable.size);
    const line = { channel, reason, defaultChannel: this.options.defaultChannel, retryInMs: this.options.config.channelRetryMs };
    if (!known) this.options.log.error(line, `Lookout cannot post in channel ${channel} (${reason}): invite Lookout to it. Its alerts go to the default channel meanwhile, and move back once Lookout can post there`);
    else this.options.log.warn(line, 'still cannot post in the channel; its alerts stay in the default channel');
  }

  /** Only called for a chat.postMessage that failed: replies and notices record no intent. */
  private clearIntent(delivery: Delivery): void {
    if (delivery.kind === 'message' || delivery.kind === 'move') this.options.store.clearMessagePost(delivery.record.id);
    else if (delivery.kind === 'detail') this.options.store.clearDetailPost(delivery.record.groupId);
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
  private abandon(delivery: Delivery, reason: string): void {
    const { store, log, metrics } = this.options;
    metrics.outboxGaveUp.inc({ kind: delivery.kind === 'move' ? 'message' : delivery.kind, reason });
    if (delivery.kind === 'message' || delivery.kind === 'move') {
      log.error(
        { groupKey: delivery.record.groupKey, channel: delivery.target, version: delivery.record.version, reason },
        'Slack refused an alert message for good; it is sent again when the group changes',
      );
      store.abandonMessage(delivery.record.id, delivery.record.version);
    } else if (delivery.kind === 'detail') {
      log.error({ groupKey: delivery.record.groupKey, channel: delivery.target, reason }, 'Slack refused a detail message for good; it is sent again when the enrichment changes');
      store.abandonDetail(delivery.record.groupId, delivery.record.version);
    } else if (delivery.kind === 'notice') {
      log.error({ channel: delivery.target, noticeId: delivery.record.id, reason }, 'Slack refused a notice (audit line) for good; dropped');
      store.removeNotice(delivery.record.id);
    } else {
      log.error({ channel: delivery.target, replyId: delivery.record.id, reason }, 'Slack refused a thread reply for good; dropped');
      store.removeReply(delivery.record.id);
    }
  }

  private reportDepth(): void {
    try {
      const depth = this.options.store.outboxDepth();
      this.options.metrics.outboxDepth.set({ kind: 'message' }, depth.messages);
      this.options.metrics.outboxDepth.set({ kind: 'reply' }, depth.replies);
      this.options.metrics.outboxDepth.set({ kind: 'notice' }, this.options.store.pendingNotices());
    } catch (error) {
      this.options.log.warn({ err: error }, 'cannot read the outbox depth');
    }
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      this.wokenEarly = false;
      // Past the drain deadline no call may start: stop() abandons it unanswered, leaving a post
      // to be looked up on the next start and a thread reply or notice to be sent twice.
      if (this.drainUntil !== undefined && this.options.now() >= this.drainUntil) return;
      let next: number | null;
      try {
        this.pass();
        next = this.nextWakeAt(this.options.now());
      } catch (error) {
        this.options.log.error({ err: error }, 'outbox pass failed; retrying shortly');
        next = this.options.now() + 1000;
      }
      if (this.drainUntil !== undefined) {
        const now = this.options.now();
        const nothingLeft = this.inFlight.size === 0 && (this.pause.paused || next === null || next > this.drainUntil);
        if (nothingLeft || now >= this.drainUntil) return;
        next = Math.min(next ?? this.drainUntil, this.drainUntil);
      }
      if (this.wokenEarly) continue;
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

function groupOf(delivery: Delivery): number | undefined {
  if (delivery.kind === 'message' || delivery.kind === 'move') return delivery.record.id;
  if (delivery.kind === 'detail') return delivery.record.groupId;
  return undefined;
}

function minOf(values: ReadonlyArray<number | null>): number | null {
  const present = values.filter((value): value is number => value !== null);
  return present.length > 0 ? Math.min(...present) : null;
}
