import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort, StopWaiting, waitFor } from './free-port.ts';
import { processWatchdog } from './watchdog.ts';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
/** What `npm run build` compiles src/main.ts to, and what the container image runs. */
export const COMPILED_MAIN = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));

export interface LookoutProcess {
  url: string;
  port: number;
  /** The child's process id (e.g. to read /proc/<pid>/status); undefined if it never started. */
  pid: number | undefined;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** SIGKILL: no shutdown code runs, as in a crash or an OOM kill. */
  kill(): Promise<void>;
  /** SIGTERM and wait for a clean exit; resolves to the exit code. */
  stop(): Promise<number | null>;
}

export interface StartLookoutOptions {
  /** The child's open-file limit (`ulimit -n`), set by a shell that then execs Node. */
  openFileLimit?: number;
  /**
   * What "started" means: `ready` (default) waits for /readyz to answer 200; `listening` only for
   * /healthz, for tests of a Lookout that starts but is not ready (a damaged state file).
   */
  until?: 'ready' | 'listening';
  /** Node flags before the script, for those NODE_OPTIONS refuses (e.g. `--trace-gc`). */
  nodeArgs?: readonly string[];
  /**
   * Run the compiled build (dist/src/main.js, as the container image does) instead of src/main.ts.
   * The benchmarks do, for production's memory: stripping TypeScript's types at load costs each
   * thread some 17 MiB of RSS that the image never pays. It must have been built (`npm run build`).
   */
  compiled?: boolean;
  /**
   * Run this instead (the container image's CMD, `node` meaning this Node), in `cwd`; `compiled`
   * and `nodeArgs` do not apply.
   */
  command?: { argv: readonly string[]; cwd: string };
}

/**
 * Runs Lookout exactly as `npm start` does (node src/main.ts; or compiled, see `compiled`) in a child process, so tests can
 * kill it for real. Resolves once /readyz answers (or /healthz, see `until`).
 */
export async function startLookout(env: Record<string, string>, port?: number, options: StartLookoutOptions = {}): Promise<LookoutProcess> {
  const probe = options.until === 'listening' ? '/healthz' : '/readyz';
  const listenPort = port ?? (await freePort());
  const nodeArgs = options.nodeArgs ?? [];
  const main = options.compiled ? COMPILED_MAIN : MAIN;
  if (!options.command && !existsSync(main)) throw new Error(`${main} does not exist: run \`npm run build\` first`);
  const argv = options.command ? options.command.argv.map((word, i) => (i === 0 && word === 'node' ? process.execPath : word)) : [process.execPath, ...nodeArgs, main];
  const [command, args] =
    options.openFileLimit === undefined
      ? [argv[0]!, argv.slice(1)]
      : ['bash', ['-c', `ulimit -n ${Math.trunc(options.openFileLimit)} && exec "$0" "$@"`, ...argv]];
  const child = spawn(command, args, {
    ...(options.command ? { cwd: options.command.cwd } : {}),
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(listenPort), LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Killed by the watchdog if the test process dies without stopping it.
  const pid = child.pid;
  if (pid !== undefined) processWatchdog().watch(pid);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      if (pid !== undefined) processWatchdog().forget(pid);
      resolve(code);
    }),
  );
  const url = `http://127.0.0.1:${listenPort}`;

  try {
    await waitFor('Lookout to become ready', async () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new StopWaiting(`Lookout exited with ${child.exitCode ?? child.signalCode}:\n${output}`);
      const res = await fetch(`${url}${probe}`).catch(() => undefined);
      return res?.ok ? true : undefined;
    });
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`Lookout did not start:\n${output}`, { cause: error });
  }

  return {
    url,
    port: listenPort,
    pid,
    output: () => output,
    async kill() {
      signal(child, 'SIGKILL');
      await exited;
    },
    async stop() {
      signal(child, 'SIGTERM');
      return exited;
    },
  };
}

function signal(child: ChildProcess, name: NodeJS.Signals): void {
  if (child.exitCode === null && child.signalCode === null) child.kill(name);
}
