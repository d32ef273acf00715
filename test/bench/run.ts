// `npm run bench [-- --quick] [--only=webhook,noisy,alertmanager,storm,storm-ha,kube,slash,socket,scale,silence,rotation,faults,soak,cert-scan,status] [--name=value …]`:
// Lookout's performance budgets (shared/DESIGN.md "Budgets"), measured against real servers.
// Prints the figures and a PASS/FAIL table, and rewrites docs/benchmarks.md. Not a CI gate: the
// exit code is 1 only when a scenario could not run at all, never for a FAILed budget.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processWatchdog } from '../support/watchdog.ts';
import { buildServers, REPO_ROOT } from '../support/servers/binaries.ts';
import { stopOnSignals, Supervisor } from '../support/servers/processes.ts';
import { startTestServers } from '../support/servers/start-servers.ts';
import { benchRunsCompiled, type BenchContext, type Scenario, type ScenarioResult } from './bench-support.ts';
import { benchmarksMarkdown, budgetTable, figuresText, machineLine } from './report.ts';
import { alertToSlack } from './scenarios/alert-to-slack.ts';
import { certScan } from './scenarios/cert-scan.ts';
import { kubeRequests } from './scenarios/kube-requests.ts';
import { noisy } from './scenarios/noisy.ts';
import { slackFaults } from './scenarios/slack-faults.ts';
import { scaleAction } from './scenarios/scale-action.ts';
import { silenceClicks } from './scenarios/silence.ts';
import { slashAck } from './scenarios/slash-ack.ts';
import { socketAck } from './scenarios/socket-ack.ts';
import { soak } from './scenarios/soak.ts';
import { statusCard } from './scenarios/status-card.ts';
import { storm } from './scenarios/storm.ts';
import { stormHa } from './scenarios/storm-ha.ts';
import { webhookLatency } from './scenarios/webhook-latency.ts';
import { rotation } from './scenarios/rotation.ts';

const SCENARIOS: readonly Scenario[] = [webhookLatency, noisy, alertToSlack, storm, stormHa, kubeRequests, slashAck, socketAck, scaleAction, silenceClicks, rotation, slackFaults, soak, certScan, statusCard];
const OUTPUT = join(REPO_ROOT, 'docs/benchmarks.md');

const log = (line: string) => console.error(`bench: ${line}`);
const loadText = () => loadavg().map((l) => l.toFixed(2)).join(' ');

function parseArgs(argv: readonly string[]): { quick: boolean; only: Set<string> | undefined; write: boolean; numbers: Map<string, number> } {
  const numbers = new Map<string, number>();
  let quick = false;
  let only: Set<string> | undefined;
  let write = true;
  for (const arg of argv) {
    if (arg === '--quick') quick = true;
    else if (arg === '--no-write') write = false;
    else if (arg.startsWith('--only=')) only = new Set(arg.slice('--only='.length).split(','));
    else {
      const match = /^--([a-z-]+)=(\d+(?:\.\d+)?)$/.exec(arg);
      if (match === null) throw new Error(`unknown argument ${arg}; usage: npm run bench -- [--quick] [--only=${SCENARIOS.map((s) => s.id).join(',')}] [--no-write] [--<size>=<n>]`);
      numbers.set(match[1]!, Number(match[2]));
    }
  }
  return { quick, only, write, numbers };
}

async function main(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv);
  const selected = SCENARIOS.filter((s) => args.only === undefined || args.only.has(s.id));
  if (selected.length === 0) throw new Error(`--only matched no scenario (ids: ${SCENARIOS.map((s) => s.id).join(', ')})`);
  const startedAt = new Date();
  const machine = machineLine();
  log(`machine: ${machine}`);
  if (benchRunsCompiled()) {
    // Lookout runs compiled, as the image does (bench-support.ts): built from this checkout first,
    // so a stale dist/ is never what gets measured.
    log('compiling Lookout (npm run build)…');
    execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(REPO_ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
  }

  // The real kube-apiserver (and the rest of the integration tier's servers) only when needed.
  const supervisor = new Supervisor();
  const runDir = join(REPO_ROOT, 'test/servers/.run', `bench-${process.pid}`);
  processWatchdog().removeIfOrphaned(runDir);
  const cleanUp = () => {
    rmSync(runDir, { recursive: true, force: true });
    processWatchdog().keep(runDir);
  };
  const removeSignalHandlers = stopOnSignals(supervisor, cleanUp);
  const results: ScenarioResult[] = [];
  const failures: Array<[string, string]> = [];
  try {
    let kube: BenchContext['kube'];
    if (selected.some((s) => s.needsKube)) {
      log('starting the real servers (test/support/servers)…');
      const started = await startTestServers({
        binaries: await buildServers(),
        runDir,
        supervisor,
        rbacFile: join(REPO_ROOT, 'manifests/base/rbac.yaml'),
        // The harness's own Alertmanager is not used here (the alertmanager scenario starts its own).
        alertmanagerWebhook: { url: 'http://127.0.0.1:9/alertmanager', token: randomBytes(16).toString('hex') },
      });
      log(`servers up in ${(started.startMs / 1000).toFixed(1)} s`);
      kube = { admin: started.servers.kube.kubeconfigs.admin, bot: started.servers.kube.kubeconfigs.bot, bao: started.servers.bao };
    }
    const context: BenchContext = {
      quick: args.quick,
      kube,
      option: (name, fallback) => args.numbers.get(name) ?? fallback,
      log,
    };
    for (const scenario of selected) {
      log(`scenario ${scenario.id}…`);
      const began = Date.now();
      const loadBefore = loadText();
      try {
        const result = await scenario.run(context);
        // The machine may be shared: a figure means little without the load it was taken under.
        results.push({ ...result, notes: [...result.notes, `Load average (1/5/15 min) when the scenario began → ended: ${loadBefore} → ${loadText()}.`] });
        log(`scenario ${scenario.id} done in ${((Date.now() - began) / 1000).toFixed(1)} s`);
      } catch (error) {
        // One broken scenario must not hide the others' figures.
        const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
        log(`scenario ${scenario.id} FAILED: ${text}`);
        failures.push([scenario.id, text]);
      }
    }
  } finally {
    await supervisor.stopAll().catch((error: unknown) => log(`stopping the servers: ${String(error)}`));
    removeSignalHandlers();
    cleanUp();
  }

  console.log(`\n${figuresText(results)}\n\n${budgetTable(results)}`);
  for (const [id] of failures) console.log(`FAIL  scenario ${id} did not complete (above)`);
  if (args.write) {
    const command = ['npm run bench', ...(argv.length > 0 ? ['--', ...argv] : [])].join(' ');
    writeFileSync(OUTPUT, benchmarksMarkdown(results, failures, { startedAt, durationMs: Date.now() - startedAt.getTime(), command, quick: args.quick, machine }));
    log(`wrote ${OUTPUT}`);
  }
  return failures.length > 0 ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
