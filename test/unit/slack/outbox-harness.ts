import { mergeNotification } from '../../../alerts/merge-group.ts';
import type { GroupState } from '../../../alerts/group-state.ts';
import type { OutboxConfig } from '../../../src/config.ts';
import { Outbox, type OutboxOptions } from '../../../src/slack/outbox.ts';
import { SlackCallError, type OutgoingMessage, type SlackApi, type SlackFailure } from '../../../src/slack/slack-api.ts';
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
}

/** In-memory Slack: records calls at clock time and fails them as scripted. */
export class ScriptedSlack implements SlackApi {
  readonly calls: Call[] = [];
  private readonly failures: Array<SlackFailure | undefined> = [];
  private sequence = 0;
  private readonly clock: ManualClock;

  constructor(clock: ManualClock) {
    this.clock = clock;
  }

  /** The next calls fail with these, in order; `undefined` lets that call succeed. */
  failNext(...failures: Array<SlackFailure | undefined>): void {
    this.failures.push(...failures);
  }

  async postMessage(message: OutgoingMessage & { threadTs?: string }): Promise<{ ts: string }> {
    this.failIfScripted('chat.postMessage');
    const ts = `1700000000.${String(++this.sequence).padStart(6, '0')}`;
    this.record('chat.postMessage', { ...message, ts });
    return { ts };
  }

  async updateMessage(message: OutgoingMessage & { ts: string }): Promise<void> {
    this.failIfScripted('chat.update');
    this.record('chat.update', message);
  }

  private failIfScripted(method: Call['method']): void {
    const failure = this.failures.shift();
    if (failure) throw new SlackCallError(method, failure);
  }

  private record(method: Call['method'], message: OutgoingMessage & { ts: string; threadTs?: string }): void {
    this.calls.push({
      at: this.clock.now(),
      method,
      channel: message.channel,
      text: message.text,
      ts: message.ts,
      blocks: message.blocks !== undefined,
      ...(message.threadTs ? { threadTs: message.threadTs } : {}),
    });
  }
}

export const outboxConfig: OutboxConfig = { minIntervalMs: 1000, giveUpAfterMs: 60_000, initialBackoffMs: 1000, maxBackoffMs: 8000 };

/** `<groupKey>: <n> firing`, with one block, so tests can tell edits and plain-text fallbacks apart. */
export function renderForTest(state: GroupState) {
  const firing = state.alerts.filter((alert) => alert.status === 'firing').length;
  return { text: `${state.groupKey}: ${firing} firing`, blocks: [{ type: 'section' as const, text: { type: 'mrkdwn' as const, text: 'x' } }] };
}

/** A fresh outbox over an in-memory store, a scripted Slack and a manual clock, plus drivers for its passes. */
export function createOutboxHarness(overrides: Partial<OutboxOptions> = {}) {
  const clock = new ManualClock();
  const store = new SqliteStore(':memory:');
  const slack = new ScriptedSlack(clock);
  const metrics = freshMetrics();
  const logs = recordingLogger();
  const outbox = new Outbox({ store, slack, render: renderForTest, metrics, log: logs.log, config: outboxConfig, now: clock.now, random: () => 1, ...overrides });

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

  return { clock, store, slack, metrics, logs, outbox, addGroup, drain, pollEvery };
}
