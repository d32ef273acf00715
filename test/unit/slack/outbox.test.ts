import { beforeEach, describe, expect, it } from 'vitest';
import { mergeNotification } from '../../../alerts/merge-group.ts';
import { Outbox } from '../../../src/slack/outbox.ts';
import { metricValue, payload } from '../../helpers/fakes.ts';
import { createOutboxHarness, outboxConfig as config, renderForTest as render } from './outbox-harness.ts';
import { inProcessStore } from '../../../src/state/in-process-store.ts';

type Harness = ReturnType<typeof createOutboxHarness>;

describe('Outbox', () => {
  let clock: Harness['clock'];
  let store: Harness['store'];
  let slack: Harness['slack'];
  let metrics: Harness['metrics'];
  let logs: Harness['logs'];
  let outbox: Harness['outbox'];
  let addGroup: Harness['addGroup'];
  let drain: Harness['drain'];
  let pollEvery: Harness['pollEvery'];

  beforeEach(() => {
    ({ clock, store, slack, metrics, logs, outbox, addGroup, drain, pollEvery } = createOutboxHarness());
  });

  it('keeps to one call per second per channel, and channels do not wait for each other', async () => {
    for (let i = 0; i < 5; i++) addGroup(`g${i}`, 'C1');
    addGroup('other', 'C2');
    await pollEvery(100, 6000);

    const c1 = slack.calls.filter((call) => call.channel === 'C1').map((call) => call.at);
    expect(c1).toHaveLength(5);
    for (let i = 1; i < c1.length; i++) expect(c1[i]! - c1[i - 1]!).toBeGreaterThanOrEqual(1000);
    const c2 = slack.calls.find((call) => call.channel === 'C2');
    expect(c2?.at).toBe(c1[0]); // served in the same first pass
  });

  it('coalesces many changes to a waiting message into one edit showing the latest state', async () => {
    const id = addGroup('g', 'C1');
    await outbox.deliverDue();
    expect(slack.calls).toHaveLength(1);

    let state = store.latestGroup('g')!.state;
    for (const fingerprint of ['b', 'c', 'd']) {
      state = mergeNotification(state, payload('g', [{ fingerprint }])).state;
      store.updateGroupState(id, state, clock.now());
    }
    await drain();

    const edits = slack.calls.filter((call) => call.method === 'chat.update');
    expect(edits).toHaveLength(1);
    expect(edits[0]).toMatchObject({ ts: '1700000000.000001', text: 'g: 4 firing' });
    expect(store.outboxDepth()).toEqual({ messages: 0, replies: 0, oldestMessageAt: null });
  });

  it('exports when the longest-waiting message last changed, and 0 once Slack shows everything', async () => {
    const oldest = () => metricValue(metrics, 'lookout_outbox_oldest_message_timestamp_seconds');
    const first = clock.now();
    addGroup('g1', 'C1');
    clock.advance(5000);
    addGroup('g2', 'C1');
    slack.failNext({ kind: 'rate_limited', retryAfterMs: 60_000 });
    await outbox.deliverDue();
    expect(await oldest()).toBe(first / 1000);

    await drain();
    expect(slack.calls.filter((call) => call.method === 'chat.postMessage')).toHaveLength(2);
    // The pass a finished call wakes (the run loop's) reports what is left: nothing.
    await outbox.deliverDue();
    expect(await oldest()).toBe(0);
  });

  it('counts its backlog at most once a second while work waits, and again as soon as nothing is due', async () => {
    // Issue 11: the count is O(backlog); read on every pass it took 43 % of the store worker's time.
    let reads = 0;
    const counted = inProcessStore(store);
    const outboxDepth = counted.outboxDepth.bind(counted);
    counted.outboxDepth = () => {
      reads += 1;
      return outboxDepth();
    };
    const throttled = new Outbox({ store: counted, slack, render, metrics, log: logs.log, config, now: clock.now, random: () => 1 });
    const depth = () => metricValue(metrics, 'lookout_outbox_depth', { kind: 'message' });
    for (let i = 0; i < 4; i++) addGroup(`g${i}`, 'C1');
    // A pass every 50 ms for 2.5 s (as webhooks would wake it), one post a second in C1.
    for (let elapsed = 0; elapsed <= 2500; elapsed += 50) {
      await throttled.deliverDue();
      clock.advance(50);
    }
    expect(slack.calls).toHaveLength(3);
    expect(reads).toBe(3);
    // Read at 0, 1 and 2 s, each as that second's post started: two still waited at 2 s.
    expect(await depth()).toBe(2);
    for (let elapsed = 0; elapsed <= 1000; elapsed += 50) {
      await throttled.deliverDue();
      clock.advance(50);
    }
    // The pass after the last post found nothing due and counted at once.
    expect(slack.calls).toHaveLength(4);
    expect(await depth()).toBe(0);
  });

  it('posts thread replies under the message only after it exists, in order', async () => {
    const id = addGroup('g', 'C1');
    store.addReply(id, 'first', clock.now());
    store.addReply(id, 'second', clock.now());
    await drain();

    expect(slack.calls.map((call) => [call.method, call.text])).toEqual([
      ['chat.postMessage', 'g: 1 firing'],
      ['chat.postMessage', 'first'],
      ['chat.postMessage', 'second'],
    ]);
    const parentTs = '1700000000.000001';
    expect(slack.calls.slice(1).every((call) => call.threadTs === parentTs)).toBe(true);
  });

  it('waits out a 429 for exactly its Retry-After, without counting it as a failure', async () => {
    addGroup('g', 'C1');
    slack.failNext({ kind: 'rate_limited', retryAfterMs: 30_000 });
    const start = clock.now();
    const next = await outbox.deliverDue();
    expect(next).toBe(start + 30_000);

    await pollEvery(1000, 40_000);
    expect(slack.calls).toHaveLength(1);
    expect(slack.calls[0]!.at).toBe(start + 30_000);
    expect(store.latestGroup('g')!.delivery.attempts).toBe(0);
  });

  it('retries 5xx and network errors with exponential backoff', async () => {
    addGroup('g', 'C1');
    slack.failNext({ kind: 'retryable', reason: 'http_503' }, { kind: 'retryable', reason: 'network_error' }, { kind: 'retryable', reason: 'http_500' });
    const start = clock.now();
    await drain();

    expect(slack.calls).toHaveLength(1);
    // random() = 1 makes the jitter factor 1: backoffs of 1 s, 2 s, 4 s.
    expect(slack.calls[0]!.at).toBe(start + 1000 + 2000 + 4000);
    expect(store.latestGroup('g')!.messageTs).not.toBeNull();
  });

  it('reports a delivery failing longer than giveUpAfterMs once, loudly, and keeps retrying it until Slack recovers', async () => {
    addGroup('g', 'C1');
    slack.failNext(...Array.from({ length: 20 }, () => ({ kind: 'retryable' as const, reason: 'http_500' })));
    const start = clock.now();
    await drain();

    expect(slack.calls).toHaveLength(1);
    // Failing for a minute (giveUpAfterMs), then retried every maxBackoffMs until the 21st call works.
    expect(slack.calls[0]!.at - start).toBeGreaterThan(config.giveUpAfterMs);
    expect(await metricValue(metrics, 'lookout_outbox_gave_up_total', { kind: 'message', reason: 'http_500' })).toBe(1);
    expect(logs.lines().filter((line) => line.level === 'error' && line.kind === 'message')).toHaveLength(1);
    expect(store.outboxDepth().messages).toBe(0);
  });

  it('abandons a version Slack refuses for good, and sends the group again when it changes', async () => {
    const id = addGroup('g', 'C1');
    slack.failNext({ kind: 'permanent', reason: 'invalid_arguments' });
    await drain();
    expect(await metricValue(metrics, 'lookout_outbox_gave_up_total', { reason: 'invalid_arguments' })).toBe(1);
    expect(slack.calls).toHaveLength(0);

    store.updateGroupState(id, mergeNotification(store.latestGroup('g')!.state, payload('g', [{ fingerprint: 'b' }])).state, clock.now());
    await drain();
    expect(slack.calls.map((call) => [call.method, call.text])).toEqual([['chat.postMessage', 'g: 2 firing']]);
  });

  it('falls back to plain text when Slack rejects the blocks', async () => {
    addGroup('g', 'C1');
    slack.failNext({ kind: 'permanent', reason: 'invalid_blocks' });
    await drain();
    expect(slack.calls).toHaveLength(1);
    expect(slack.calls[0]).toMatchObject({ method: 'chat.postMessage', blocks: false, text: 'g: 1 firing' });
  });

  it('posts the message again when someone deleted it in Slack', async () => {
    const id = addGroup('g', 'C1');
    await drain();
    const state = mergeNotification(store.latestGroup('g')!.state, payload('g', [{ fingerprint: 'b' }])).state;
    store.updateGroupState(id, state, clock.now());
    slack.failNext({ kind: 'permanent', reason: 'message_not_found' });
    await drain();

    expect(slack.calls.map((call) => call.method)).toEqual(['chat.postMessage', 'chat.postMessage']);
    expect(store.latestGroup('g')!.messageTs).toBe('1700000000.000002');
  });

  it('sends new alerts before edits of old ones in a busy channel', async () => {
    const old = addGroup('old', 'C1');
    await drain();
    store.updateGroupState(old, mergeNotification(store.latestGroup('old')!.state, payload('old', [{ fingerprint: 'z' }])).state, clock.now());
    addGroup('new', 'C1');
    clock.advance(5000);
    await drain();
    expect(slack.calls.slice(1).map((call) => [call.method, call.text.split(':')[0]])).toEqual([
      ['chat.postMessage', 'new'],
      ['chat.update', 'old'],
    ]);
  });

  it('a pending delivery survives a restart: a new outbox on the same store sends it once', async () => {
    addGroup('g', 'C1');
    const restarted = new Outbox({ store: inProcessStore(store), slack, render, metrics, log: logs.log, config, now: clock.now });
    await restarted.deliverDue();
    await restarted.deliverDue();
    expect(slack.calls).toHaveLength(1);
  });
});
