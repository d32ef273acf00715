import type { GroupState } from '../../alerts/group-state.ts';
import type { OutboxConfig } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { LeaseSet } from '../replicas/lease-set.ts';
import type { DetailRecord, GroupRecord, NoticeRecord, ReplyRecord, Store } from '../state/store.ts';
import { AuthPause } from './auth-pause.ts';
import { CallsInFlight } from './calls-in-flight.ts';
import { ChannelFallback } from './channel-fallback.ts';
import { deliverDetail } from './deliver-detail.ts';
import { deliverGroupMessage, moveGroupMessage } from './deliver-group-message.ts';
import { deliverNotice, deliverReply } from './deliver-line.ts';
import { channelsOf, type Delivery, type DeliveryDeps, type Flight, type RenderedMessage } from './delivery.ts';
import { DeliveryCalls } from './delivery-calls.ts';
import { DeliveryFailures } from './delivery-failures.ts';
import { SlackCallError, type SlackApi, type SlackFailure } from './slack-api.ts';
import { SlackPacing } from './slack-pacing.ts';

export type { RenderedMessage } from './delivery.ts';

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
  /**
   * Told each time Slack shows a group's message at the record's version (posted or edited), with
   * the channel it is in: `/ops doctor` waits here for its synthetic alert, without asking Slack.
   */
  onMessageShown?: (record: GroupRecord, channel: string) => void;
  /**
   * Several replicas on one store: this replica delivers only to channels whose `channel:<id>`
   * lease it holds (docs/architecture.md, "Several replicas"). Without it the outbox delivers to
   * every channel (unit tests about anything else).
   */
  replica?: { id: string; leaseDurationMs: number };
}

