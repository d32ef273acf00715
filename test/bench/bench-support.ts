import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { FakeSlack, FakeSlackCall } from '../support/fake-slack.ts';
import { startLookout, type LookoutProcess } from '../support/lookout-process.ts';
import { RawHttpClient } from './raw-http-client.ts';
import { startLookoutTestBed, type LookoutTestBed, type LookoutTestBedOptions } from '../support/lookout-test-bed.ts';
import type { TestServers } from '../support/servers/test-servers.ts';

/** One budget of docs/DESIGN.md "Budgets", checked against a measured value. */
export interface BudgetCheck {
  /** What is bounded, e.g. "webhook answer p99". */
  readonly what: string;
  /** The limit as a person reads it, e.g. "< 50 ms". */
  readonly limit: string;
  /** The measured value as a person reads it. */
  readonly measured: string;
  readonly pass: boolean;
}

/** What one scenario measured: figures to print, budgets to judge, and notes on how. */
export interface ScenarioResult {
  readonly title: string;
  /** Label → value, in the order to print. */
  readonly figures: ReadonlyArray<readonly [string, string]>;
  readonly budgets: readonly BudgetCheck[];
  /** How it was measured and anything a reader must know to trust the figures. */
  readonly notes: readonly string[];
}

/** What the runner hands to each scenario. */
export interface BenchContext {
  /** Smaller sizes (`--quick`); the default run uses the budget sizes. */
  readonly quick: boolean;
  /**
   * Kubeconfig files of the real kube-apiserver, and the OpenBao started beside it (Kubernetes
   * auth configured against it), when a scenario needing them was selected.
   */
  readonly kube: { readonly admin: string; readonly bot: string; readonly bao: TestServers['bao'] } | undefined;
  /** Numeric `--name=value` options, to override sizes. */
  option(name: string, fallback: number): number;
  /** A progress line on stderr. */
  log(line: string): void;
}

/** A runnable scenario: one module each under ./scenarios/. */
export interface Scenario {
  /** Short id for `--only=`. */
  readonly id: string;
  readonly needsKube: boolean;
  run(context: BenchContext): Promise<ScenarioResult>;
}

/** Nearest-rank percentile of unsorted samples (ms). */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

/** "p50 1.2 ms / p99 4.5 ms / max 9.0 ms" for a sample of durations in milliseconds. */
export function latencySummary(samples: readonly number[]): { p50: number; p99: number; max: number; text: string } {
  const p50 = percentile(samples, 50);
  const p99 = percentile(samples, 99);
  const max = samples.length === 0 ? Number.NaN : Math.max(...samples);
  return { p50, p99, max, text: `p50 ${ms(p50)} / p99 ${ms(p99)} / max ${ms(max)} (n=${samples.length})` };
}

