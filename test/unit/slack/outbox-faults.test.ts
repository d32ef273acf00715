import { createHash } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { mergeNotification } from '../../../alerts/merge-group.ts';
import { Outbox } from '../../../src/slack/outbox.ts';
import { metricValue, payload } from '../../helpers/fakes.ts';
import { createOutboxHarness, outboxConfig as config, renderForTest as render, settle } from './outbox-harness.ts';
import { inProcessStore } from '../../../src/state/in-process-store.ts';

/*
 * The outbox under Slack faults (issue 9): a hanging channel, posts whose outcome is unknown, a
 * refused token, channels Lookout cannot post in, a store that cannot record. Outcomes are
 * asserted (what Slack ends up showing), under a manual clock.
 */

type Harness = ReturnType<typeof createOutboxHarness>;
const network = { kind: 'retryable' as const, reason: 'network_error', uncertain: true };

function topLevel(h: Harness, channel: string) {
  return h.slack.posts(channel);
}

describe('Outbox: channels are independent', () => {
  let h: Harness;
  beforeEach(() => {
    h = createOutboxHarness();
  });

  it('a call that hangs on one channel does not hold the others, and frees its channel at the deadline', async () => {
    h.addGroup('stuck', 'C1');
    for (let i = 0; i < 5; i++) h.addGroup(`g${i}`, 'C2');
    h.addGroup('other', 'C3');
    h.slack.scriptChannel('C1', { hold: true });
    const start = h.clock.now();

    await h.tickEvery(100, 6000);
    // C1's call is still hanging; C2 posted five at 1/s and C3 at once.
    expect(h.slack.held).toHaveLength(1);
    const c2 = topLevel(h, 'C2').map((call) => call.at - start);
    expect(c2).toEqual([0, 1000, 2000, 3000, 4000]);
    expect(topLevel(h, 'C3').map((call) => call.at - start)).toEqual([0]);

    // Past the client timeout plus the outbox's margin the channel is free again: the outcome is
    // unknown, so the next attempt looks for the post first (not there), then posts it once.
    await h.tickEvery(100, config.callTimeoutMs + 10_000);
    expect(topLevel(h, 'C1')).toHaveLength(1);
    expect(h.slack.historyCalls.filter((query) => query.channel === 'C1')).toHaveLength(1);
    expect(h.logs.lines().some((line) => line.msg === 'a Slack call did not settle in time; freeing its channel')).toBe(true);
  });

  it('keeps the cap on calls in flight across channels', async () => {
    const outbox = new Outbox({ store: inProcessStore(h.store), slack: h.slack, render, metrics: h.metrics, log: h.logs.log, config, now: h.clock.now, maxConcurrentCalls: 2 });
    for (const channel of ['C1', 'C2', 'C3', 'C4']) {
      h.addGroup(`g-${channel}`, channel);
      h.slack.scriptChannel(channel, { hold: true });
    }
    void outbox.pass();
    await settle();
    expect(h.slack.held.map((call) => call.channel)).toEqual(['C1', 'C2']);
    h.slack.held[0]!.release();
    await settle();
    void outbox.pass();
    await settle();
    expect(h.slack.held.map((call) => call.channel)).toEqual(['C1', 'C2', 'C3']);
  });
});

