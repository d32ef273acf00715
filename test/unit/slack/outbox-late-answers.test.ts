import { describe, expect, it } from 'vitest';
import { mergeNotification } from '../../../alerts/merge-group.ts';
import { payload } from '../../helpers/fakes.ts';
import { Outbox } from '../../../src/slack/outbox.ts';
import { inProcessStore } from '../../../src/state/in-process-store.ts';
import type { Store } from '../../../src/state/store.ts';
import { createOutboxHarness, outboxConfig as config, renderForTest, settle } from './outbox-harness.ts';

/*
 * A call that hangs past the outbox's deadline is abandoned: its channel is freed and the delivery
 * tried again. Whatever the hung call answers later must not act: no more Slack calls, no record.
 */

const pastTheDeadline = config.callTimeoutMs + 10_000;
const blocksRejected = { kind: 'permanent' as const, reason: 'invalid_blocks' };

describe('Outbox: the late answer of an abandoned call', () => {
  it('a hung post answered "invalid_blocks" after its retry was posted sends no plain-text copy', async () => {
    const h = createOutboxHarness();
    h.addGroup('g', 'C1');
    h.slack.scriptChannel('C1', { hold: true });
    await h.tickEvery(100, pastTheDeadline);
    expect(h.slack.posts('C1')).toHaveLength(1);

    h.slack.held[0]!.fail(blocksRejected);
    await h.tickEvery(100, 3000);
    expect(h.slack.posts('C1')).toHaveLength(1);
  });

  it('a hung edit answered "invalid_blocks" after a newer edit landed does not put the older text back', async () => {
    const h = createOutboxHarness();
    const id = h.addGroup('g', 'C1');
    await h.drain();
    const change = (fingerprint: string) =>
      h.store.updateGroupState(id, mergeNotification(h.store.latestGroup('g')!.state, payload('g', [{ fingerprint }])).state, h.clock.now());
    change('b');
    h.slack.scriptChannel('C1', { hold: true });
    await h.tickEvery(100, 2000);
    expect(h.slack.held).toHaveLength(1);
    change('c');
    await h.tickEvery(100, pastTheDeadline);
    expect(h.slack.calls.filter((call) => call.method === 'chat.update').map((call) => call.text)).toEqual(['g: 3 firing']);

    h.slack.held[0]!.fail(blocksRejected);
    await h.tickEvery(100, 3000);
    expect(h.slack.calls.filter((call) => call.method === 'chat.update').map((call) => call.text)).toEqual(['g: 3 firing']);
  });
});

describe('Outbox: a call abandoned while its intent was being recorded', () => {
  it('a post whose intent write outlasted the deadline (a slow database) is not sent after its retry was', async () => {
    const h = createOutboxHarness();
    h.addGroup('g', 'C1');
    // As on PostgreSQL, one slow statement (a row lock) holds up only its own call.
    const store = inProcessStore(h.store);
    let finishSlowWrite: (() => void) | undefined;
    const slowFirstIntent: Store = {
      ...store,
      startMessagePost: (...args) => {
        slowFirstIntent.startMessagePost = store.startMessagePost;
        return new Promise<void>((resolve) => (finishSlowWrite = resolve)).then(() => store.startMessagePost(...args));
      },
    };
    const outbox = new Outbox({ store: slowFirstIntent, slack: h.slack, render: renderForTest, metrics: h.metrics, log: h.logs.log, config, now: h.clock.now, random: () => 1 });
    const tickEvery = async (stepMs: number, durationMs: number): Promise<void> => {
      for (let elapsed = 0; elapsed <= durationMs; elapsed += stepMs) {
        void outbox.pass();
        await settle();
        h.clock.advance(stepMs);
      }
    };
    await tickEvery(100, pastTheDeadline + 30_000);
    expect(h.slack.posts('C1')).toHaveLength(1);

    finishSlowWrite!();
    await tickEvery(100, 3000);
    expect(h.slack.posts('C1')).toHaveLength(1);
  });
});

describe('Outbox: the drain deadline', () => {
  it('starts no call once the drain deadline has passed: it would be abandoned unanswered', async () => {
    const h = createOutboxHarness();
    h.outbox.start();
    h.addGroup('g', 'C1');
    h.slack.scriptChannel('C1', { hold: true });
    const stopped = h.outbox.stop(1000);
    await settle();
    expect(h.slack.held).toHaveLength(1);

    // Past the deadline, something else becomes due as the outbox wakes up.
    h.clock.advance(1000);
    h.addGroup('late', 'C2');
    h.outbox.wake();
    await stopped;
    expect(h.slack.posts('C2')).toEqual([]);
    expect(h.store.latestGroup('late')!.postStartedAt).toBeNull();
  });
});

describe('Outbox: an unknown outcome in the default channel', () => {
  it('a post to the default channel that is tried again after a lookup keeps the line naming its own channel', async () => {
    const h = createOutboxHarness({ defaultChannel: 'C0DEFAULT' });
    h.addGroup('g', 'C0SECRET');
    h.slack.scriptChannel('C0SECRET', { kind: 'channel', reason: 'not_in_channel' });
    h.slack.scriptChannel('C0DEFAULT', { kind: 'retryable', reason: 'network_error', uncertain: true });
    await h.pollEvery(500, 8000);

    expect(h.slack.historyCalls.map((query) => query.channel)).toEqual(['C0DEFAULT']);
    const posts = h.slack.posts('C0DEFAULT');
    expect(posts).toHaveLength(1);
    expect(posts[0]!.text).toMatch(/meant for <#C0SECRET>/);
  });
});

describe('Outbox: a move whose outcome was unknown', () => {
  it('posted again after the lookup found nothing, it records the version it shows (no needless edit)', async () => {
    const h = createOutboxHarness({ defaultChannel: 'C0DEFAULT' });
    h.addGroup('g', 'C0SECRET');
    h.slack.scriptChannel('C0SECRET', { kind: 'channel', reason: 'not_in_channel' }, { kind: 'retryable', reason: 'network_error', uncertain: true });
    await h.pollEvery(1000, 2 * config.channelRetryMs + 10_000);

    expect(h.slack.historyCalls.map((query) => query.channel)).toEqual(['C0SECRET']);
    expect(h.slack.posts('C0SECRET')).toHaveLength(1);
    expect(h.slack.calls.filter((call) => call.method === 'chat.update' && call.channel === 'C0SECRET')).toEqual([]);
    expect(h.store.latestGroup('g')!.messageChannel).toBeNull();
  });
});

describe('Outbox: the deadline of a delivery that makes several calls', () => {
  it('counts from the call under way: a plain-text retry within its own timeout is not abandoned and posted twice', async () => {
    const h = createOutboxHarness();
    h.addGroup('g', 'C1');
    h.slack.scriptChannel('C1', { hold: true }, { hold: true });
    await h.tickEvery(100, config.callTimeoutMs);
    // The post with blocks is refused late but within its timeout; the plain-text post that follows
    // takes as long, well within its own.
    h.slack.held[0]!.fail(blocksRejected);
    await h.tickEvery(100, config.callTimeoutMs - 1000);
    expect(h.slack.held).toHaveLength(2);
    h.slack.held[1]!.release();
    await h.tickEvery(100, 5000);

    expect(h.slack.posts('C1')).toHaveLength(1);
    expect(h.store.latestGroup('g')!.messageTs).toBe(h.slack.posts('C1')[0]!.ts);
  });
});
