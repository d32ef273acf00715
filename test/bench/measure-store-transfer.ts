import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { SqliteStore } from '../../src/state/sqlite-store.ts';
import { WorkerStore } from '../../src/state/worker-store.ts';
import { backlogGroupState as state } from './backlog-group-state.ts';

/*
 * What the store's worker thread costs the event loop, against what it takes off it
 * (docs/architecture.md, "Event-loop stalls"): on a state file (WAL, synchronous=FULL) with 2,000
 * unsent groups over 20 channels, the calls of an outbox pass and of a webhook, REPEATS times each,
 * (a) on the event loop as before (SqliteStore called directly: the loop is blocked for all of it)
 * and (b) through WorkerStore: the round trip, and the event loop's own share of it (posting the
 * request, structured clone of the answer), from performance.eventLoopUtilization(). Then one
 * Slack post's two writes (intent, outcome) in a row, counting the commits with and without an fsync.
 * Figures: median / max in ms. Not part of `npm run bench`; run it by hand:
 *
 *   node test/bench/measure-store-transfer.ts
 */

const CHANNELS = 20;
const UNSENT = 2000;
const REPEATS = 200;

const webhook = (i: number) => ({
  payload: {
    version: '4' as const,
    groupKey: `{}:{g="${i}"}`,
    truncatedAlerts: 0,
    status: 'firing' as const,
    receiver: 'lookout',
    groupLabels: {},
    commonLabels: { alertname: 'X' },
    commonAnnotations: {},
    externalURL: 'http://am',
    alerts: state(i).alerts.map((alert) => ({ ...alert, annotations: { ...alert.annotations } })),
  },
  receivedAt: i,
});

function summary(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  return `${sorted[Math.floor(sorted.length / 2)]!.toFixed(3)} / ${sorted[sorted.length - 1]!.toFixed(3)}`;
}

const dir = mkdtempSync(join(tmpdir(), 'lookout-transfer-'));
try {
  const path = join(dir, 'state.db');
  const engine = new SqliteStore(path);
  engine.transaction(() => {
    for (let g = 0; g < UNSENT; g++) engine.addGroup(`new-${g}`, `C${g % CHANNELS}`, state(g), 0);
  });
  const now = Date.now();

  const onLoop = { pass: [] as number[], webhook: [] as number[] };
  for (let i = 0; i < REPEATS; i++) {
    let started = performance.now();
    engine.nextMessagePerChannel(now);
    engine.nextDueAt();
    engine.outboxDepth();
    onLoop.pass.push(performance.now() - started);
    started = performance.now();
    engine.transaction(() => engine.addNotification(webhook(i).payload, i));
    onLoop.webhook.push(performance.now() - started);
  }
  engine.close();

  const worker = new WorkerStore({ path, log: pino({ level: 'silent' }), fold: { routes: [], defaultChannel: 'C0' } });
  await worker.opened();
  const { store } = worker;
  const roundTrip = { pass: [] as number[], webhook: [] as number[] };
  const loopShare = { pass: [] as number[], webhook: [] as number[] };
  for (let i = 0; i < REPEATS; i++) {
    let elu = performance.eventLoopUtilization();
    let started = performance.now();
    await Promise.all([store.nextMessagePerChannel(now), store.nextDueAt(), store.outboxDepth()]);
    roundTrip.pass.push(performance.now() - started);
    loopShare.pass.push(performance.eventLoopUtilization(elu).active);
    elu = performance.eventLoopUtilization();
    started = performance.now();
    await store.addNotifications([webhook(REPEATS + i)]);
    roundTrip.webhook.push(performance.now() - started);
    loopShare.webhook.push(performance.eventLoopUtilization(elu).active);
  }
  // One Slack post as the outbox records it: the intent before the call, the outcome after.
  const group = (await store.latestGroup('new-0'))!;
  const postCommits = worker.commitCount();
  const post: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const started = performance.now();
    await store.startMessagePost(group.id, 'C0', i);
    await store.recordMessagePosted(group.id, `${i}.000100`, 'C0', group.version);
    post.push(performance.now() - started);
  }
  const after = worker.commitCount();
  await store.close();

  console.log(`store calls, ${UNSENT} unsent groups over ${CHANNELS} channels, ${REPEATS} times; median / max ms`);
  console.log('| calls | on the event loop (before) | worker: round trip | worker: event loop\'s share |');
  console.log('|---|---|---|---|');
  console.log(`| outbox pass reads (nextMessagePerChannel, nextDueAt, outboxDepth) | ${summary(onLoop.pass)} | ${summary(roundTrip.pass)} | ${summary(loopShare.pass)} |`);
  console.log(`| one webhook committed (fsync) | ${summary(onLoop.webhook)} | ${summary(roundTrip.webhook)} | ${summary(loopShare.webhook)} |`);
  console.log(
    `one post (intent, then outcome), ${REPEATS} times: ${summary(post)} ms round trips; commits with an fsync ${after.full - postCommits.full}, without ${after.normal - postCommits.normal}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
