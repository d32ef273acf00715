// `npm run servers -- up|down|status`: the integration tier's real servers, by hand.
//
//   up              build (no-op when warm), start everything in a detached supervisor process,
//                   write test/servers/.run/env, return; the servers keep running
//   up --foreground the same, but stay in the foreground; Ctrl-C stops everything
//   down            stop what `up` started (SIGTERM to the supervisor; SIGKILL after 30 s)
//   status          say whether it runs, and print the env file
//
// Then: `. test/servers/.run/env` and use $KUBECONFIG_ADMIN, $VAULT_ADDR, … (docs/testing.md).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { processWatchdog } from '../watchdog.ts';
import { buildServers, REPO_ROOT } from './binaries.ts';
import { stopOnSignals, Supervisor } from './processes.ts';
import { startTestServers } from './start-servers.ts';
import type { TestServers } from './test-servers.ts';

const RUN_ROOT = join(REPO_ROOT, 'test/servers/.run');
const RUN_DIR = join(RUN_ROOT, 'up');
const ENV_FILE = join(RUN_ROOT, 'env');
const STATE_FILE = join(RUN_ROOT, 'supervisor.json');
const SUPERVISOR_LOG = join(RUN_ROOT, 'supervisor.log');

/** What `down` needs even if the supervisor died: its pid and the servers' process groups. */
interface SupervisorState {
  pid: number;
  processGroups: number[];
  runDir: string;
}

/** Messages from the detached supervisor to the `up` that started it. */
type ReadyMessage = { type: 'ready'; startMs: number } | { type: 'failed'; error: string };

async function main(args: string[]): Promise<number> {
  const [command, ...flags] = args;
  switch (command) {
    case 'up':
      return flags.includes('--foreground') ? supervise({ foreground: true }) : up();
    case 'supervise':
      return supervise({ foreground: false });
    case 'down':
      return down();
    case 'status':
      return status();
    default:
      console.error('usage: npm run servers -- up [--foreground] | down | status');
      return 2;
  }
}

function runningSupervisor(): SupervisorState | undefined {
  if (!existsSync(STATE_FILE)) return undefined;
  const state = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as SupervisorState;
  return isAlive(state.pid) ? state : undefined;
}

async function up(): Promise<number> {
  const running = runningSupervisor();
  if (running) {
    console.log(`servers: already running (supervisor pid ${running.pid}); . ${ENV_FILE}`);
    return 0;
  }
  // Build here, in the foreground, so its progress is visible; the supervisor then finds it warm.
  await buildServers();
  mkdirSync(RUN_ROOT, { recursive: true });
  const log = openSync(SUPERVISOR_LOG, 'w');
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'supervise'], {
    detached: true,
    stdio: ['ignore', log, log, 'ipc'],
  });
  closeSync(log);
  // The supervisor is detached, so a Ctrl-C here would not reach it: pass it on, or the servers
  // would come up after `up` has given up.
  const interrupt = () => child.kill('SIGTERM');
  process.once('SIGINT', interrupt);
  const outcome = await new Promise<ReadyMessage>((resolve) => {
    child.once('message', (message) => resolve(message as ReadyMessage));
    child.once('exit', (code, signal) => resolve({ type: 'failed', error: `the supervisor exited with ${code ?? signal}` }));
  });
  process.off('SIGINT', interrupt);
  if (outcome.type === 'failed') {
    console.error(`servers: failed to start: ${outcome.error}\nsupervisor log: ${SUPERVISOR_LOG}`);
    return 1;
  }
  child.disconnect();
  child.unref();
  console.log(`servers: all up in ${(outcome.startMs / 1000).toFixed(1)} s (supervisor pid ${child.pid}, log ${SUPERVISOR_LOG})`);
  console.log(readFileSync(ENV_FILE, 'utf8').trimEnd());
  console.log(`\nservers: . ${ENV_FILE}    # to use them; npm run servers -- down to stop`);
  return 0;
}

