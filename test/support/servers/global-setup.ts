import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { processWatchdog } from '../watchdog.ts';
import { buildServers, REPO_ROOT } from './binaries.ts';
import { stopOnSignals, Supervisor } from './processes.ts';
import { startTestServers } from './start-servers.ts';

/**
 * Vitest globalSetup of the integration project: builds the servers (a no-op when warm),
 * starts them once for the whole run, hands their addresses to test files (`testServers()`),
 * and stops them when the run ends, is interrupted, or fails to start. The run directory is
 * removed afterwards unless KEEP_RUN=1 or starting failed (its logs explain why). If vitest is
 * killed outright (kill -9), the watchdog (../watchdog.ts) kills the servers and removes the
 * directory.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const binaries = await buildServers();
  const runDir = join(REPO_ROOT, 'test/servers/.run', `vitest-${process.pid}`);
  if (process.env.KEEP_RUN !== '1') processWatchdog().removeIfOrphaned(runDir);
  const supervisor = new Supervisor();
  const removeSignalHandlers = stopOnSignals(supervisor, () => cleanUp(runDir));
  let started;
  try {
    started = await startTestServers({
      binaries,
      runDir,
      supervisor,
      rbacFile: join(REPO_ROOT, 'manifests/base/rbac.yaml'),
      alertmanagerWebhook: { url: 'http://127.0.0.1:3000/alertmanager', token: randomBytes(16).toString('hex') },
      ...(process.env.LOOKOUT_SERVERS_VERBOSE ? { log: (line: string) => console.error(`servers: ${line}`) } : {}),
    });
  } catch (error) {
    removeSignalHandlers();
    processWatchdog().keep(runDir);
    throw new Error(`test servers did not start (logs kept in ${runDir})`, { cause: error });
  }
  console.error(`servers: all up in ${(started.startMs / 1000).toFixed(1)} s (${runDir})`);
  project.provide('lookoutTestServers', started.servers);

  return async () => {
    const stopping = Date.now();
    try {
      await supervisor.stopAll();
      if (process.env.LOOKOUT_SERVERS_VERBOSE) console.error(`servers: stopped in ${((Date.now() - stopping) / 1000).toFixed(1)} s`);
    } finally {
      removeSignalHandlers();
      cleanUp(runDir);
    }
  };
}

function cleanUp(runDir: string): void {
  if (process.env.KEEP_RUN !== '1') rmSync(runDir, { recursive: true, force: true });
  processWatchdog().keep(runDir);
}
