import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './ports.ts';
import type { ManagedProcess, Supervisor } from './processes.ts';
import { httpOk, waitUntilReady } from './readiness.ts';

/** The Debian package's server (test/support/install-debian-packages.sh installs it). */
const BINARY = process.env.PROMETHEUS ?? '/usr/bin/prometheus';

export interface PrometheusOptions {
  dir: string;
  supervisor: Supervisor;
  /**
   * The `scrape_configs` and anything else of prometheus.yml except `global`, `rule_files` and
   * `alerting`, which are written here: 1 s scrape and evaluation intervals, and alerts to
   * `alertmanagerAddress`.
   */
  scrapeConfigs: string;
  /** Rule files to evaluate (absolute paths). */
  ruleFiles: readonly string[];
  /** host:port of the Alertmanager that gets the alerts. */
  alertmanagerAddress: string;
}

export interface Prometheus {
  /** http://127.0.0.1:PORT */
  url: string;
  process: ManagedProcess;
}

/** A real Prometheus on loopback, TSDB in `dir`, fast intervals so alerts fire within seconds. */
export async function startPrometheus({ dir, supervisor, scrapeConfigs, ruleFiles, alertmanagerAddress }: PrometheusOptions): Promise<Prometheus> {
  mkdirSync(join(dir, 'data'), { recursive: true });
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(
    configFile,
    `global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
${ruleFiles.map((file) => `  - ${JSON.stringify(file)}`).join('\n')}
alerting:
  alertmanagers:
    - static_configs:
        - targets: [${JSON.stringify(alertmanagerAddress)}]
${scrapeConfigs}`,
  );
  const port = await freePort();
  const process = supervisor.start({
    name: 'prometheus',
    command: BINARY,
    args: [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // Resend firing alerts often, so Alertmanager sees them again soon after a restart of either.
      '--rules.alert.resend-delay=1s',
      '--log.level=warn',
    ],
    logFile: join(dir, 'prometheus.log'),
    stopTimeoutMs: 5_000,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntilReady(process, () => httpOk(`${url}/-/ready`), 60_000);
  return { url, process };
}