describe('Outbox: at most one top-level message per group when a post outcome is unknown', () => {
  let h: Harness;
  beforeEach(() => {
    h = createOutboxHarness();
  });

  it('a post Slack accepted but answered too late is found by its marker and adopted, then edited to the latest state', async () => {
    const id = h.addGroup('g', 'C1');
    h.slack.failNext({ acceptThenFail: network });
    await h.outbox.deliverDue();
    expect(h.store.latestGroup('g')!.postStartedAt).not.toBeNull();
    // A change while the outcome is unknown.
    h.store.updateGroupState(id, mergeNotification(h.store.latestGroup('g')!.state, payload('g', [{ fingerprint: 'b' }])).state, h.clock.now());
    await h.drain();

    const posts = topLevel(h, 'C1');
    expect(posts).toHaveLength(1);
    expect(posts[0]!.marker).toEqual({ eventType: 'lookout_alert_group', payload: { group: expect.any(String), episode: id } });
    const group = h.store.latestGroup('g')!;
    expect(group.messageTs).toBe(posts[0]!.ts);
    expect(group.postStartedAt).toBeNull();
    expect(h.slack.calls.filter((call) => call.method === 'chat.update').map((call) => [call.ts, call.text])).toEqual([[posts[0]!.ts, 'g: 2 firing']]);
    expect(await metricValue(h.metrics, 'lookout_outbox_lookups_total', { outcome: 'found' })).toBe(1);
  });

  it('a post that did not happen (no answer, nothing in history) is posted once after the lookup', async () => {
    h.addGroup('g', 'C1');
    h.slack.failNext(network);
    await h.drain();
    expect(topLevel(h, 'C1')).toHaveLength(1);
    expect(h.slack.historyCalls).toHaveLength(1);
    expect(await metricValue(h.metrics, 'lookout_outbox_lookups_total', { outcome: 'not_found' })).toBe(1);
  });

  it('a post Slack refused (ok:false, 429) needs no lookup', async () => {
    h.addGroup('g', 'C1');
    h.slack.failNext({ kind: 'retryable', reason: 'internal_error' }, { kind: 'rate_limited', retryAfterMs: 2000 });
    await h.drain();
    expect(topLevel(h, 'C1')).toHaveLength(1);
    expect(h.slack.historyCalls).toHaveLength(0);
  });

  it('when recording the answer fails (disk full), the retry adopts the post instead of posting again', async () => {
    h.addGroup('g', 'C1');
    const record = h.store.recordMessagePosted.bind(h.store);
    let failures = 3;
    h.store.recordMessagePosted = (...args) => {
      if (failures-- > 0) throw new Error('database or disk is full');
      record(...args);
    };
    await h.drain();
    expect(topLevel(h, 'C1')).toHaveLength(1);
    expect(h.store.latestGroup('g')!.messageTs).toBe(topLevel(h, 'C1')[0]!.ts);
  });

  it('when the intent cannot be recorded, nothing is posted', async () => {
    h.addGroup('g', 'C1');
    const start = h.store.startMessagePost.bind(h.store);
    h.store.startMessagePost = () => {
      throw new Error('database or disk is full');
    };
    await h.tickEvery(500, 10_000);
    expect(h.slack.calls).toHaveLength(0);
    h.store.startMessagePost = start;
    await h.drain();
    expect(topLevel(h, 'C1')).toHaveLength(1);
  });

  it("a crash between Slack's answer and the store write: the restarted outbox adopts the post", async () => {
    const id = h.addGroup('g', 'C1');
    // What the crashed process got done: the intent, and the post itself.
    h.store.startMessagePost(id, 'C1', h.clock.now());
    await h.slack.postMessage({ channel: 'C1', text: 'g: 1 firing', marker: { eventType: 'lookout_alert_group', payload: { group: markerDigest('g'), episode: id } } });
    h.clock.advance(30_000);
    const restarted = new Outbox({ store: inProcessStore(h.store), slack: h.slack, render, metrics: h.metrics, log: h.logs.log, config, now: h.clock.now, random: () => 1 });
    for (let i = 0; i < 5; i++) {
      await restarted.deliverDue();
      h.clock.advance(1500);
    }
    expect(topLevel(h, 'C1')).toHaveLength(1);
    expect(h.store.latestGroup('g')!.messageTs).toBe(topLevel(h, 'C1')[0]!.ts);
  });

  it('a detail message with an unknown outcome is looked up in the thread and adopted', async () => {
    const detailed = createOutboxHarness({ renderDetail: () => ({ text: 'details', blocks: [] }) });
    const id = detailed.addGroup('g', 'C1');
    await detailed.drain();
    detailed.store.saveEnrichment(id, { enrichment: {}, handled: {}, releaseFirstPost: true, messageChanged: false, detailChanged: true });
    detailed.slack.failNext({ acceptThenFail: network });
    await detailed.drain();
    const parent = detailed.store.latestGroup('g')!.messageTs!;
    expect(detailed.slack.posts('C1', parent)).toHaveLength(1);
    expect(detailed.slack.historyCalls.map((query) => query.threadTs)).toEqual([parent]);
  });
});