/** Milliseconds with sensible precision. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value < 10 ? `${value.toFixed(2)} ms` : value < 1000 ? `${value.toFixed(1)} ms` : `${(value / 1000).toFixed(2)} s`;
}

/** Runs `work(i)` for i in [0, count) with at most `concurrency` at once. */
export async function runPool(count: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      await work(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

export const sleep = (milliseconds: number) => new Promise<void>((resolve) => setTimeout(resolve, milliseconds));

/** Channel ids C0BENCH000…, which the fake Slack knows and Lookout's routes send to. */
export function benchChannels(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `C0BENCH${String(i).padStart(3, '0')}`);
}

/** Lookout routes sending a group whose `bench_channel` label names a channel to that channel. */
export function channelRoutes(channels: readonly string[]): Array<{ match: Record<string, string>; channel: string }> {
  return channels.map((channel) => ({ match: { bench_channel: channel }, channel }));
}

/** Lookout as the container image runs it, with the fake Slack in front of it and everything to stop it. */
export interface BenchLookout {
  readonly bed: LookoutTestBed;
  readonly slack: FakeSlack;
  readonly lookout: LookoutProcess;
  /** POST /alertmanager with the bed's token; resolves to the status and the time to the answer (ms). */
  postWebhook(body: string): Promise<{ status: number; ms: number }>;
  /** Sums every sample of a counter or gauge in /metrics (all label sets). */
  metric(name: string): Promise<number>;
  /** {@link metric} for several names from one scrape (each scrape resets Node's nodejs_eventloop_lag_* gauges). */
  metrics(names: readonly string[]): Promise<number[]>;
  /** Peak resident set size (VmHWM) and current (VmRSS) of the Lookout process, in MiB. */
  memory(): { peakMiB: number; rssMiB: number } | undefined;
  stop(): Promise<void>;
}

/**
 * Starts a fake Slack and Lookout (child process, LOG_LEVEL=warn so logging does not dominate),
 * compiled (dist/, which run.ts builds first) and with the runtime env the Deployment ships
 * (NODE_OPTIONS, MALLOC_ARENA_MAX: deploymentRuntimeEnv), as
 * the container image runs it, so memory figures are those of production. BENCH_LOOKOUT_FROM=source
 * runs src/main.ts instead, as `npm start` does (each thread then also holds the type stripper).
 * BENCH_LOOKOUT_NODE_OPTIONS, if set, replaces them (e.g. to try heap flags or `--cpu-prof`);
 * BENCH_LOOKOUT_NODE_ARGS adds flags NODE_OPTIONS refuses (`--trace-gc`), space-separated;
 * BENCH_LOOKOUT_OUTPUT_DIR, if set, keeps what Lookout printed (the --trace-gc lines go to
 * stdout) in a file there when it stops. Together they find what stalls the event loop.
 */
export async function startBenchLookout(options: LookoutTestBedOptions): Promise<BenchLookout> {
  const runtime = deploymentRuntimeEnv();
  const nodeOptions = process.env.BENCH_LOOKOUT_NODE_OPTIONS ?? runtime.NODE_OPTIONS;
  const bed = await startLookoutTestBed({ ...options, extraEnv: { LOG_LEVEL: 'warn', ...runtime, ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}), ...options.extraEnv } });
  let lookout: LookoutProcess;
  try {
    const nodeArgs = (process.env.BENCH_LOOKOUT_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');
    lookout = await startLookout(bed.env, undefined, { nodeArgs, compiled: benchRunsCompiled() });
  } catch (error) {
    await bed.close();
    throw error;
  }
  const webhookUrl = `${lookout.url}/alertmanager`;
  const webhookHeaders = { authorization: `Bearer ${bed.webhookToken}`, 'content-type': 'application/json' };
  const webhookClient = new RawHttpClient(webhookUrl);
  const metrics = async (names: readonly string[]): Promise<number[]> => {
    const text = await (await fetch(`${lookout.url}/metrics`)).text();
    return names.map((name) => {
      const pattern = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'gm');
      return [...text.matchAll(pattern)].reduce((sum, match) => sum + Number(match[1]), 0);
    });
  };
  return {
    bed,
    slack: bed.slack,
    lookout,
    postWebhook(body) {
      return webhookClient.send(RawHttpClient.request(webhookUrl, webhookHeaders, body));
    },
    async metric(name) {
      return (await metrics([name]))[0] ?? Number.NaN;
    },
    metrics,
    memory() {
      if (lookout.pid === undefined) return undefined;
      try {
        const status = readFileSync(`/proc/${lookout.pid}/status`, 'utf8');
        const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
        return { peakMiB: kib('VmHWM') / 1024, rssMiB: kib('VmRSS') / 1024 };
      } catch {
        return undefined;
      }
    },
    async stop() {
      webhookClient.close();
      try {
        await lookout.stop();
        keepOutput(lookout);
      } finally {
        await bed.close();
      }
    },
  };
}

/**
 * The slash phases' client: node:http with keep-alive, not fetch. fetch (undici) costs the
 * client 270-320 µs of CPU a request against 100 µs (5,000 requests at 32 in flight against a
 * bare server on this machine), and on 2 cores the client's CPU is taken from Lookout's: the bench
 * timed undici as much as Lookout. Slack calls from other machines. (The webhook phases use the
 * leaner raw-http-client.ts.)
 */
const clientAgent = new Agent({ keepAlive: true });

