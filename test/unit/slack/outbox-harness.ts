import { mergeNotification } from '../../../alerts/merge-group.ts';
import type { GroupState } from '../../../alerts/group-state.ts';
import type { OutboxConfig } from '../../../src/config.ts';
import { Outbox, type OutboxOptions } from '../../../src/slack/outbox.ts';
import {
  SlackCallError,
  type HistoryPage,
  type HistoryQuery,
  type MessageMarker,
  type OutgoingMessage,
  type SlackApi,
  type SlackFailure,
} from '../../../src/slack/slack-api.ts';
import { inProcessStore } from '../../../src/state/in-process-store.ts';
import { SqliteStore } from '../../../src/state/sqlite-store.ts';
import { ManualClock, freshMetrics, payload, recordingLogger } from '../../helpers/fakes.ts';

/** One call the scripted Slack received, at clock time. */
export interface Call {
  at: number;
  method: 'chat.postMessage' | 'chat.update';
  channel: string;
  text: string;
  /** The message's ts: the one chat.postMessage returned, or the one chat.update edited. */
  ts: string;
  threadTs?: string;
  blocks: boolean;
  marker?: MessageMarker;
}

/**
 * What a scripted call does instead of answering at once: fail with a SlackFailure, or
 * `{ accept: 'then-fail', failure }` = Slack stores the post but the answer is this failure (a
 * timeout after Slack accepted), or `{ hold: true }` = never settle until released.
 */
export type Script = SlackFailure | { acceptThenFail: SlackFailure } | { hold: true } | undefined;

/** In-memory Slack: records calls at clock time, keeps posts (with markers) readable by history(), fails them as scripted. */
export class ScriptedSlack implements SlackApi {
  readonly calls: Call[] = [];
  readonly historyCalls: HistoryQuery[] = [];
  readonly authTests: number[] = [];
  /** Held calls, in order: resolve or reject them from the test. */
  readonly held: Array<{ channel: string; release: () => void; fail: (failure: SlackFailure) => void }> = [];
  /** Scripts per channel (first) or for any channel. */
  private readonly scripts: Script[] = [];
  private readonly channelScripts = new Map<string, Script[]>();
  /** While set, every call (auth.test included) fails with this. */
  refuseToken: string | undefined;
  private sequence = 0;
  private readonly clock: ManualClock;

  constructor(clock: ManualClock) {
    this.clock = clock;
  }

  /** The next calls fail with these, in order; `undefined` lets that call succeed. */
  failNext(...failures: Script[]): void {
    this.scripts.push(...failures);
  }

  /** The next calls to `channel` do these, in order. */
  scriptChannel(channel: string, ...scripts: Script[]): void {
    this.channelScripts.set(channel, [...(this.channelScripts.get(channel) ?? []), ...scripts]);
  }

  /** Top-level posts in a channel (and thread posts with threadTs). */
  posts(channel: string, threadTs?: string): Call[] {
    return this.calls.filter((call) => call.method === 'chat.postMessage' && call.channel === channel && call.threadTs === threadTs);
  }

  async postMessage(message: OutgoingMessage & { threadTs?: string; marker?: MessageMarker }): Promise<{ ts: string }> {
    const script = this.scriptFor(message.channel);
    const ts = () => `1700000000.${String(++this.sequence).padStart(6, '0')}`;
    if (script !== undefined && 'acceptThenFail' in script) {
      this.record('chat.postMessage', { ...message, ts: ts() });
      throw new SlackCallError('chat.postMessage', script.acceptThenFail);
    }
    await this.play('chat.postMessage', message.channel, script);
    const posted = ts();
    this.record('chat.postMessage', { ...message, ts: posted });
    return { ts: posted };
  }

  async updateMessage(message: OutgoingMessage & { ts: string }): Promise<void> {
    await this.play('chat.update', message.channel, this.scriptFor(message.channel));
    this.record('chat.update', message);
  }

  async history(query: HistoryQuery): Promise<HistoryPage> {
    this.historyCalls.push(query);
    if (this.refuseToken) throw new SlackCallError('conversations.history', { kind: 'auth', reason: this.refuseToken });
    const oldest = Number(query.oldest) * 1000;
    // Newest first, like Slack; the fake's ts are sequence numbers, so "oldest" is checked on call time.
    const messages = this.posts(query.channel, query.threadTs)
      .filter((call) => call.at > oldest)
      .reverse()
      .map((call) => ({ ts: call.ts, ...(call.marker ? { marker: call.marker } : {}) }));
    const start = query.cursor ? Number(query.cursor) : 0;
    const page = messages.slice(start, start + query.limit);
    return { messages: page, ...(start + query.limit < messages.length ? { nextCursor: String(start + query.limit) } : {}) };
  }

