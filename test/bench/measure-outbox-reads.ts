import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/state/sqlite-store.ts';
import { backlogGroupState as state } from './backlog-group-state.ts';

/*
 * What one outbox pass costs the store against its backlog (docs/architecture.md, "Event-loop
 * stalls"): for each backlog size, a fresh state file (WAL, synchronous=FULL, as Lookout runs it)
 * with N unsent groups over 20 channels, a quarter of them held for an enrichment that never
 * released them (their hold ran out: they are due) and with a detail message waiting for the
 * first post, 200 posted groups with an edit and a thread
 * reply due, 200 detail messages due and 20 audit notices. Then each per-pass read, and one
 * commit, 20 times; the figures are median / max in ms. Not part of `npm run bench`; run it by hand:
 *
 *   node test/bench/measure-outbox-reads.ts [100,1000,3000,10000]
 */

const sizes = (process.argv[2] ?? '100,1000,3000,10000').split(',').map(Number);
const CHANNELS = 20;
const REPEATS = 20;

function fill(store: SqliteStore, unsent: number, now: number): void {
  store.transaction(() => {
    // Posted groups, each with an edit, a thread reply and a detail message to deliver.
    for (let g = 0; g < 200; g++) {
      const id = store.addGroup(`posted-${g}`, `C${g % CHANNELS}`, state(g), now);
      store.recordMessagePosted(id, `${g}.000100`, `C${g % CHANNELS}`, 1);
      store.updateGroupState(id, state(g), now);
      store.addReply(id, 'Alert resolved.', now);
      store.requestEnrichment(id, { [`${g}-0`]: '2026-01-01T00:00:00Z' }, null);
      store.saveEnrichment(id, { enrichment: {}, handled: {}, releaseFirstPost: false, messageChanged: false, detailChanged: true });
    }
    for (let c = 0; c < CHANNELS; c++) store.addNotice(`C${c}`, 'audit line', now);
    for (let g = 0; g < unsent; g++) {
      const id = store.addGroup(`new-${g}`, `C${g % CHANNELS}`, state(g), now);
      if (g % 4 !== 0) continue;
      // Enriched in part: a detail message waits for the first post, which waits for the rest.
      store.requestEnrichment(id, { [`${g}-0`]: '2026-01-01T00:00:00Z', [`${g}-1`]: '2026-01-01T00:00:00Z' }, now - 1);
      store.saveEnrichment(id, { enrichment: {}, handled: { [`${g}-0`]: '2026-01-01T00:00:00Z' }, releaseFirstPost: false, messageChanged: false, detailChanged: true });
    }
  });
}

function time(fn: () => unknown): string {
  const ms: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const started = performance.now();
    fn();
    ms.push(performance.now() - started);
  }
  ms.sort((a, b) => a - b);
  return `${ms[Math.floor(ms.length / 2)]!.toFixed(2)} / ${ms[ms.length - 1]!.toFixed(2)}`;
}

const dir = mkdtempSync(join(tmpdir(), 'lookout-outbox-reads-'));
console.log('| unsent groups | nextMessagePerChannel | nextDueAt | nextDetailPerChannel | nextReplyPerChannel | nextNoticePerChannel | one commit (fsync) |');
console.log('|---|---|---|---|---|---|---|');
for (const unsent of sizes) {
  const path = join(dir, `state-${unsent}.db`);
  const store = new SqliteStore(path);
  const now = Date.now();
  let at = now;
  fill(store, unsent, now);
  const rows = store.nextMessagePerChannel(now).length;
  if (rows !== CHANNELS) throw new Error(`expected one message per channel (${CHANNELS}), got ${rows}`);
  const figures = [
    time(() => store.nextMessagePerChannel(now)),
    time(() => store.nextDueAt()),
    time(() => store.nextDetailPerChannel(now)),
    time(() => store.nextReplyPerChannel(now)),
    time(() => store.nextNoticePerChannel(now)),
    time(() => store.transaction(() => store.startMessagePost(1, 'C0', (at += 1)))),
  ];
  console.log(`| ${unsent.toLocaleString('en')} | ${figures.join(' | ')} |`);
  store.close();
}
rmSync(dir, { recursive: true, force: true });