/** POSTs `body` and reads the whole answer: its status and the milliseconds it took. */
export function timedPost(url: string, headers: Readonly<Record<string, string>>, body: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent: clientAgent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Writes what Lookout printed to BENCH_LOOKOUT_OUTPUT_DIR/lookout-<pid>.log, when that is set. */
function keepOutput(lookout: LookoutProcess): void {
  const dir = process.env.BENCH_LOOKOUT_OUTPUT_DIR;
  if (dir === undefined || dir === '') return;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `lookout-${lookout.pid ?? 'unknown'}.log`);
  writeFileSync(file, lookout.output());
  console.error(`bench: Lookout's output kept in ${file}`);
}

/** Successful calls of a fake Slack method, optionally only top-level (no thread_ts). */
export function okCalls(slack: FakeSlack, method: string, topLevelOnly = false): FakeSlackCall[] {
  return slack.calls.filter((c) => c.method === method && c.status === 200 && (c.response as { ok?: boolean } | null)?.ok === true && (!topLevelOnly || c.params['thread_ts'] === undefined));
}

/** Everything a Slack call carried, as one searchable string. */
export function callContent(call: FakeSlackCall): string {
  return JSON.stringify(call.params);
}

/** Alertmanager's version-4 webhook payload for one firing group. */
export function firingPayload(options: {
  groupKey: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  alerts: Array<{ labels: Record<string, string>; annotations?: Record<string, string>; fingerprint: string; startsAt?: string }>;
}): string {
  const startsAt = new Date(Date.now() - 60_000).toISOString();
  return JSON.stringify({
    version: '4',
    groupKey: options.groupKey,
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'lookout',
    groupLabels: options.groupLabels,
    commonLabels: options.commonLabels,
    commonAnnotations: {},
    externalURL: 'http://alertmanager.bench.invalid:9093',
    alerts: options.alerts.map((alert) => ({
      status: 'firing',
      labels: alert.labels,
      annotations: alert.annotations ?? {},
      startsAt: alert.startsAt ?? startsAt,
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: `http://prometheus.bench.invalid:9090/graph?g0.expr=up%3D%3D0`,
      fingerprint: alert.fingerprint,
    })),
  });
}

/** The runtime settings of the lookout container in manifests/base/deployment.yaml that shape its memory and speed. */
export function deploymentRuntimeEnv(): { NODE_OPTIONS: string; MALLOC_ARENA_MAX?: string } {
  const deployment = parseYaml(readFileSync(new URL('../../manifests/base/deployment.yaml', import.meta.url), 'utf8')) as {
    spec: { template: { spec: { containers: { name: string; env?: { name: string; value?: string }[] }[] } } };
  };
  const container = deployment.spec.template.spec.containers.find((candidate) => candidate.name === 'lookout');
  const value = (name: string) => container?.env?.find((variable) => variable.name === name)?.value;
  const nodeOptions = value('NODE_OPTIONS');
  if (nodeOptions === undefined) throw new Error('manifests/base/deployment.yaml: the lookout container sets no NODE_OPTIONS');
  const arenas = value('MALLOC_ARENA_MAX');
  return { NODE_OPTIONS: nodeOptions, ...(arenas === undefined ? {} : { MALLOC_ARENA_MAX: arenas }) };
}

/** How the bench ran Lookout, for the notes of the memory scenarios. */
export function runtimeEnvText(): string {
  const runtime = deploymentRuntimeEnv();
  const nodeOptions = process.env.BENCH_LOOKOUT_NODE_OPTIONS ?? runtime.NODE_OPTIONS;
  return `NODE_OPTIONS=\`${nodeOptions}\`${runtime.MALLOC_ARENA_MAX === undefined ? '' : ` and MALLOC_ARENA_MAX=${runtime.MALLOC_ARENA_MAX}`} (manifests/base/deployment.yaml's; BENCH_LOOKOUT_NODE_OPTIONS replaces the NODE_OPTIONS)`;
}

/** Rounds of each latency phase: one round can be lucky or unlucky, so budgets judge the median of these. */
export const ROUNDS = 3;