  async authTest(): Promise<void> {
    this.authTests.push(this.clock.now());
    if (this.refuseToken) throw new SlackCallError('auth.test', { kind: 'auth', reason: this.refuseToken });
  }

  private scriptFor(channel: string): Script {
    const own = this.channelScripts.get(channel);
    if (own && own.length > 0) return own.shift();
    return this.scripts.shift();
  }

  private async play(method: Call['method'], channel: string, script: Script): Promise<void> {
    if (this.refuseToken) throw new SlackCallError(method, { kind: 'auth', reason: this.refuseToken });
    if (script === undefined) return;
    if ('hold' in script) {
      await new Promise<void>((resolve, reject) => {
        this.held.push({ channel, release: resolve, fail: (failure) => reject(new SlackCallError(method, failure)) });
      });
      return;
    }
    if ('acceptThenFail' in script) return;
    throw new SlackCallError(method, script);
  }

  private record(method: Call['method'], message: OutgoingMessage & { ts: string; threadTs?: string; marker?: MessageMarker }): void {
    this.calls.push({
      at: this.clock.now(),
      method,
      channel: message.channel,
      text: message.text,
      ts: message.ts,
      blocks: message.blocks !== undefined,
      ...(message.threadTs ? { threadTs: message.threadTs } : {}),
      ...(message.marker ? { marker: message.marker } : {}),
    });
  }
}

export const outboxConfig: OutboxConfig = {
  minIntervalMs: 1000,
  giveUpAfterMs: 60_000,
  initialBackoffMs: 1000,
  maxBackoffMs: 8000,
  callTimeoutMs: 10_000,
  maxConcurrentCalls: 8,
  channelRetryMs: 60_000,
  authProbeMaxMs: 60_000,
  lookupIntervalMs: 1200,
};

/** `<groupKey>: <n> firing`, with one block, so tests can tell edits and plain-text fallbacks apart. */
export function renderForTest(state: GroupState) {
  const firing = state.alerts.filter((alert) => alert.status === 'firing').length;
  return { text: `${state.groupKey}: ${firing} firing`, blocks: [{ type: 'section' as const, text: { type: 'mrkdwn' as const, text: 'x' } }] };
}

/** Lets promise callbacks (a settled Slack call and what the outbox does after it) run. */
export async function settle(): Promise<void> {
  // Turns of the event loop, not microtasks: the store answers asynchronously, many times a pass.
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * A fresh outbox over an in-memory store, a scripted Slack and a manual clock, plus drivers for its
 * passes. `store` is the engine itself, for the test's own synchronous reads and set-up; the outbox
 * gets the asynchronous Store over it.
 */
export function createOutboxHarness(overrides: Partial<OutboxOptions> = {}) {
  const clock = new ManualClock();
  const store = new SqliteStore(':memory:');
  const slack = new ScriptedSlack(clock);
  const metrics = freshMetrics();
  const logs = recordingLogger();
  const outbox = new Outbox({ store: inProcessStore(store), slack, render: renderForTest, metrics, log: logs.log, config: outboxConfig, now: clock.now, random: () => 1, ...overrides });

  function addGroup(groupKey: string, channel: string, alerts = [{ fingerprint: 'a' }]): number {
    const { state } = mergeNotification(undefined, payload(groupKey, alerts));
    return store.addGroup(groupKey, channel, state, clock.now());
  }

  /** Runs passes, jumping the clock to each requested wake-up, until the outbox is idle. */
  async function drain(limitMs = 10 * 60_000): Promise<void> {
    const end = clock.now() + limitMs;
    for (;;) {
      const next = await outbox.deliverDue();
      if (next === null) return;
      if (next > end) throw new Error('outbox did not drain in time');
      if (next > clock.now()) clock.current = next;
    }
  }

  /** Runs a pass every `stepMs`, as wake-ups from new alerts would, ignoring the suggested wake time. */
  async function pollEvery(stepMs: number, durationMs: number): Promise<void> {
    for (let elapsed = 0; elapsed <= durationMs; elapsed += stepMs) {
      await outbox.deliverDue();
      clock.advance(stepMs);
    }
  }

  /** Like pollEvery, but never waits for calls: held (hanging) calls stay in flight while time passes. */
  async function tickEvery(stepMs: number, durationMs: number): Promise<void> {
    for (let elapsed = 0; elapsed <= durationMs; elapsed += stepMs) {
      void outbox.pass();
      await settle();
      clock.advance(stepMs);
    }
  }

  return { clock, store, slack, metrics, logs, outbox, addGroup, drain, pollEvery, tickEvery };
}
