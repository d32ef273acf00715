import { describe, expect, it } from 'vitest';
import { mergeNotification } from '../../../alerts/merge-group.ts';
import { Outbox } from '../../../src/slack/outbox.ts';
import type { HistoryPage, HistoryQuery, MessageMarker, OutgoingMessage, SlackApi } from '../../../src/slack/slack-api.ts';
import { inProcessStore } from '../../../src/state/in-process-store.ts';
import { SqliteStore } from '../../../src/state/sqlite-store.ts';
import { ManualClock, freshMetrics, metricValue, payload, recordingLogger } from '../../helpers/fakes.ts';
import { ScriptedSlack, outboxConfig, renderForTest, settle } from './outbox-harness.ts';

/*
 * Several replicas (issue 16): two outboxes, two owners, ONE store, one Slack, one manual clock.
 * A "killed" replica is one the test stops calling: it renews nothing and records nothing more.
 */

const LEASE_MS = 10_000;

/** A call as Slack received it, with the replica that made it. */
interface ReplicaCall {
  replica: string;
  method: 'chat.postMessage' | 'chat.update';
  channel: string;
  at: number;
}

/** The shared Slack as one replica sees it; `dieAfterPost`: the replica dies once Slack has taken its next post (the answer never comes). */
class ReplicaSlack implements SlackApi {
  dieAfterPost = false;
  private readonly replica: string;
  private readonly slack: ScriptedSlack;
  private readonly calls: ReplicaCall[];
  private readonly clock: ManualClock;

  constructor(replica: string, slack: ScriptedSlack, calls: ReplicaCall[], clock: ManualClock) {
    this.replica = replica;
    this.slack = slack;
    this.calls = calls;
    this.clock = clock;
  }

  async postMessage(message: OutgoingMessage & { threadTs?: string; marker?: MessageMarker }): Promise<{ ts: string }> {
    this.calls.push({ replica: this.replica, method: 'chat.postMessage', channel: message.channel, at: this.clock.now() });
    const answer = await this.slack.postMessage(message);
    if (this.dieAfterPost) return new Promise(() => undefined);
    return answer;
  }

  async updateMessage(message: OutgoingMessage & { ts: string }): Promise<void> {
    this.calls.push({ replica: this.replica, method: 'chat.update', channel: message.channel, at: this.clock.now() });
    await this.slack.updateMessage(message);
  }

  history(query: HistoryQuery): Promise<HistoryPage> {
    return this.slack.history(query);
  }

  authTest(): Promise<void> {
    return this.slack.authTest();
  }
}

function twoReplicas() {
  const clock = new ManualClock();
  const engine = new SqliteStore(':memory:');
  const store = inProcessStore(engine);
  const slack = new ScriptedSlack(clock);
  const calls: ReplicaCall[] = [];
  const replica = (id: string) => {
    const metrics = freshMetrics();
    const logs = recordingLogger();
    const api = new ReplicaSlack(id, slack, calls, clock);
    // The replica's own way to the store: its lease claims fail while `database.down` (a lost connection).
    const database = { down: false };
    const own: typeof store = {
      ...store,
      claimLeases: async (...args) => {
        if (database.down) throw new Error('connection lost');
        return store.claimLeases(...args);
      },
    };
    const outbox = new Outbox({
      store: own,
      slack: api,
      render: renderForTest,
      metrics,
      log: logs.log,
      config: outboxConfig,
      now: clock.now,
      random: () => 1,
      replica: { id, leaseDurationMs: LEASE_MS },
    });
    return { id, outbox, metrics, logs, api, database };
  };
  const a = replica('a');
  const b = replica('b');

  function addGroup(groupKey: string, channel: string, alerts = [{ fingerprint: 'a' }]): number {
    const { state } = mergeNotification(undefined, payload(groupKey, alerts));
    return engine.addGroup(groupKey, channel, state, clock.now());
  }

  function addAlert(groupKey: string, fingerprint: string): void {
    const group = engine.latestGroup(groupKey)!;
    engine.updateGroupState(group.id, mergeNotification(group.state, payload(groupKey, [{ fingerprint }])).state, clock.now());
  }

  /** Passes of the live replicas every `stepMs` (as wake-ups would), calls in flight left to run. */
  async function run(live: Array<ReturnType<typeof replica>>, stepMs: number, durationMs: number): Promise<void> {
    for (let elapsed = 0; elapsed < durationMs; elapsed += stepMs) {
      for (const { outbox } of live) void outbox.pass();
      await settle();
      clock.advance(stepMs);
    }
    await settle();
  }

  /** Slack's per-channel pacing across replicas: no two calls to one channel within a second (a 429 from Slack). */
  function tooClose(): ReplicaCall[] {
    const last = new Map<string, number>();
    const offenders: ReplicaCall[] = [];
    for (const call of calls) {
      const previous = last.get(call.channel);
      if (previous !== undefined && call.at - previous < outboxConfig.minIntervalMs) offenders.push(call);
      last.set(call.channel, call.at);
    }
    return offenders;
  }

  return { clock, engine, store, slack, calls, a, b, addGroup, addAlert, run, tooClose };
}

