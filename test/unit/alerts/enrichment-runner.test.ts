import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { EnrichmentRunner, MAX_ALERTS_PER_GROUP, SNAPSHOT_LEAD_MS, UNREF_TIMERS, type Timers } from '../../../alerts/enrichment-runner.ts';
import { SourceUnavailable, type Enricher, type EnrichmentFact, type EnrichmentSource } from '../../../alerts/enrichers/enrichment.ts';
import type { TrackedAlert } from '../../../alerts/group-state.ts';
import { renderGroupDetail, renderGroupMessage } from '../../../alerts/render.ts';
import { renderMessageAsText } from '../../../alerts/render-text.ts';
import type { AlertmanagerPayload } from '../../../alerts/payload.ts';
import { Outbox } from '../../../src/slack/outbox.ts';
import type { HistoryPage, OutgoingMessage, SlackApi } from '../../../src/slack/slack-api.ts';
import { SqliteStore } from '../../../src/state/sqlite-store.ts';
import { inProcessStore } from '../../../src/state/in-process-store.ts';
import type { Store } from '../../../src/state/store.ts';
import type { Metrics } from '../../../src/metrics.ts';
import { ManualClock, freshMetrics, metricValue, payload, recordingLogger } from '../../helpers/fakes.ts';
import { outboxConfig } from '../slack/outbox-harness.ts';

const BUDGET_MS = 1500;
const TIMEOUT_MS = 10_000;
const CHANNEL = 'C1';

/** Timers on the manual clock: advance() runs what falls due, in time order, letting promises settle between. */
class ManualTimers implements Timers {
  private readonly clock: ManualClock;
  private readonly pending = new Map<number, { at: number; callback: () => void }>();
  private sequence = 0;