describe('Outbox: errors that need a person lose nothing', () => {
  let h: Harness;
  beforeEach(() => {
    h = createOutboxHarness({ defaultChannel: 'C0DEFAULT' });
  });

  it('a refused token pauses every delivery, shows in readiness and a metric, and resumes by itself', async () => {
    for (let i = 0; i < 4; i++) h.addGroup(`g${i}`, `C${i}`);
    h.slack.refuseToken = 'invalid_auth';
    await h.pollEvery(250, 20_000);
    expect(h.slack.calls).toHaveLength(0);
    expect(h.outbox.problem()).toMatch(/deliveries paused since .*invalid_auth/);
    expect(await metricValue(h.metrics, 'lookout_slack_deliveries_paused', { reason: 'invalid_auth' })).toBe(1);
    // Probed with a growing interval, not hammered.
    expect(h.slack.authTests.length).toBeGreaterThan(2);
    expect(h.slack.authTests.length).toBeLessThan(8);
    expect(h.logs.lines().some((line) => line.level === 'error' && line.reason === 'invalid_auth')).toBe(true);

    h.slack.refuseToken = undefined;
    await h.drain();
    expect(h.outbox.problem()).toBeUndefined();
    expect(await metricValue(h.metrics, 'lookout_slack_deliveries_paused')).toBe(0);
    for (let i = 0; i < 4; i++) expect(topLevel(h, `C${i}`)).toHaveLength(1);
    expect(await metricValue(h.metrics, 'lookout_outbox_gave_up_total')).toBe(0);
  });

  it('a channel Lookout is not in gets its alerts in the default channel with a line, and they move there once invited', async () => {
    const id = h.addGroup('g', 'C0SECRET');
    h.slack.scriptChannel('C0SECRET', { kind: 'channel', reason: 'not_in_channel' });
    await h.pollEvery(500, 5000);

    const fallback = topLevel(h, 'C0DEFAULT');
    expect(fallback).toHaveLength(1);
    expect(fallback[0]!.text).toMatch(/meant for <#C0SECRET>.*not a member.*\/invite @Lookout/s);
    expect(h.store.groupByMessage('C0DEFAULT', fallback[0]!.ts)?.id).toBe(id);

    // Changes go to the copy that exists, where it lives.
    h.store.updateGroupState(id, mergeNotification(h.store.latestGroup('g')!.state, payload('g', [{ fingerprint: 'b' }])).state, h.clock.now());
    await h.pollEvery(500, 3000);
    expect(h.slack.calls.filter((call) => call.method === 'chat.update').map((call) => call.channel)).toEqual(['C0DEFAULT']);

    // Invited now (no more scripted refusal): within channelRetryMs the alert is posted there.
    await h.pollEvery(1000, config.channelRetryMs + 5000);
    const home = topLevel(h, 'C0SECRET');
    expect(home).toHaveLength(1);
    expect(home[0]!.text).toBe('g: 2 firing');
    const group = h.store.latestGroup('g')!;
    expect([group.messageTs, group.messageChannel]).toEqual([home[0]!.ts, null]);
    const lastEdit = h.slack.calls.filter((call) => call.method === 'chat.update').at(-1)!;
    expect([lastEdit.channel, lastEdit.ts]).toEqual(['C0DEFAULT', fallback[0]!.ts]);
    expect(lastEdit.text).toMatch(/continues there/);
    expect(await metricValue(h.metrics, 'lookout_outbox_gave_up_total')).toBe(0);
  });

  it('thread replies wait for a parent message that is not posted yet, and follow it', async () => {
    const id = h.addGroup('g', 'C1');
    h.slack.failNext(...Array.from({ length: 12 }, () => ({ kind: 'retryable' as const, reason: 'http_503' })));
    await h.outbox.deliverDue();
    h.store.addReply(id, 'joined', h.clock.now());
    await h.drain();
    const parent = topLevel(h, 'C1');
    expect(parent).toHaveLength(1);
    expect(h.slack.posts('C1', parent[0]!.ts).map((call) => call.text)).toEqual(['joined']);
    expect(h.store.outboxDepth()).toEqual({ messages: 0, replies: 0, oldestMessageAt: null });
  });
});

function markerDigest(groupKey: string): string {
  return createHash('sha256').update(groupKey).digest('hex').slice(0, 16);
}

describe('Outbox: stop(drainMs) on shutdown', () => {
  it('delivers what is due before it stops', async () => {
    // The real clock here: stop() sleeps between passes. Nothing is timed; the drain window is ample.
    const h = createOutboxHarness({ now: Date.now, config: { ...config, minIntervalMs: 20 } });
    for (let i = 0; i < 5; i++) h.addGroup(`g${i}`, 'C1');
    h.outbox.start();
    await h.outbox.stop(4000);
    expect(topLevel(h, 'C1')).toHaveLength(5);
    expect(h.store.outboxDepth().messages).toBe(0);
  });

  it('stops at the drain deadline even with a call that never settles, keeping the post intent for the next start', async () => {
    const h = createOutboxHarness({ now: Date.now, config: { ...config, minIntervalMs: 20 } });
    h.addGroup('g', 'C1');
    h.slack.scriptChannel('C1', { hold: true });
    h.outbox.start();
    await h.outbox.stop(100);
    expect(h.slack.held).toHaveLength(1);
    expect(h.store.latestGroup('g')!.postStartedAt).not.toBeNull();
  });
});

describe('Outbox: passes over a large backlog leave the event loop time', () => {
  it('after a pass that took 500 ms, twenty wake-ups start no pass for 2 s (four times its cost)', async () => {
    const h = createOutboxHarness();
    // Stands in for the store's backlog-sized reads: every pass makes the clock jump 500 ms.
    let passes = 0;
    const nextMessagePerChannel = h.store.nextMessagePerChannel.bind(h.store);
    h.store.nextMessagePerChannel = (now) => {
      passes++;
      h.clock.advance(500);
      return nextMessagePerChannel(now);
    };
    h.addGroup('g', 'C1');
    h.outbox.start();
    await settle();
    expect(passes).toBe(1);
    // Webhooks and Slack answers wake the outbox; each used to start a pass at once.
    for (let i = 0; i < 20; i++) {
      h.outbox.wake();
      await settle();
    }
    expect(passes).toBe(1);
    expect(topLevel(h, 'C1')).toHaveLength(1);
    await h.outbox.stop();
  });
});
