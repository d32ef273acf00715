import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, StopWaiting, waitFor } from './free-port.ts';
import { processWatchdog } from './watchdog.ts';

/** The Debian package's binary; PROMETHEUS_ALERTMANAGER overrides it. */
const BINARY = process.env.PROMETHEUS_ALERTMANAGER ?? '/usr/bin/prometheus-alertmanager';

export interface AlertmanagerProcess {
  url: string;
  /** POST alerts to /api/v2/alerts, as Prometheus would. */
  postAlerts(alerts: PostableAlert[]): Promise<void>;
  stop(): Promise<void>;
  output(): string;
}

export interface PostableAlert {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt?: string;
  endsAt?: string;
  generatorURL?: string;
}

export interface AlertmanagerOptions {
  webhookUrl: string;
  webhookToken: string;
  groupBy?: string[];
  groupWait?: string;
  groupInterval?: string;
  repeatInterval?: string;
  /**
   * Also send every notification through Alertmanager's own Slack notifier (slack_configs) to
   * this URL, from the same receiver, e.g. as a baseline for Lookout's latency (test/bench/).
   */
  slackApiUrl?: string;
  /** Directory for its config and data (created if missing); a new temporary one by default. */
  dir?: string;
}

/**
 * A real Alertmanager on loopback, clustering off, sending every group to Lookout's webhook
 * with bearer authorization and short timers so tests do not wait long.
 */
export async function startAlertmanager(options: AlertmanagerOptions): Promise<AlertmanagerProcess> {
  // A temporary directory of our own is removed at stop (or by the watchdog); a given one is the caller's.
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'lookout-am-'));
  mkdirSync(dir, { recursive: true });
  if (ownDir) processWatchdog().removeIfOrphaned(dir);
  const removeOwnDir = () => {
    if (!ownDir) return;
    rmSync(dir, { recursive: true, force: true });
    processWatchdog().keep(dir);
  };
  const port = await freePort();
  writeFileSync(join(dir, 'token'), options.webhookToken);
  writeFileSync(
    join(dir, 'alertmanager.yml'),
    `route:
  receiver: lookout
  group_by: [${(options.groupBy ?? ['alertname']).join(', ')}]
  group_wait: ${options.groupWait ?? '1s'}
  group_interval: ${options.groupInterval ?? '2s'}
  repeat_interval: ${options.repeatInterval ?? '1h'}
receivers:
  - name: lookout
    webhook_configs:
      - url: ${options.webhookUrl}
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials_file: ${join(dir, 'token')}
${options.slackApiUrl === undefined ? '' : `    slack_configs:\n      - api_url: ${options.slackApiUrl}\n        channel: '#alerts'\n        send_resolved: true\n`}`,
  );
  const child = spawn(
    BINARY,
    [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      '--log.level=debug',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // Killed by the watchdog if this process dies without stopping it.
  const pid = child.pid;
  if (pid !== undefined) processWatchdog().watch(pid);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      if (pid !== undefined) processWatchdog().forget(pid);
      resolve();
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor('Alertmanager to become ready', async () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new StopWaiting(`alertmanager exited:\n${output}`);
      const res = await fetch(`${url}/-/ready`).catch(() => undefined);
      return res?.ok ? true : undefined;
    });
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    removeOwnDir();
    throw error;
  }

  return {
    url,
    output: () => output,
    async postAlerts(alerts) {
      const res = await fetch(`${url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alerts),
      });
      if (!res.ok) throw new Error(`alertmanager refused alerts: ${res.status} ${await res.text()}`);
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      removeOwnDir();
    },
  };
}
