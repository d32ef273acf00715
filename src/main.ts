import { readFileSync } from 'node:fs';
import { checkConfig, kubeCredentialsProblem } from './check-config.ts';
import { loadConfig } from './config.ts';
import { ConfigError } from './errors.ts';
import { handleProcessErrors } from './handle-process-errors.ts';
import { parseOpenFileLimit } from './http/connection-limits.ts';
import { loadKubeCredentials } from './kube/load-kube-config.ts';
import { createLogger } from './log.ts';
import { createLookout } from './lookout.ts';
import { createSecretRedactor } from './redact-secrets.ts';

/** The only place that reads the environment and touches the process. */
async function main(): Promise<void> {
  if (process.argv.slice(2).includes('--check-config')) {
    const check = await checkConfig(process.env, { loadKubeCredentials });
    if (check.ok) process.stdout.write(`lookout: ${check.lines.join('\n')}\n`);
    else process.stderr.write(`lookout: invalid configuration:\n${check.lines.map((line) => `  - ${line}`).join('\n')}\n`);
    process.exit(check.ok ? 0 : 1);
  }
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`lookout: ${error.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  const log = createLogger({ level: config.logLevel, redactor: createSecretRedactor(config.enrichment.redact) });
  let kubeCredentials;
  try {
    kubeCredentials = await loadKubeCredentials(process.env);
  } catch (error) {
    process.stderr.write(`lookout: ${kubeCredentialsProblem(error)}\n`);
    process.exit(78); // EX_CONFIG
  }
  const lookout = createLookout({
    config,
    log,
    stdout: process.stdout,
    kubeCredentials,
    openFileLimit: openFileLimit(),
    // Without its store thread Lookout can neither accept nor deliver: exit, and let the
    // orchestrator restart it. Nothing accepted is lost (the inbox and outbox are on disk).
    onStoreFailed: () => process.exit(1),
  });
  handleProcessErrors(process, { log, metrics: lookout.metrics });
  await lookout.start();

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    // The drain has its own deadline; this only catches a shutdown that hangs past it.
    const forcedAfterMs = config.shutdown.drainTimeoutMs + 5000;
    const forced = setTimeout(() => {
      log.error({ forcedAfterMs }, 'shutdown took longer than the drain timeout plus 5 s; exiting');
      process.exit(1);
    }, forcedAfterMs);
    forced.unref();
    lookout.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

/** The soft open-file limit (Linux); the HTTP connection cap stays below it. */
function openFileLimit(): number | undefined {
  try {
    return parseOpenFileLimit(readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return undefined;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`lookout: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
