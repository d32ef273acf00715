import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Outbox } from '../../../src/slack/outbox.ts';
import { SqliteStore } from '../../../src/state/sqlite-store.ts';
import { metricValue } from '../../helpers/fakes.ts';
import { createOutboxHarness, outboxConfig as config, renderForTest as render } from './outbox-harness.ts';
import { inProcessStore } from '../../../src/state/in-process-store.ts';

type Harness = ReturnType<typeof createOutboxHarness>;

describe('Outbox notices lane (audit channel lines)', () => {
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

  it('posts each notice once, in order, one per second per channel', async () => {
    for (const text of ['one', 'two', 'three']) store.addNotice('C0AUDIT', text, clock.now());
    store.addNotice('C0OTHER', 'elsewhere', clock.now());
    await pollEvery(100, 5000);

    const audit = slack.calls.filter((call) => call.channel === 'C0AUDIT');
    expect(audit.map((call) => call.text)).toEqual(['one', 'two', 'three']);
    for (let i = 1; i < audit.length; i++) expect(audit[i]!.at - audit[i - 1]!.at).toBeGreaterThanOrEqual(1000);
    // Another channel does not wait behind the audit channel.
    expect(slack.calls.find((call) => call.channel === 'C0OTHER')?.at).toBe(audit[0]!.at);
    // Standalone lines: never threaded, never edited.
    expect(audit.every((call) => call.threadTs === undefined && call.method === 'chat.postMessage')).toBe(true);
    expect(store.pendingNotices()).toBe(0);
  });

  it('shares the per-channel rate with alert messages, alerts first', async () => {
    store.addNotice('C1', 'audit line', clock.now());
    addGroup('g', 'C1');
    await pollEvery(100, 3000);

    expect(slack.calls.map((call) => call.text)).toEqual(['g: 1 firing', 'audit line']);
    expect(slack.calls[1]!.at - slack.calls[0]!.at).toBeGreaterThanOrEqual(1000);
  });

  it('waits out a 429 for exactly its Retry-After, without counting a failure', async () => {
    store.addNotice('C0AUDIT', 'line', clock.now());
    slack.failNext({ kind: 'rate_limited', retryAfterMs: 20_000 });
    const start = clock.now();
    expect(await outbox.deliverDue()).toBe(start + 20_000);

    await pollEvery(500, 25_000);
    expect(slack.calls).toHaveLength(1);
    expect(slack.calls[0]!.at).toBe(start + 20_000);
  });

  it('retries 5xx with exponential backoff, then delivers', async () => {
    store.addNotice('C0AUDIT', 'line', clock.now());
    slack.failNext({ kind: 'retryable', reason: 'http_503' }, { kind: 'retryable', reason: 'http_500' });
    const start = clock.now();
    await drain();
    expect(slack.calls).toHaveLength(1);
    expect(slack.calls[0]!.at).toBe(start + 1000 + 2000);
  });

  it('gives up on a permanent error with an error log and a metric, and moves on', async () => {
    store.addNotice('C0AUDIT', 'lost', clock.now());
    store.addNotice('C0AUDIT', 'next', clock.now());
    slack.failNext({ kind: 'permanent', reason: 'not_in_channel' });
    await drain();

    expect(slack.calls.map((call) => call.text)).toEqual(['next']);
    expect(await metricValue(metrics, 'lookout_outbox_gave_up_total', { kind: 'notice', reason: 'not_in_channel' })).toBe(1);
    expect(logs.lines().some((line) => line.level === 'error' && line.channel === 'C0AUDIT')).toBe(true);
  });

  it('a notice Slack accepted but answered too late is found by its marker, not posted again', async () => {
    const id = store.addNotice('C0DIGEST', 'digest', clock.now());
    slack.failNext({ acceptThenFail: { kind: 'retryable', reason: 'network_error', uncertain: true } });
    await outbox.deliverDue();
    expect(store.nextNoticePerChannel(Number.MAX_SAFE_INTEGER)[0]?.postStartedAt).toBe(clock.now());
    await drain();

    expect(slack.posts('C0DIGEST')).toHaveLength(1);
    expect(slack.posts('C0DIGEST')[0]!.marker).toEqual({ eventType: 'lookout_notice', payload: { notice: id } });
    expect(slack.historyCalls.map((query) => query.channel)).toEqual(['C0DIGEST']);
    expect(store.pendingNotices()).toBe(0);
    expect(await metricValue(metrics, 'lookout_outbox_lookups_total', { kind: 'notice', outcome: 'found' })).toBe(1);
  });

  it('a notice whose post Slack refused is posted again without a lookup', async () => {
    store.addNotice('C0DIGEST', 'digest', clock.now());
    // ok:false: Slack answered, so the post did not happen.
    slack.failNext({ kind: 'retryable', reason: 'internal_error' });
    await drain();

    expect(slack.posts('C0DIGEST')).toHaveLength(1);
    expect(slack.historyCalls).toHaveLength(0);
  });

  describe('with a state file', () => {
    let dir: string;
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('a pending notice survives a restart and is sent exactly once', async () => {
      dir = mkdtempSync(join(tmpdir(), 'lookout-notices-'));
      const path = join(dir, 'state.db');
      const first = new SqliteStore(path);
      first.addNotice('C0AUDIT', 'before the crash', clock.now());
      first.close();

      const reopened = new SqliteStore(path);
      const restarted = new Outbox({ store: inProcessStore(reopened), slack, render, metrics, log: logs.log, config, now: clock.now });
      await restarted.deliverDue();
      clock.advance(5000);
      await restarted.deliverDue();
      reopened.close();

      expect(slack.calls.map((call) => call.text)).toEqual(['before the crash']);
    });
  });
});
