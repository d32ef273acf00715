import { loadConfig } from './config.ts';
import { ConfigError } from './errors.ts';
import { loadKubeConfig } from './kube/load-kube-config.ts';
import { createLogger } from './log.ts';
import { createLookout } from './lookout.ts';

/** The only place that reads the environment and touches the process. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`lookout: ${error.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  const log = createLogger({ level: config.logLevel });
  let kubeConfig;
  try {
    kubeConfig = loadKubeConfig(process.env);
  } catch (error) {
    // Not the parser's message: a YAML error quotes the file, and a kubeconfig holds credentials.
    const code = (error as NodeJS.ErrnoException).code;
    process.stderr.write(`lookout: cannot load Kubernetes credentials (KUBECONFIG or the in-cluster service account): ${code ?? 'not a valid kubeconfig'}\n`);
    process.exit(78); // EX_CONFIG
  }
  const lookout = createLookout({ config, log, stdout: process.stdout, kubeConfig });
  await lookout.start();

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const forced = setTimeout(() => {
      log.error('shutdown took longer than 10 s; exiting');
      process.exit(1);
    }, 10_000);
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

main().catch((error: unknown) => {
  process.stderr.write(`lookout: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