/** Median, min and max of one figure over the rounds. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN, min: sorted[0] ?? Number.NaN, max: sorted.at(-1) ?? Number.NaN };
}

/** "12.3 ms (min 10.1 ms, max 15.0 ms over 3 rounds)". */
export function spreadText(s: Spread, format: (value: number) => string = ms, rounds = ROUNDS): string {
  return rounds === 1 ? format(s.median) : `${format(s.median)} (min ${format(s.min)}, max ${format(s.max)} over ${rounds} rounds)`;
}

/** How late Lookout's event loop ran during one phase, from its own /metrics. */
export interface LoopDelay {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** Ticks the histogram saw in the phase. */
  readonly count: number;
  /** CPU seconds Lookout used in the phase (process_cpu_seconds_total): its cost, whatever the machine's load. */
  readonly cpuSeconds: number;
}

/** Issue 11's targets for every phase: p99 under 20 ms, max under 50 ms. */
export const LOOP_DELAY_P99_MS = 20;
export const LOOP_DELAY_MAX_MS = 50;

/** Cumulative bucket counts of lookout_event_loop_delay_seconds, by upper bound in ms. */
function delayBuckets(metricsText: string): Array<[number, number]> {
  return [...metricsText.matchAll(/^lookout_event_loop_delay_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm)].map((m) => [m[1] === '+Inf' ? Infinity : Number(m[1]) * 1000, Number(m[2])]);
}

/** The q-quantile of a bucket diff, interpolated inside its bucket as Prometheus' histogram_quantile does. */
function bucketQuantile(buckets: ReadonlyArray<readonly [number, number]>, q: number): number {
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total === 0) return Number.NaN;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) return le === Infinity ? lower : lower + ((le - lower) * (rank - below)) / Math.max(1, count - below);
    lower = le;
    below = count;
  }
  return lower;
}

/**
 * Measures one phase's event-loop delay inside Lookout: `begin()` before, `end()` after. p50/p99
 * come from the difference of lookout_event_loop_delay_seconds over the phase; the max from
 * Node's nodejs_eventloop_lag_max_seconds, which holds the largest tick since the previous scrape
 * (so nothing else may scrape Lookout during the phase), minus its 10 ms tick.
 */
export function loopDelayProbe(metricsUrl: string): { begin(): Promise<void>; end(seenMaxMs?: number): Promise<LoopDelay> } {
  let before: Array<[number, number]> = [];
  let cpuBefore = 0;
  const scrape = async () => (await fetch(metricsUrl)).text();
  const cpu = (text: string) => Number(/^process_cpu_seconds_total ([0-9.eE+-]+)$/m.exec(text)?.[1] ?? Number.NaN);
  return {
    async begin() {
      const text = await scrape();
      before = delayBuckets(text);
      cpuBefore = cpu(text);
    },
    /** `seenMaxMs`: the largest max other scrapes saw during the phase, when something else scraped. */
    async end(seenMaxMs = 0) {
      const text = await scrape();
      const diff = delayBuckets(text).map(([le, count], i): [number, number] => [le, count - (before[i]?.[1] ?? 0)]);
      const max = Math.max(0, seenMaxMs, Number(/^nodejs_eventloop_lag_max_seconds ([0-9.eE+-]+)$/m.exec(text)?.[1] ?? Number.NaN) * 1000 - 10);
      // Interpolating inside a wide bucket can overshoot the measured max; the max is exact.
      const upToMax = (value: number) => Math.min(value, max);
      return { p50: upToMax(bucketQuantile(diff, 0.5)), p99: upToMax(bucketQuantile(diff, 0.99)), max, count: diff.at(-1)?.[1] ?? 0, cpuSeconds: cpu(text) - cpuBefore };
    },
  };
}

/** CPU time of a group of threads over a phase: how long they ran, and how long they were runnable but waited for a core. */
export interface ThreadTimes {
  readonly ranMs: number;
  readonly waitedMs: number;
}

/** Lookout's threads as the bench groups them, by their names in /proc/<pid>/task/<tid>/comm. */
function threadGroup(comm: string): string {
  if (comm === 'MainThread') return 'main';
  if (comm === 'lookout-store') return 'store worker';
  if (comm === 'V8Worker') return 'V8 helpers';
  return 'other';
}

