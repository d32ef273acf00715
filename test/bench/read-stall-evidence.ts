// `node test/bench/read-stall-evidence.ts <dir of .cpuprofile files> [<lookout output with --trace-gc>…]`:
// what stalled Lookout's event loop, from the files a bench run leaves behind with
// BENCH_LOOKOUT_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=<dir>" BENCH_LOOKOUT_NODE_ARGS=--trace-gc
// BENCH_LOOKOUT_OUTPUT_DIR=<dir>. Prints the top self-time functions, the longest busy stretches
// (the loop runs nothing else meanwhile) with what ran in them, and the GC pauses by kind.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** A stretch shorter than this is an ordinary turn of the loop. */
const STALL_MS = 20;
const REPO = new URL('../../', import.meta.url).pathname;

const frameName = (node: ProfileNode) => {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url.replace(`file://${REPO}`, '').replace(/^.*node_modules\//, '~/');
  return `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
};

/** Milliseconds each sample stands for: the gap to the next sample (the last gets the previous gap). */
function sampleMs(profile: CpuProfile): number[] {
  return profile.samples.map((_, i) => (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0) / 1000);
}

/** The store's plumbing every statement passes through: the caller above it says which work it was. */
const PLUMBING = new Set(['get', 'all', 'run', 'exec', 'use', 'prepare', '(anonymous)', '']);

/**
 * The two innermost named frames of Lookout's own code (not node_modules, not node:, not the
 * store's plumbing) on each node's stack, "inner < outer": who asked for the work. Native calls
 * (SQLite, fsync) show no frame of their own: their time is the self time of the JS calling them.
 */
function ownFrames(profile: CpuProfile): Map<number, string> {
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const isOwn = (node: ProfileNode) => node.callFrame.url.startsWith(`file://${REPO}`) && !node.callFrame.url.includes('node_modules') && !PLUMBING.has(node.callFrame.functionName);
  const own = new Map<number, string>();
  for (const node of profile.nodes) {
    const found: string[] = [];
    for (let at: ProfileNode | undefined = node; at !== undefined && found.length < 2; at = byId.get(parent.get(at.id) ?? -1)) if (isOwn(at)) found.push(frameName(at));
    own.set(node.id, found.length === 0 ? '(no Lookout frame)' : found.join(' < '));
  }
  return own;
}

const top = (totals: Map<string, number>, n: number) => [...totals].sort((a, b) => b[1] - a[1]).slice(0, n);
const add = (totals: Map<string, number>, key: string, value: number) => totals.set(key, (totals.get(key) ?? 0) + value);

function summariseProfile(file: string): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const own = ownFrames(profile);
  const durations = sampleMs(profile);
  const self = new Map<string, number>();
  const byOwn = new Map<string, number>();
  const stalls: Array<{ ms: number; self: Map<string, number>; own: Map<string, number> }> = [];
  let stretch = { ms: 0, self: new Map<string, number>(), own: new Map<string, number>() };
  let busyMs = 0;
  let totalMs = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id)!;
    const took = durations[i] ?? 0;
    totalMs += took;
    const idle = node.callFrame.functionName === '(idle)';
    if (!idle) {
      busyMs += took;
      add(self, frameName(node), took);
      add(byOwn, own.get(id) ?? '?', took);
      stretch.ms += took;
      add(stretch.self, frameName(node), took);
      add(stretch.own, own.get(id) ?? '?', took);
    }
    if (idle || i === profile.samples.length - 1) {
      if (stretch.ms >= STALL_MS) stalls.push(stretch);
      stretch = { ms: 0, self: new Map(), own: new Map() };
    }
  });
  console.log(`\n== ${file}: ${(totalMs / 1000).toFixed(1)} s sampled, ${(busyMs / 1000).toFixed(1)} s busy; ${stalls.length} busy stretches ≥ ${STALL_MS} ms`);
  console.log('top self time:');
  for (const [name, took] of top(self, 15)) console.log(`  ${took.toFixed(0).padStart(7)} ms  ${((100 * took) / busyMs).toFixed(1).padStart(5)} %  ${name}`);
  console.log('busy time by the Lookout code asking for it:');
  for (const [name, took] of top(byOwn, 12)) console.log(`  ${took.toFixed(0).padStart(7)} ms  ${((100 * took) / busyMs).toFixed(1).padStart(5)} %  ${name}`);
  const longest = [...stalls].sort((a, b) => b.ms - a.ms).slice(0, 8);
  console.log(`longest busy stretches (ms: top self functions | Lookout frames asking for them):`);
  for (const s of longest) {
    const fmt = (totals: Map<string, number>) => top(totals, 3).map(([name, took]) => `${name} ${took.toFixed(0)}`).join('; ');
    console.log(`  ${s.ms.toFixed(0).padStart(5)}: ${fmt(s.self)}\n         | ${fmt(s.own)}`);
  }
  const hist = [20, 50, 100, 200, 500].map((limit) => `≥${limit} ms: ${stalls.filter((s) => s.ms >= limit).length}`);
  console.log(`busy stretches ${hist.join(', ')}`);
}

/** --trace-gc lines: "… 1234 ms: Scavenge 12.3 (15.0) -> 10.1 (16.0) MB, pooled: 0 MB, 1.23 / 0.00 ms …". */
function summariseGcTrace(file: string): void {
  const pauses = new Map<string, number[]>();
  for (const match of readFileSync(file, 'utf8').matchAll(/\d+ ms: ((?:Scavenge|Mark-Compact|Mark-Sweep|Minor Mark-Sweep)[^\d]*?) [\d.]+ \([\d.]+\) -> .*? MB, .*?([\d.]+) \/ [\d.]+ ms/g)) {
    const kind = match[1]!.trim();
    pauses.set(kind, [...(pauses.get(kind) ?? []), Number(match[2])]);
  }
  console.log(`\n== ${file}: GC pauses`);
  for (const [kind, list] of pauses) {
    const sorted = [...list].sort((a, b) => a - b);
    const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
    const sum = list.reduce((a, b) => a + b, 0);
    console.log(`  ${kind}: ${list.length} pauses, total ${sum.toFixed(0)} ms, p50 ${at(50).toFixed(1)} / p99 ${at(99).toFixed(1)} / max ${Math.max(...list).toFixed(1)} ms`);
  }
}

const [profileDir, ...gcFiles] = process.argv.slice(2);
if (profileDir === undefined) throw new Error('usage: node test/bench/read-stall-evidence.ts <dir of .cpuprofile files> [<--trace-gc output>…]');
for (const name of readdirSync(profileDir).filter((n) => n.endsWith('.cpuprofile')).sort()) summariseProfile(join(profileDir, name));
for (const file of gcFiles) summariseGcTrace(file);