/** The outbox frees a channel this long after the Slack client's own timeout, if a call never settles. */
const DEADLINE_MARGIN_MS = 5000;

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
  private readonly options: Required<Omit<OutboxOptions, 'defaultChannel' | 'replica'>> & { defaultChannel: string | undefined };
  private readonly pacing: SlackPacing;
  private readonly inFlight: CallsInFlight;
  private readonly fallback: ChannelFallback;
  private readonly pause: AuthPause;
  private readonly failures: DeliveryFailures;
  private readonly deps: DeliveryDeps;
  /** The channels this replica may deliver to (several replicas); undefined: every channel. */
  private readonly leases: LeaseSet | undefined;
  /** The last pass had due work in a channel whose lease this replica holds (see nextWorkAt). */
  private workInHeldChannels = true;
  /** The last pass left ready deliveries behind only because of the cap on calls in flight. */
  private capped = false;
  private stopped = false;
  private drainUntil: number | undefined;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private wokenEarly = false;
  /** No pass before this time (ms), however often the outbox is woken: see run(). */
  private quietUntil = 0;
  /** While a pass reads the store: the channels whose deliveries finished meanwhile (see pass()). */
  private finishedDuringRead: Set<string> | undefined;
  /** Time the current pass spent waiting for the store's answers: not the event loop's time (see run()). */
  private storeWaitMs = 0;
  /** When the depth gauges were last refreshed (see reportDepth). */
  private depthReportedAt: number | undefined;

  constructor(options: OutboxOptions) {
    this.options = {
      now: Date.now,
      random: Math.random,
      maxConcurrentCalls: options.config.maxConcurrentCalls,
      renderDetail: () => undefined,
      onMessageShown: () => undefined,
      ...options,
      defaultChannel: options.defaultChannel,
    };
    const { store, slack, metrics, log, config, now, random } = this.options;
    const { replica } = options;
    this.leases = replica && new LeaseSet({ store, owner: replica.id, durationMs: replica.leaseDurationMs, kind: 'channel', metrics, log, now });
    this.pacing = new SlackPacing({ minIntervalMs: config.minIntervalMs, lookupIntervalMs: config.lookupIntervalMs, now });
    this.inFlight = new CallsInFlight({ deadlineMs: config.callTimeoutMs + DEADLINE_MARGIN_MS });
    this.fallback = new ChannelFallback({ defaultChannel: this.options.defaultChannel, channelRetryMs: config.channelRetryMs, log, metrics });
    this.pause = new AuthPause({ log, metrics, initialDelayMs: config.initialBackoffMs, maxDelayMs: config.authProbeMaxMs });
    this.failures = new DeliveryFailures({ store, log, metrics, config, pacing: this.pacing, fallback: this.fallback, pause: this.pause, now, random });
    const calls = new DeliveryCalls({ slack, metrics, log, pacing: this.pacing, now });
    this.deps = { store, calls, fallback: this.fallback, render: this.options.render, renderDetail: this.options.renderDetail, onMessageShown: this.options.onMessageShown, metrics, log, now };
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
    if (this.loop === undefined) {
      await this.releaseLeases();
      return;
    }
    this.wake();
    await this.loop;
    this.loop = undefined;
    this.stopped = true;
    this.inFlight.abandonAll();
    await this.releaseLeases();
  }

  /**
   * After the drain: gives up the channels' leases so other replicas take them at once, each once
   * Slack's interval has passed since its last call here (up to one interval), so the next holder
   * may post at once. A channel with a call still in flight keeps its lease until it expires: that
   * call may yet arrive, and its outcome is looked up by the next holder only after the expiry.
   */
  private async releaseLeases(): Promise<void> {
    if (this.leases === undefined) return;
    const { now, config, log } = this.options;
    const busy = new Set(this.inFlight.channels());
    const names = this.leases.names().filter((name) => !busy.has(channelOfLease(name)));
    const openAt = Math.max(now(), ...names.map((name) => this.pacing.freeAt(channelOfLease(name))));
    const wait = Math.min(openAt - now(), config.minIntervalMs);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const free = names.filter((name) => this.pacing.channelFree(channelOfLease(name), now()));
    try {
      await this.leases.release(free);
    } catch (error) {
      log.warn({ err: error }, 'could not release the channels\' leases at shutdown; other replicas take them when they expire');
    }
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
    await Promise.all(await this.pass());
    return minOf([await this.nextWorkAt(this.options.now()), this.leases?.nextDueAt(this.options.now()) ?? null]);
  }

  /**
   * Starts a call for every channel that is free and has something due, without waiting for them.
   * @returns the started deliveries (they never reject).
   */
  async pass(): Promise<Array<Promise<void>>> {
    const now = this.options.now();
    await this.expireDeadlines(now);
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
      await this.reportDepth(now, false);
      return started;
    }
    // The reads answer asynchronously: a delivery that finishes meanwhile may have recorded its
    // outcome after they were read, so its channel's rows are stale for this pass (a post seen as
    // not yet made would be made twice). Such channels wait for the next pass, which finish() wakes.
    const finished = new Set<string>();
    this.finishedDuringRead = finished;
    let candidates: Candidates;
    try {
      candidates = await this.readCandidates(now);
      await this.keepLeases(candidates, now);
    } finally {
      this.finishedDuringRead = undefined;
    }
    const { maxConcurrentCalls } = this.options;
    const claimed = new Set<string>();
    this.capped = false;
    const leased = (delivery: Delivery): boolean => this.leases === undefined || channelsOf(delivery).every((channel) => this.leases?.usable(leaseOf(channel), this.options.now()));
    const consider = (delivery: Delivery | undefined): void => {
      if (delivery === undefined) return;
      const { target } = delivery;
      // Another replica delivers to this channel (or this one's lease is about to end): its work waits here.
      if (!leased(delivery)) return;
      if (claimed.has(target) || finished.has(target) || !this.pacing.channelFree(target, now) || this.inFlight.busy(delivery)) return;
      if (this.inFlight.size >= maxConcurrentCalls) {
        this.capped = true;
        return;
      }
      claimed.add(target);
      started.push(this.launch(delivery, now));
    };
    const editsPaused = this.pacing.editsPaused(now);
    for (const record of candidates.messages) {
      if (record.messageTs !== null && editsPaused) continue;
      consider(this.messageDelivery(record, now));
    }
    // A group's detail message right after the group's message, before change replies.
    for (const record of candidates.details) {
      if (record.messageTs !== null && editsPaused) continue;
      if (record.messageTs === null && record.postStartedAt !== null && this.pacing.lookupsPaused(now)) continue;
      consider({ kind: 'detail', record, target: record.channel });
    }
    for (const record of candidates.replies) consider({ kind: 'reply', record, target: record.channel });
    // Notices (audit lines) after alerts: in a shared channel an alert is the more urgent post.
    for (const record of candidates.notices) consider(this.noticeDelivery(record, now));
    // Alerts living in the default channel go home once their channel takes posts again.
    for (const [channel, record] of candidates.away) {
      if (record.postStartedAt !== null && this.pacing.lookupsPaused(now)) continue;
      consider({ kind: 'move', record, target: channel });
    }
    const nothingDue = candidates.messages.length + candidates.details.length + candidates.replies.length + candidates.notices.length + candidates.away.length === 0;
    await this.reportDepth(now, nothingDue);
    return started;
  }

  /**
   * Claims the leases of the channels with work due and renews the held ones still in use, in one
   * store call when any needs it. A delivery under a lease lost meanwhile is abandoned: another
   * replica may deliver to that channel now, and looks up a post whose outcome is unknown.
   */
  private async keepLeases(candidates: Candidates, now: number): Promise<void> {
    if (this.leases === undefined) return;
    const channels = new Set<string>();
    for (const record of [...candidates.messages, ...candidates.details, ...candidates.replies, ...candidates.notices]) channels.add(record.channel);
    for (const [channel, record] of candidates.away) channels.add(channel).add(record.channel);
    // Where a delivery would go instead (the default channel, or where a message lives now) needs its lease too.
    for (const record of candidates.messages) {
      const delivery = this.messageDelivery(record, now);
      if (delivery) channels.add(delivery.target);
    }
    for (const record of candidates.notices) {
      const delivery = this.noticeDelivery(record, now);
      if (delivery) channels.add(delivery.target);
    }
    const withWork = [...channels];
    for (const channel of this.inFlight.channels()) channels.add(channel);
    const lost = await this.fromStore(this.leases.keep([...channels].map(leaseOf), now));
    for (const name of lost) this.inFlight.abandonChannel(channelOfLease(name));
    this.workInHeldChannels = withWork.some((channel) => this.leases?.usable(leaseOf(channel), now));
  }

  /** What each lane has due now, asked of the store at once (one batch for the store worker). */
  private async readCandidates(now: number): Promise<Candidates> {
    const { store } = this.options;
    const [messages, details, replies, notices, awayChannels] = await this.fromStore(Promise.all([
      store.nextMessagePerChannel(now),
      store.nextDetailPerChannel(now),
      store.nextReplyPerChannel(now),
      store.nextNoticePerChannel(now),
      store.channelsWithMessagesAway(),
    ]));
    const moving = awayChannels.filter((channel) => this.fallback.moveDueAt(channel, now) <= now);
    const firsts = await this.fromStore(Promise.all(moving.map((channel) => store.groupsAwayFromChannel(channel, 1))));
    const away: Array<[string, GroupRecord]> = [];
    moving.forEach((channel, index) => {
      const record = firsts[index]?.[0];
      if (record !== undefined) away.push([channel, record]);
    });
    return { messages, details, replies, notices, away };
  }

  private messageDelivery(record: GroupRecord, now: number): Delivery | undefined {
    if (record.messageTs !== null) return { kind: 'message', record, target: record.messageChannel ?? record.channel };
    if (record.postStartedAt !== null) {
      // An earlier post's outcome is unknown: it is looked up where it went before anything else
      // (and, if not found, posted there again: in the default channel with its line).
      if (this.pacing.lookupsPaused(now)) return undefined;
      const target = record.postChannel ?? record.channel;
      return target === record.channel ? { kind: 'message', record, target } : { kind: 'message', record, target, fallbackFrom: record.channel };
    }
    const fallback = this.fallback.fallbackFor(record.channel, now);
    return fallback ? { kind: 'message', record, target: fallback, fallbackFrom: record.channel } : { kind: 'message', record, target: record.channel };
  }

  private noticeDelivery(record: NoticeRecord, now: number): Delivery | undefined {
    if (record.postStartedAt !== null) {
      // As for a group's message: an earlier post's outcome is unknown, so it is looked up where it went.
      if (this.pacing.lookupsPaused(now)) return undefined;
      const target = record.postChannel ?? record.channel;
      return target === record.channel ? { kind: 'notice', record, target } : { kind: 'notice', record, target, fallbackFrom: record.channel };
    }
    const fallback = this.fallback.fallbackFor(record.channel, now);
    return fallback ? { kind: 'notice', record, target: fallback, fallbackFrom: record.channel } : { kind: 'notice', record, target: record.channel };
  }

  /** When the next pass has deliveries to make, or null when nothing is pending (lease renewals aside: see run()). */
  private async nextWorkAt(now: number): Promise<number | null> {
    const deadlines = this.inFlight.deadlines();
    // The store cannot write (or its file is damaged): nothing to read, only calls in flight to expire.
    if (this.options.store.ping() !== undefined) return minOf(deadlines);
    if (this.pause.paused) return minOf([this.pause.wakeAt(), ...deadlines]);
    if (this.capped && this.inFlight.size < this.options.maxConcurrentCalls) return now;
    const { minIntervalMs } = this.options.config;
    const [due, awayChannels] = await this.fromStore(Promise.all([this.options.store.nextDueAt(), this.options.store.channelsWithMessagesAway()]));
    const away = awayChannels.map((channel) => this.fallback.moveDueAt(channel, now));
    let next: number | null = null;
    if (due !== null && due > now) next = due;
    // Work is due only in channels other replicas hold: ask for them again when that may succeed
    // (LeaseSet's retry), not at every opening: no pass per second for work this replica may not do.
    else if (due !== null && !this.workInHeldChannels && this.leases !== undefined) next = this.leases.nextDueAt(now) ?? now + this.leases.retryMs;
    // Work is due but every channel that has some is busy, or waiting out its interval or a 429.
    else if (due !== null) next = this.pacing.nextOpening(now) ?? now + minIntervalMs;
    return minOf([next, ...deadlines, ...away.map((at) => Math.max(at, now + minIntervalMs))]);
  }

  /** Calls past the deadline free their channel; their outcome counts as unknown. */
  private async expireDeadlines(now: number): Promise<void> {
    const expired = this.inFlight.expire(now);
    for (const flight of expired) {
      const { delivery } = flight;
      this.options.log.warn({ channel: delivery.target, kind: delivery.kind, waitedMs: now - flight.callStartedAt }, 'a Slack call did not settle in time; freeing its channel');
    }
    await this.fromStore(Promise.all(expired.map(({ delivery }) => this.failures.record(delivery, { kind: 'retryable', reason: 'no_answer', uncertain: true }, undefined))));
  }

  /** Awaits the store, counting the wait: the store's own work happens elsewhere (its worker thread). */
  private async fromStore<T>(answer: Promise<T>): Promise<T> {
    const from = this.options.now();
    try {
      return await answer;
    } finally {
      this.storeWaitMs += this.options.now() - from;
    }
  }

  private launch(delivery: Delivery, now: number): Promise<void> {
    const flight = this.inFlight.start(delivery, now);
    this.pacing.callStarted(delivery.target, now);
    return this.deliver(flight).finally(() => {
      this.finishedDuringRead?.add(delivery.target);
      if (this.inFlight.finish(flight)) this.wake();
    });
  }

  private async deliver(flight: Flight): Promise<void> {
    const { delivery } = flight;
    try {
      if (delivery.kind === 'message') await deliverGroupMessage(delivery, flight, this.deps);
      else if (delivery.kind === 'move') await moveGroupMessage(delivery, flight, this.deps);
      else if (delivery.kind === 'notice') await deliverNotice(delivery, flight, this.deps);
      else if (delivery.kind === 'detail') await deliverDetail(delivery, flight, this.deps);
      else await deliverReply(delivery, flight, this.deps);
      if (flight.abandoned) return;
      // Slack counts arrivals; this call arrived before its answer, so the next one waits a full
      // interval from the answer too (a busy event loop can otherwise send two within a second).
      this.pacing.spaceFromNow(delivery.target);
      this.fallback.reached(delivery.target);
    } catch (error) {
      if (flight.abandoned) return;
      this.pacing.spaceFromNow(delivery.target);
      const failure: SlackFailure =
        error instanceof SlackCallError ? error.failure : { kind: 'retryable', reason: 'unexpected_error', uncertain: true };
      if (!(error instanceof SlackCallError)) this.options.log.error({ err: error, channel: delivery.target, kind: delivery.kind }, 'unexpected error delivering to Slack');
      await this.failures.record(delivery, failure, error instanceof SlackCallError ? error.method : undefined);
    }
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

  /**
   * Refreshes the outbox gauges at most once a DEPTH_REPORT_INTERVAL_MS, and whenever a pass finds
   * nothing due (so they reach 0 as the outbox empties). Not every pass: the count is O(backlog),
   * and in the issue 11 bench (thousands of messages waiting, a pass every few milliseconds) it was
   * 43 % of the store worker's time, taken from the commits webhooks wait for.
   */
  private async reportDepth(now: number, nothingDue: boolean): Promise<void> {
    if (!nothingDue && this.depthReportedAt !== undefined && now - this.depthReportedAt < DEPTH_REPORT_INTERVAL_MS) return;
    this.depthReportedAt = now;
    try {
      const [depth, notices] = await this.fromStore(Promise.all([this.options.store.outboxDepth(), this.options.store.pendingNotices()]));
      this.options.metrics.outboxDepth.set({ kind: 'message' }, depth.messages);
      this.options.metrics.outboxDepth.set({ kind: 'reply' }, depth.replies);
      this.options.metrics.outboxOldestMessage.set(depth.oldestMessageAt === null ? 0 : depth.oldestMessageAt / 1000);
      this.options.metrics.outboxDepth.set({ kind: 'notice' }, notices);
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
      let work: number | null;
      const passStarted = this.options.now();
      this.storeWaitMs = 0;
      try {
        await this.pass();
        work = await this.nextWorkAt(this.options.now());
      } catch (error) {
        this.options.log.error({ err: error }, 'outbox pass failed; retrying shortly');
        work = this.options.now() + 1000;
      }
      // Held leases are renewed (or released when idle) on time, even with nothing due; but a
      // renewal is not work a shutdown drain waits for (it held every stop for the drain timeout).
      let next = minOf([work, this.leases?.nextDueAt(this.options.now()) ?? null]);
      // Every accepted webhook and every Slack answer wakes the outbox: back to back, passes would
      // take much of the event loop from webhooks and slash command acks in a storm (a pass's reads
      // cost O(channels), not O(backlog), but a pass with many channels is still not free). So the
      // outbox spends at most about a fifth of the time in passes; the gap is usually a millisecond.
      // Counted: the pass's own time on the event loop, not its waits for the store's worker thread
      // (which is not the event loop's time, and under a slow disk would space the passes for nothing).
      const passCost = Math.max(0, this.options.now() - passStarted - this.storeWaitMs);
      this.quietUntil = this.options.now() + QUIET_FACTOR * passCost;
      if (this.drainUntil !== undefined) {
        const now = this.options.now();
        const nothingLeft = this.inFlight.size === 0 && (this.pause.paused || work === null || work > this.drainUntil);
        if (nothingLeft || now >= this.drainUntil) return;
        next = Math.min(next ?? this.drainUntil, this.drainUntil);
      }
      if (!this.wokenEarly) await this.sleepUntil(next);
      await this.waitForQuietGap();
    }
  }

  /** Waits out the gap after a costly pass; wake() does not cut it short, stop()'s drain waits too. */
  private async waitForQuietGap(): Promise<void> {
    const left = this.quietUntil - this.options.now();
    if (left > 0 && !this.stopped) await new Promise((resolve) => setTimeout(resolve, left));
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

/** What each lane has due now, from the store (see readCandidates). */
interface Candidates {
  messages: GroupRecord[];
  details: DetailRecord[];
  replies: ReplyRecord[];
  notices: NoticeRecord[];
  /** For each channel whose alerts may move home now: the first one living elsewhere. */
  away: Array<[string, GroupRecord]>;
}

/** The gap after a pass is this many times the pass's own duration. */
const QUIET_FACTOR = 4;

/** The outbox gauges are refreshed at least this often while work waits (see reportDepth). */
const DEPTH_REPORT_INTERVAL_MS = 1000;

/** The lease that lets one replica deliver to a Slack channel. */
function leaseOf(channel: string): string {
  return `channel:${channel}`;
}

function channelOfLease(name: string): string {
  return name.slice('channel:'.length);
}

function minOf(values: ReadonlyArray<number | null>): number | null {
  const present = values.filter((value): value is number => value !== null);
  return present.length > 0 ? Math.min(...present) : null;
}