/** tid → [group, ran ns, waited ns] from /proc/<pid>/task/<tid>/schedstat (run time, run-queue wait, slices). */
function readThreadTimes(pid: number): Map<string, [string, number, number]> {
  const times = new Map<string, [string, number, number]>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return times;
  }
  for (const tid of tids) {
    try {
      const [ran, waited] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
      times.set(tid, [threadGroup(readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim()), ran ?? 0, waited ?? 0]);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return times;
}

/**
 * Measures how long each group of Lookout's threads ran and waited for a core during a phase,
 * from the kernel's per-thread schedstat. Beside a CPU hog the answer time of a request is mostly
 * this wait, paid at each hand-off between the main thread and the store worker; the figure says
 * so instead of leaving it to be guessed from the loop delay.
 */
export function threadTimesProbe(pid: number | undefined): { begin(): void; end(): Map<string, ThreadTimes> } {
  let before = new Map<string, [string, number, number]>();
  return {
    begin() {
      if (pid !== undefined) before = readThreadTimes(pid);
    },
    end() {
      const groups = new Map<string, ThreadTimes>();
      if (pid === undefined) return groups;
      for (const [tid, [group, ran, waited]] of readThreadTimes(pid)) {
        const [, ranBefore, waitedBefore] = before.get(tid) ?? [group, 0, 0];
        const sum = groups.get(group) ?? { ranMs: 0, waitedMs: 0 };
        groups.set(group, { ranMs: sum.ranMs + (ran - ranBefore) / 1e6, waitedMs: sum.waitedMs + (waited - waitedBefore) / 1e6 });
      }
      return groups;
    },
  };
}

/** "main ran 410 µs, waited 120 µs; store worker ran …" per request. */
export function threadTimesText(groups: ReadonlyMap<string, ThreadTimes>, requests: number): string {
  const perRequest = (value: number) => `${Math.round((value * 1000) / requests)} µs`;
  return [...groups]
    .filter(([group]) => group !== 'other')
    .map(([group, t]) => `${group} ran ${perRequest(t.ranMs)}, waited for a core ${perRequest(t.waitedMs)}`)
    .join('; ');
}

/** "p50 / p99 / max" of one phase's loop delay. */
export function loopDelayText(delay: LoopDelay): string {
  return `p50 ${ms(delay.p50)} / p99 ${ms(delay.p99)} / max ${ms(delay.max)}`;
}

/** The figure and the two budgets for the loop delay of one phase over its rounds. */
export function loopDelayReport(phase: string, rounds: readonly LoopDelay[]): { figure: [string, string]; budgets: BudgetCheck[] } {
  const p50 = spread(rounds.map((r) => r.p50));
  const p99 = spread(rounds.map((r) => r.p99));
  const max = spread(rounds.map((r) => r.max));
  return {
    figure: [`Lookout event-loop delay, ${phase}${rounds.length > 1 ? ' (median of rounds; min–max)' : ''}`, `p50 ${ms(p50.median)} / p99 ${ms(p99.median)} (${ms(p99.min)}–${ms(p99.max)}) / max ${ms(max.median)} (${ms(max.min)}–${ms(max.max)}); rounds: ${rounds.map(loopDelayText).join(' | ')}`],
    budgets: [
      { what: `event-loop delay p99, ${phase}`, limit: `< ${LOOP_DELAY_P99_MS} ms`, measured: spreadText(p99, ms, rounds.length), pass: p99.median < LOOP_DELAY_P99_MS },
      { what: `event-loop delay max, ${phase}`, limit: `< ${LOOP_DELAY_MAX_MS} ms`, measured: spreadText(max, ms, rounds.length), pass: max.median < LOOP_DELAY_MAX_MS },
    ],
  };
}

/** Whether the bench runs Lookout compiled (the default, as the image does) or from src/ (BENCH_LOOKOUT_FROM=source). */
export function benchRunsCompiled(): boolean {
  return process.env.BENCH_LOOKOUT_FROM !== 'source';
}