  constructor(clock: ManualClock) {
    this.clock = clock;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = ++this.sequence;
    this.pending.set(id, { at: this.clock.now() + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  async advanceTo(target: number): Promise<void> {
    for (;;) {
      await settle();
      const due = [...this.pending.entries()].filter(([, timer]) => timer.at <= target).sort(([a, x], [b, y]) => x.at - y.at || a - b)[0];
      if (due === undefined) break;
      this.pending.delete(due[0]);
      this.clock.current = Math.max(this.clock.current, due[1].at);
      due[1].callback();
    }
    this.clock.current = Math.max(this.clock.current, target);
    await settle();
  }
}

/** Lets every promise chain that can move on do so (no time passes on the manual clock). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
}

interface Call {
  at: number;
  method: 'chat.postMessage' | 'chat.update';
  ts: string;
  threadTs?: string;
  text: string;
}

/** Slack that answers at once and records what it was asked, as plain text renditions. */
class RecordingSlack implements SlackApi {
  readonly calls: Call[] = [];
  private sequence = 0;
  private readonly clock: ManualClock;

  constructor(clock: ManualClock) {
    this.clock = clock;
  }

  async postMessage(message: OutgoingMessage & { threadTs?: string }): Promise<{ ts: string }> {
    const ts = `1700000000.${String(++this.sequence).padStart(6, '0')}`;
    this.calls.push({ at: this.clock.now(), method: 'chat.postMessage', ts, text: asText(message), ...(message.threadTs ? { threadTs: message.threadTs } : {}) });
    return { ts };
  }

  async updateMessage(message: OutgoingMessage & { ts: string }): Promise<void> {
    this.calls.push({ at: this.clock.now(), method: 'chat.update', ts: message.ts, text: asText(message) });
  }

  /** Every post is answered, so the outbox never needs to look one up. */
  async history(): Promise<HistoryPage> {
    return { messages: [] };
  }

  async authTest(): Promise<void> {}

  topLevel(): Call[] {
    return this.calls.filter((call) => call.threadTs === undefined);
  }
}

function asText(message: OutgoingMessage): string {
  return renderMessageAsText({ text: message.text, blocks: message.blocks ?? [] });
}

/** A fake source whose answer the test scripts: a fact after some time, a failure, or nothing ever. */
class FakeEnricher implements Enricher {
  readonly source: EnrichmentSource;
  readonly calls: string[] = [];
  private readonly behave: (alert: TrackedAlert, signal: AbortSignal) => Promise<EnrichmentFact | undefined>;

  constructor(source: EnrichmentSource, behave: (alert: TrackedAlert, signal: AbortSignal) => Promise<EnrichmentFact | undefined>) {
    this.source = source;
    this.behave = behave;
  }

  enrich(alert: TrackedAlert, _target: unknown, signal: AbortSignal): Promise<EnrichmentFact | undefined> {
    this.calls.push(alert.fingerprint);
    return this.behave(alert, signal);
  }
}

describe('enrichment pipeline: budget, edits, failures', () => {
  let clock: ManualClock;
  let timers: ManualTimers;
  let store: Store;
  let slack: RecordingSlack;
  let metrics: Metrics;
  let outbox: Outbox;
  let runners: EnrichmentRunner[];
  const start = Date.parse('2026-01-01T00:00:00Z');

  beforeEach(() => {
    clock = new ManualClock(start);
    timers = new ManualTimers(clock);
    store = enrichingStore(new SqliteStore(':memory:'));
    slack = new RecordingSlack(clock);
    metrics = freshMetrics();
    outbox = newOutbox(store);
    runners = [];
  });

  afterEach(async () => {
    for (const runner of runners) await runner.stop();
  });

  /** The store as Lookout runs it with enrichment on: the fold holds first posts for the budget. */
  function enrichingStore(engine: SqliteStore): Store {
    return inProcessStore(engine, { fold: { routes: [], defaultChannel: CHANNEL, enrichmentBudgetMs: BUDGET_MS } });
  }

  /** A store whose enrichment writes fail (as on a disk I/O error). */
  function brokenStore(): Store {
    const engine = new SqliteStore(':memory:');
    const broken = Object.assign(Object.create(engine) as SqliteStore, {
      saveEnrichment: () => {
        throw new Error('disk I/O error');
      },
    });
    store = enrichingStore(broken);
    outbox = newOutbox(store);
    return store;
  }

  function newOutbox(on: Store): Outbox {
    return new Outbox({
      store: on,
      slack,
      render: (state, record) => renderGroupMessage(state, record.enrichment),
      renderDetail: (detail) => renderGroupDetail(detail.state, detail.enrichment),
      metrics,
      log: recordingLogger().log,
      config: { ...outboxConfig, maxBackoffMs: 8000 },
      now: clock.now,
      random: () => 1,
    });
  }

  function newRunner(on: Store, enrichers: Enricher[], maxConcurrentGroups = 4, log = recordingLogger().log): EnrichmentRunner {
    const runner = new EnrichmentRunner({
      store: on,
      sources: { resolveTarget: (alert) => ({ namespace: alert.labels['namespace'] ?? 'shop', pod: alert.labels['pod'] ?? 'api-1' }), enrichers },
      metrics,
      log,
      config: { budgetMs: BUDGET_MS, timeoutMs: TIMEOUT_MS, maxConcurrentGroups },
      onChange: () => undefined,
      now: clock.now,
      timers,
    });
    runners.push(runner);
    return runner;
  }

  /** A notification arrives now; the processor folds it, the runner is woken, the outbox runs a pass. */
  async function receive(runner: EnrichmentRunner, notification: AlertmanagerPayload, on: Store = store): Promise<void> {
    await on.addNotification(notification, clock.now());
    await on.foldInbox(100);
    runner.wake();
    await settle();
    await outbox.deliverDue();
  }

  /** Moves time to start + ms (running timers due on the way), then lets the outbox deliver what is due. */
  async function at(ms: number, box: Outbox = outbox): Promise<void> {
    await timers.advanceTo(start + ms);
    await box.deliverDue();
  }

  const after = (ms: number, fact: EnrichmentFact | undefined) => () => new Promise<EnrichmentFact | undefined>((resolve) => timers.setTimeout(() => resolve(fact), ms));
  const podFact: EnrichmentFact = { source: 'pod', summary: 'pod *Running* · 7 restarts · last OOMKilled' };
  const logsFact: EnrichmentFact = { source: 'logs', summary: '3 error lines', detail: '```\nERROR out of memory\n```' };
  const eventsFact = (text: string): EnrichmentFact => ({ source: 'events', summary: '2 warnings', detail: `• ${text}` });

  it('a fast enrichment is in the first post, which goes as soon as it is complete', async () => {
    const runner = newRunner(store, [new FakeEnricher('pod', after(200, podFact))]);
    await receive(runner, payload('g', [{ fingerprint: 'a' }]));
    expect(slack.calls).toEqual([]); // held for enrichment

    await at(200);
    expect(slack.topLevel()).toHaveLength(1);
    expect(slack.topLevel()[0]!.at).toBe(start + 200);
    expect(slack.topLevel()[0]!.text).toContain('↳ pod *Running* · 7 restarts · last OOMKilled');
    await at(5000);
    expect(slack.calls.filter((call) => call.method === 'chat.update')).toEqual([]);
  });

  it('the first post waits for enrichment up to the budget and no longer; a late result arrives as an edit', async () => {
    const runner = newRunner(store, [new FakeEnricher('pod', after(100, podFact)), new FakeEnricher('logs', after(4000, logsFact))]);
    await receive(runner, payload('g', [{ fingerprint: 'a' }]));

    // What is known is written just before the budget ends, so it is in the post however the
    // outbox's own budget timer and the runner's happen to be ordered.
    await at(BUDGET_MS - SNAPSHOT_LEAD_MS - 1);
    expect(slack.calls).toEqual([]);
    await at(BUDGET_MS - SNAPSHOT_LEAD_MS);
    const [post] = slack.topLevel();
    expect(post?.at).toBe(start + BUDGET_MS - SNAPSHOT_LEAD_MS);
    expect(post?.text).toContain('↳ pod *Running*');
    expect(post?.text).toContain('⚠️ _logs unavailable: timeout_');

    await at(4000);
    await at(6000);
    const edits = slack.calls.filter((call) => call.method === 'chat.update' && call.ts === post!.ts);
    expect(edits).toHaveLength(1);
    expect(edits[0]!.text).toContain('↳ pod *Running* · 7 restarts · last OOMKilled · 3 error lines');
    expect(edits[0]!.text).not.toContain('unavailable');
    // Late is not failed: nothing counted.
    expect(await metricValue(metrics, 'lookout_enrichment_failures_total')).toBe(0);
  });

  it('a hanging source gives the note after the budget, is cut off at the deadline, and is counted', async () => {
    const hanging = new FakeEnricher('logs', () => new Promise(() => undefined)); // ignores the signal, never settles
    const runner = newRunner(store, [new FakeEnricher('pod', after(10, podFact)), hanging]);
    await receive(runner, payload('g', [{ fingerprint: 'a' }]));

    await at(BUDGET_MS);
    expect(slack.topLevel()[0]?.text).toContain('logs unavailable: timeout');
    await at(TIMEOUT_MS + 5000);
    expect(await metricValue(metrics, 'lookout_enrichment_failures_total', { source: 'logs', reason: 'timeout' })).toBe(1);
    expect((await store.latestGroup('g'))!.enrichment['a']).toMatchObject({ complete: true, failures: [{ source: 'logs', reason: 'timeout' }] });
    // The message already said so: no edit for the same note.
    expect(slack.calls.filter((call) => call.method === 'chat.update')).toEqual([]);
    await runner.idle();
  });

  it('a hanging source that answers after the budget is edited in', async () => {
    let answer: (fact: EnrichmentFact) => void = () => undefined;
    const runner = newRunner(store, [new FakeEnricher('logs', () => new Promise((resolve) => (answer = resolve)))]);
    await receive(runner, payload('g', [{ fingerprint: 'a' }]));
    await at(BUDGET_MS);
    expect(slack.topLevel()[0]?.text).toContain('logs unavailable: timeout');

    answer(logsFact);
    await at(BUDGET_MS + 3000);
    const edit = slack.calls.find((call) => call.method === 'chat.update');
    expect(edit?.text).toContain('↳ 3 error lines');
    expect(edit?.text).not.toContain('unavailable');
  });

  it('a throwing source never blocks the post: a short note, a metric, and the other sources still shown', async () => {
    const logger = recordingLogger();
    const runner = newRunner(store, [
      new FakeEnricher('pod', () => {
        throw new Error('connect ECONNREFUSED 10.0.0.1:443 Authorization: Bearer secret-token');
      }),
      new FakeEnricher('events', () => Promise.reject(new SourceUnavailable('forbidden'))),
      new FakeEnricher('logs', after(50, logsFact)),
    ], 4, logger.log);
    await receive(runner, payload('g', [{ fingerprint: 'a' }]));
    await at(50);
    // What Slack shows as "error" is a bug in a source: its stack must be in the logs.
    const warnings = logger.lines().filter((line) => line['level'] === 'warn');
    expect(warnings).toEqual([expect.objectContaining({ source: 'pod', fingerprint: 'a', err: expect.objectContaining({ stack: expect.stringContaining('Error') }) })]);

    const [post] = slack.topLevel();
    expect(post?.at).toBe(start + 50);
    expect(post?.text).toContain('↳ 3 error lines');
    expect(post?.text).toContain('⚠️ _pod unavailable: error · events unavailable: forbidden_');
    expect(post?.text).not.toContain('secret-token');
    expect(await metricValue(metrics, 'lookout_enrichment_failures_total', { source: 'pod', reason: 'error' })).toBe(1);
    expect(await metricValue(metrics, 'lookout_enrichment_failures_total', { source: 'events', reason: 'forbidden' })).toBe(1);
  });

  it('the pipeline itself failing never blocks the post beyond the budget', async () => {
    const broken = brokenStore();
    const runner = newRunner(broken, [new FakeEnricher('pod', after(10, podFact))]);
    await receive(runner, payload('g', [{ fingerprint: 'a' }]));
    await at(100);
    expect(slack.calls).toEqual([]);
    await at(BUDGET_MS);
    expect(slack.topLevel()).toHaveLength(1);
    expect(slack.topLevel()[0]!.text).toContain('TestAlert');
  });

  it('when writing fails, the sources still running are told to stop instead of running on for nobody', async () => {
    const broken = brokenStore();
    let signal: AbortSignal | undefined;
    const runner = newRunner(broken, [new FakeEnricher('logs', (_alert, given) => ((signal = given), new Promise(() => undefined)))]);
    await receive(runner, payload('g', [{ fingerprint: 'a' }]));
    expect(signal?.aborted).toBe(false);
    await at(BUDGET_MS); // the first write fails here
    expect(signal?.aborted).toBe(true);
  });

  it('uses real timers that never keep the process alive', () => {
    const handle = UNREF_TIMERS.setTimeout(() => undefined, 60_000) as NodeJS.Timeout;
    expect(handle.hasRef()).toBe(false);
    UNREF_TIMERS.clearTimeout(handle);
  });

  it('a restart during enrichment still posts at the budget, and the new process enriches and edits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lookout-enrich-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true })); // after afterEach has stopped the runners
    const path = join(dir, 'state.db');
    const before = enrichingStore(new SqliteStore(path));
    const oldRunner = newRunner(before, [new FakeEnricher('pod', () => new Promise(() => undefined))]);
    await receive(oldRunner, payload('g', [{ fingerprint: 'a' }]), before);
    await at(300);
    // Killed: the old runner and outbox are gone without writing anything more.
    await oldRunner.stop();

    const after2 = enrichingStore(new SqliteStore(path));
    const restartedOutbox = newOutbox(after2);
    const pod = new FakeEnricher('pod', after(2000, podFact));
    const restarted = newRunner(after2, [pod]);
    restarted.wake();
    await at(BUDGET_MS - SNAPSHOT_LEAD_MS - 1, restartedOutbox);
    expect(slack.calls).toEqual([]);
    await at(BUDGET_MS - SNAPSHOT_LEAD_MS, restartedOutbox);
    expect(slack.topLevel()).toHaveLength(1);

    await at(300 + 2000, restartedOutbox);
    await at(5000, restartedOutbox);
    expect(pod.calls).toEqual(['a']);
    const edit = slack.calls.find((call) => call.method === 'chat.update');
    expect(edit?.text).toContain('↳ pod *Running*');
  });

  it('posts the detail message once in the thread, then edits it when it changes', async () => {
    let event = 'BackOff: restarting failed container';
    const events = new FakeEnricher('events', async () => eventsFact(event));
    const runner = newRunner(store, [events]);
    await receive(runner, payload('g', [{ fingerprint: 'a', labels: { pod: 'api-1' } }]));
    await at(0);
    await at(1000);
    const [parent] = slack.topLevel();
    const details = () => slack.calls.filter((call) => call.threadTs === parent!.ts || (call.method === 'chat.update' && call.ts !== parent!.ts));
    expect(details()).toHaveLength(1);
    expect(details()[0]).toMatchObject({ method: 'chat.postMessage', threadTs: parent!.ts });
    expect(details()[0]!.text).toContain('BackOff: restarting failed container');

    // Another alert joins; its events differ, so the detail changes: an edit, not a second post.
    event = 'FailedScheduling: 0/3 nodes are available';
    await receive(runner, payload('g', [{ fingerprint: 'a', labels: { pod: 'api-1' } }, { fingerprint: 'b', labels: { pod: 'api-2' } }]));
    for (let t = 1000; t <= 6000; t += 1000) await at(t);
    const detailCalls = details().filter((call) => call.text.includes('Details'));
    expect(detailCalls.map((call) => call.method)).toEqual(['chat.postMessage', 'chat.update']);
    expect(detailCalls[1]!.ts).toBe(detailCalls[0]!.ts);
    expect(detailCalls[1]!.text).toContain('FailedScheduling');
    expect(detailCalls[1]!.text).toContain('BackOff');
    expect(events.calls).toEqual(['a', 'b']); // a was not looked up again
  });

  it('does not enrich resolved alerts, and re-enriches an alert only when it fires anew', async () => {
    const pod = new FakeEnricher('pod', after(10, podFact));
    const runner = newRunner(store, [pod]);
    await receive(runner, payload('g', [{ fingerprint: 'a' }, { fingerprint: 'r', status: 'resolved' }]));
    await at(100);
    expect(pod.calls).toEqual(['a']);

    await receive(runner, payload('g', [{ fingerprint: 'a', status: 'resolved' }, { fingerprint: 'r', status: 'resolved' }]));
    await at(2000);
    expect(pod.calls).toEqual(['a']);

    // A new occurrence (later startsAt) of a is looked up again.
    await receive(runner, payload('g', [{ fingerprint: 'a', startsAt: '2026-01-01T00:05:00Z' }]));
    await at(4000);
    expect(pod.calls).toEqual(['a', 'a']);
  });

  it('enriches at most maxConcurrentGroups groups at once, and the rest are posted within their budget anyway', async () => {
    const pod = new FakeEnricher('pod', () => new Promise(() => undefined));
    const runner = newRunner(store, [pod], 2);
    for (let i = 0; i < 5; i++) {
      await store.addNotification(payload(`g${i}`, [{ fingerprint: `f${i}` }]), clock.now());
    }
    await store.foldInbox(100);
    runner.wake();
    await settle();
    expect(pod.calls).toEqual(['f0', 'f1']);

    // One post per second per channel: all five go from the budget on, none waits longer for enrichment.
    for (let t = BUDGET_MS; t <= BUDGET_MS + 5000; t += 500) await at(t);
    expect(slack.topLevel()).toHaveLength(5);
    expect(slack.topLevel()[0]!.at).toBe(start + BUDGET_MS);
    // The deadline frees the slots for the next groups.
    await at(TIMEOUT_MS + 100);
    expect(pod.calls).toEqual(['f0', 'f1', 'f2', 'f3']);
  });

  it('looks up at most MAX_ALERTS_PER_GROUP alerts of one group, and leaves nothing queued', async () => {
    const pod = new FakeEnricher('pod', after(10, podFact));
    const runner = newRunner(store, [pod]);
    await receive(runner, payload('big', Array.from({ length: MAX_ALERTS_PER_GROUP + 10 }, (_, i) => ({ fingerprint: `f${String(i).padStart(3, '0')}` }))));
    await at(100);
    await runner.idle();
    expect(pod.calls).toHaveLength(MAX_ALERTS_PER_GROUP);
    expect(await store.groupsAwaitingEnrichment(10)).toEqual([]);
    expect(slack.topLevel()).toHaveLength(1);
  });

  it('without enrichment the processor holds nothing: the post goes at once', async () => {
    const plain = inProcessStore(new SqliteStore(':memory:'), { fold: { routes: [], defaultChannel: CHANNEL } });
    outbox = newOutbox(plain);
    await plain.addNotification(payload('g', [{ fingerprint: 'a' }]), clock.now());
    await plain.foldInbox(100);
    await outbox.deliverDue();
    expect(slack.topLevel()).toHaveLength(1);
  });
});