describe('Outbox with several replicas (channel leases)', () => {
  it('delivers each channel\'s messages from one replica only, each group posted once, within Slack\'s pacing', async () => {
    const { engine, slack, calls, a, b, addGroup, run, tooClose } = twoReplicas();
    for (const channel of ['C1', 'C2', 'C3', 'C4']) for (let i = 0; i < 4; i++) addGroup(`${channel}-g${i}`, channel);

    await run([a, b], 100, 8000);

    for (const channel of ['C1', 'C2', 'C3', 'C4']) {
      expect(slack.posts(channel)).toHaveLength(4);
      expect(new Set(calls.filter((call) => call.channel === channel).map((call) => call.replica)).size).toBe(1);
    }
    expect(new Set(slack.posts('C1').concat(slack.posts('C2'), slack.posts('C3'), slack.posts('C4')).map((call) => call.text)).size).toBe(16);
    expect(tooClose()).toEqual([]);
    expect(engine.outboxDepth().messages).toBe(0);
    // Both replicas started delivering at once: the first pass of each took what was free.
    expect((await metricValue(a.metrics, 'lookout_lease_takeovers_total', { kind: 'channel' })) + (await metricValue(b.metrics, 'lookout_lease_takeovers_total', { kind: 'channel' }))).toBe(4);
  });

  it('takes over the channel of a killed replica once its lease expires, and keeps the pacing at the handover', async () => {
    const { clock, engine, slack, calls, a, b, addGroup, addAlert, run, tooClose } = twoReplicas();
    addGroup('g', 'C1');
    await run([a], 100, 300);
    expect(slack.posts('C1')).toHaveLength(1);
    const killedAt = clock.now();

    // a is killed; a change arrives at b (the shared store) and work keeps coming.
    addAlert('g', 'b');
    addGroup('g2', 'C1');
    await run([b], 100, 15_000);

    const fromB = calls.filter((call) => call.replica === 'b');
    expect(fromB.map((call) => call.method).sort()).toEqual(['chat.postMessage', 'chat.update']);
    // Not before a's lease expired (claimed 300 ms before the kill), and at most a retry (a sixth) after.
    expect(fromB[0]!.at).toBeGreaterThanOrEqual(killedAt - 300 + LEASE_MS);
    expect(fromB[0]!.at - (killedAt - 300 + LEASE_MS)).toBeLessThanOrEqual(LEASE_MS / 6 + 100);
    expect(tooClose()).toEqual([]);
    expect(slack.posts('C1')).toHaveLength(2);
    expect(engine.outboxDepth().messages).toBe(0);
    expect(await metricValue(b.metrics, 'lookout_lease_takeovers_total', { kind: 'channel' })).toBe(1);
  });

  it('looks up the post a killed replica started, rather than posting the group again', async () => {
    const { engine, slack, a, b, addGroup, run } = twoReplicas();
    a.api.dieAfterPost = true;
    const id = addGroup('g', 'C1');
    await run([a], 100, 300);
    // Slack has the post; a recorded the intent but never the ts.
    expect(slack.posts('C1')).toHaveLength(1);
    expect(engine.groupById(id)?.postStartedAt).not.toBeNull();
    expect(engine.groupById(id)?.messageTs).toBeNull();

    await run([b], 100, 15_000);

    expect(slack.posts('C1')).toHaveLength(1);
    expect(engine.groupById(id)?.messageTs).toBe(slack.posts('C1')[0]!.ts);
    expect(await metricValue(b.metrics, 'lookout_outbox_lookups_total', { kind: 'message', outcome: 'found' })).toBe(1);
  });

  it('keeps the lease of a channel while a call to it hangs, so no other replica posts meanwhile', async () => {
    const { engine, slack, calls, a, b, addGroup, run } = twoReplicas();
    slack.scriptChannel('C1', { hold: true });
    const id = addGroup('g', 'C1');
    // 12 s: longer than the lease, shorter than the outbox's own deadline for the call (15 s).
    await run([a, b], 100, 12_000);
    expect(calls.map((call) => call.replica)).toEqual(['a']);
    slack.held[0]!.release();
    await run([a, b], 100, 200);
    expect(slack.posts('C1')).toHaveLength(1);
    expect(engine.groupById(id)?.messageTs).toBe(slack.posts('C1')[0]!.ts);
  });

  it('leaves another live replica\'s channel alone without polling it every second', async () => {
    const { clock, slack, calls, a, b, addGroup, tooClose } = twoReplicas();
    addGroup('g1', 'C1');
    await a.outbox.deliverDue();
    addGroup('g2', 'C1');
    // b has work it may not do: it asks again a sixth of the lease's duration later, not at the next second.
    const next = await b.outbox.deliverDue();
    expect(calls.filter((call) => call.replica === 'b')).toEqual([]);
    expect(next).toBeGreaterThanOrEqual(clock.now() + LEASE_MS / 6 - 1);
    // a, alive, keeps the channel and delivers the rest; b never gets it.
    for (let i = 0; i < 40; i++) {
      await a.outbox.deliverDue();
      await b.outbox.deliverDue();
      clock.advance(500);
    }
    expect(slack.posts('C1')).toHaveLength(2);
    expect(calls.every((call) => call.replica === 'a')).toBe(true);
    expect(tooClose()).toEqual([]);
  });

  it('releases its channels at shutdown, so another replica delivers at once rather than after the expiry', async () => {
    const { clock, slack, calls, a, b, addGroup, run, tooClose } = twoReplicas();
    addGroup('g1', 'C1');
    await a.outbox.deliverDue();
    clock.advance(outboxConfig.minIntervalMs);
    await a.outbox.stop();
    const stoppedAt = clock.now();
    addGroup('g2', 'C1');

    await run([b], 100, 500);

    expect(slack.posts('C1')).toHaveLength(2);
    const fromB = calls.find((call) => call.replica === 'b');
    expect(fromB!.at - stoppedAt).toBeLessThan(500);
    expect(tooClose()).toEqual([]);
  });

  it('a shutdown drain does not wait for the next lease renewal when nothing is left to deliver', async () => {
    const { a, addGroup, slack } = twoReplicas();
    addGroup('g1', 'C1');
    a.outbox.start();
    for (let i = 0; i < 50 && slack.posts('C1').length === 0; i++) await settle();
    expect(slack.posts('C1')).toHaveLength(1);
    // Held: C1's lease, renewed a third of LEASE_MS from now. Nothing else is due, so the drain
    // ends at once (it used to sleep until the renewal, and renew, until the drain's deadline);
    // then the lease is released once Slack's interval since the post has passed (≤ 1 s, real time here).
    const stopped = a.outbox.stop(30_000).then(() => 'stopped');
    const late = new Promise((resolve) => setTimeout(() => resolve('still draining'), 2_500));
    expect(await Promise.race([stopped, late])).toBe('stopped');
  });

  it('stops starting calls when it cannot renew, a third of the duration before another replica may start', async () => {
    const { clock, slack, calls, a, b, addGroup, run, tooClose } = twoReplicas();
    addGroup('g0', 'C1');
    await a.outbox.deliverDue();
    const claimedAt = clock.now();
    // a's lease claims fail from now on (its connection to the database is gone).
    a.database.down = true;
    for (let i = 1; i <= 8; i++) addGroup(`g${i}`, 'C1');

    await run([a, b], 100, 20_000);

    const fromA = calls.filter((call) => call.replica === 'a').map((call) => call.at);
    const fromB = calls.filter((call) => call.replica === 'b').map((call) => call.at);
    expect(Math.max(...fromA)).toBeLessThan(claimedAt + LEASE_MS - LEASE_MS / 3);
    expect(Math.min(...fromB)).toBeGreaterThanOrEqual(claimedAt + LEASE_MS);
    expect(slack.posts('C1')).toHaveLength(9);
    expect(tooClose()).toEqual([]);
  });
});