/** Starts everything and stays until SIGINT/SIGTERM (from the terminal or `down`). */
async function supervise({ foreground }: { foreground: boolean }): Promise<number> {
  const running = runningSupervisor();
  if (running) {
    console.error(`servers: already running (supervisor pid ${running.pid})`);
    return 1;
  }
  const report = (message: ReadyMessage) => process.send?.(message);
  const binaries = await buildServers();
  rmSync(RUN_DIR, { recursive: true, force: true });
  const supervisor = new Supervisor();
  const forget = () => {
    rmSync(ENV_FILE, { force: true });
    rmSync(STATE_FILE, { force: true });
    rmSync(RUN_DIR, { recursive: true, force: true });
  };
  // A supervisor killed outright (kill -9) cannot run `forget`: its watchdog does, after killing
  // the servers (see ../watchdog.ts).
  for (const path of [ENV_FILE, STATE_FILE, RUN_DIR]) processWatchdog().removeIfOrphaned(path);
  stopOnSignals(supervisor, forget);
  const webhookToken = randomBytes(16).toString('hex');
  const webhookUrl = `http://127.0.0.1:${process.env.PORT ?? '3000'}/alertmanager`;
  let started;
  try {
    started = await startTestServers({
      binaries,
      runDir: RUN_DIR,
      supervisor,
      rbacFile: join(REPO_ROOT, 'manifests/base/rbac.yaml'),
      alertmanagerWebhook: { url: webhookUrl, token: webhookToken },
      log: (line) => console.log(`servers: ${line}`),
    });
  } catch (error) {
    console.error(error);
    // Its logs say why; the next `up` removes it.
    processWatchdog().keep(RUN_DIR);
    report({ type: 'failed', error: error instanceof Error ? error.message : String(error) });
    return 1;
  }
  const state: SupervisorState = { pid: process.pid, processGroups: supervisor.processGroups(), runDir: RUN_DIR };
  writeFileSync(STATE_FILE, `${JSON.stringify(state)}\n`);
  writeFileSync(ENV_FILE, envFile(started.servers, webhookToken, webhookUrl), { mode: 0o600 });
  if (started.rbacObjects.length === 0) console.log('servers: manifests/base/rbac.yaml not found: the bot has no RBAC beyond the defaults');
  report({ type: 'ready', startMs: started.startMs });
  if (foreground) console.log(`servers: all up in ${(started.startMs / 1000).toFixed(1)} s; . ${ENV_FILE}; Ctrl-C stops them`);
  // Stay alive until a signal arrives (stopOnSignals then stops the servers and exits).
  setInterval(() => undefined, 1 << 30);
  return new Promise<number>(() => undefined);
}

function envFile(servers: TestServers, webhookToken: string, webhookUrl: string): string {
  const quote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;
  const vars: [string, string | undefined][] = [
    ['KUBE_URL', servers.kube.url],
    ['KUBE_CA_FILE', servers.kube.caFile],
    ['KUBECONFIG_ADMIN', servers.kube.kubeconfigs.admin],
    ['KUBECONFIG_BOT', servers.kube.kubeconfigs.bot],
    ['KUBECONFIG_ALICE', servers.kube.kubeconfigs.alice],
    ['KUBECONFIG_BOB', servers.kube.kubeconfigs.bob],
    ['KUBECONFIG', servers.kube.kubeconfigs.bot],
    ['KUBECTL', servers.kube.kubectl],
    ['VAULT_ADDR', servers.bao.addr],
    ['VAULT_TOKEN', servers.bao.rootToken],
    ['DATABASE_URL', servers.postgres.url],
    ['PGHOST', servers.postgres.host],
    ['PGPORT', String(servers.postgres.port)],
    ['PGUSER', servers.postgres.user],
    ['PGPASSWORD', servers.postgres.password],
    ['PGDATABASE', servers.postgres.database],
    ['LOKI_URL', servers.loki.url],
    ['ALERTMANAGER_URL', servers.alertmanager.url],
    ['LOOKOUT_WEBHOOK_TOKEN', webhookToken],
  ];
  return [
    `# Written by \`npm run servers -- up\` at ${new Date().toISOString()}; \`npm run servers -- down\` stops them.`,
    '# KUBECONFIG is the Lookout bot (ServiceAccount lookout/lookout). VAULT_TOKEN is the OpenBao root token;',
    '# its Kubernetes auth is at auth/kubernetes, role lookout; its database engine at database/ (static role app).',
    '# PG* and DATABASE_URL: the PostgreSQL superuser, so `psql` connects as it.',
    `# Alertmanager sends to ${webhookUrl}`,
    '# with LOOKOUT_WEBHOOK_TOKEN as bearer (start Lookout with PORT and that token to receive it).',
    ...vars.map(([name, value]) => (value === undefined ? `# ${name}: not started (not built)` : `export ${name}=${quote(value)}`)),
    '',
  ].join('\n');
}

async function down(): Promise<number> {
  if (!existsSync(STATE_FILE)) {
    console.log('servers: not running');
    return 0;
  }
  const state = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as SupervisorState;
  if (isAlive(state.pid)) {
    process.kill(state.pid, 'SIGTERM');
    const deadline = Date.now() + 30_000;
    while (isAlive(state.pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // A supervisor that died or hung leaves its servers: kill their groups and its own.
  for (const pgid of [...state.processGroups, state.pid]) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  rmSync(ENV_FILE, { force: true });
  rmSync(STATE_FILE, { force: true });
  rmSync(state.runDir, { recursive: true, force: true });
  console.log('servers: stopped');
  return 0;
}

function status(): number {
  const running = runningSupervisor();
  if (!running) {
    console.log('servers: not running');
    return 1;
  }
  console.log(`servers: running (supervisor pid ${running.pid}, log ${SUPERVISOR_LOG})`);
  if (existsSync(ENV_FILE)) console.log(readFileSync(ENV_FILE, 'utf8').trimEnd());
  return 0;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

process.exitCode = await main(process.argv.slice(2));
