import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { processWatchdog } from '../watchdog.ts';

/** A server process started by the harness, in its own process group, logging to a file. */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code (or the signal's name) when the process has exited. */
  readonly exited: Promise<number | string>;
  running(): boolean;
  /** The last lines of the log, for error messages. */
  logTail(lines?: number): string;
}

export interface StartProcessOptions {
  name: string;
  command: string;
  args: readonly string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** The signal that asks the server to stop. Default SIGTERM. */
  stopSignal?: NodeJS.Signals;
  /** SIGKILL if the stop signal has not ended the process group after this long. Default 10 s. */
  stopTimeoutMs?: number;
  /** Processes that must still be running while this one is stopped (kube-apiserver needs etcd). */
  needs?: readonly ManagedProcess[];
}

/** Anything the supervisor can stop: a managed process, or a helper with its own stop(). */
interface Stoppable {
  name: string;
  /** Process group to SIGKILL if Node itself is exiting; absent for adopted helpers. */
  pgid?: number;
  /** The process, for stop(process); absent for adopted helpers. */
  process?: ManagedProcess;
  needs: readonly Stoppable[];
  stopped: boolean;
  stop(): Promise<void>;
}

/**
 * Starts and stops the test servers. Each child gets its own process group (detached), so
 * stopping kills whatever it forked too, and a Ctrl-C in a terminal does not reach it before
 * the supervisor has stopped its dependants first. Stop order: a process is stopped only after
 * every process that `needs` it (kube-apiserver before etcd: an apiserver whose etcd has gone
 * can hang on SIGTERM for minutes); unrelated processes stop in parallel.
 *
 * Detached children do not die with their parent, so each group is also handed to this
 * process's watchdog (../watchdog.ts), which SIGKILLs it if this process is killed outright
 * (kill -9 of vitest or of the `servers up` supervisor) before it could stop them.
 */
export class Supervisor {
  private readonly entries: Stoppable[] = [];
  private stopping: Promise<void> | undefined;

  start(options: StartProcessOptions): ManagedProcess {
    const fd = openSync(options.logFile, 'a');
    let child;
    try {
      child = spawn(options.command, options.args, {
        detached: true,
        stdio: ['ignore', fd, fd],
        env: options.env ?? process.env,
        ...(options.cwd ? { cwd: options.cwd } : {}),
      });
    } finally {
      closeSync(fd);
    }
    const pid = child.pid;
    if (pid === undefined) throw new Error(`could not start ${options.name} (${options.command})`);
    const watchdog = processWatchdog();
    watchdog.watch(-pid);
    let exitedWith: number | string | undefined;
    const exited = new Promise<number | string>((resolve) => {
      child.once('exit', (code, signal) => {
        exitedWith = code ?? signal ?? 'unknown';
        resolve(exitedWith);
      });
      child.once('error', (error) => {
        exitedWith = error.message;
        resolve(exitedWith);
      });
    });
    const managed: ManagedProcess = {
      name: options.name,
      pid,
      logFile: options.logFile,
      exited,
      running: () => exitedWith === undefined,
      logTail: (lines = 30) => tail(options.logFile, lines),
    };
    const timeoutMs = options.stopTimeoutMs ?? 10_000;
    const stopSignal = options.stopSignal ?? 'SIGTERM';
    const needs = (options.needs ?? []).map((p) => this.entries.find((e) => e.pgid === p.pid)).filter((e) => e !== undefined);
    this.entries.push({
      name: options.name,
      pgid: pid,
      process: managed,
      needs,
      stopped: false,
      stop: async () => {
        if (managed.running()) {
          signalGroup(pid, stopSignal);
          const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), timeoutMs);
          await exited;
          clearTimeout(timer);
        }
        // Anything the server forked that outlived it.
        signalGroup(pid, 'SIGKILL');
        watchdog.forget(-pid);
      },
    });
    return managed;
  }

  /** Hands the supervisor a helper that manages its own process (e.g. the Alertmanager helper). */
  adopt(name: string, stop: () => Promise<void>): void {
    this.entries.push({ name, needs: [], stopped: false, stop });
  }

  /**
   * Stops one process before the others, as stopAll would (for a test of a server that goes away;
   * a test that brings it back starts a new one). Safe to call twice.
   */
  async stop(process: ManagedProcess): Promise<void> {
    const entry = this.entries.find((e) => e.process === process);
    if (entry === undefined) throw new Error(`${process.name} (pid ${process.pid}) was not started by this supervisor`);
    if (entry.stopped) return;
    await entry.stop();
    entry.stopped = true;
  }

  /** Stops everything, dependants first. Safe to call more than once. */
  stopAll(): Promise<void> {
    this.stopping ??= this.stopInOrder();
    return this.stopping;
  }

  /** Process groups of the servers still to stop (each server leads its own group). */
  processGroups(): number[] {
    return this.entries.filter((e) => e.pgid !== undefined && !e.stopped).map((e) => e.pgid as number);
  }

  /**
   * Last resort when Node is exiting without having awaited stopAll (e.g. an uncaught error):
   * SIGKILLs every process group synchronously, so nothing is orphaned.
   */
  killAllNow(): void {
    for (const entry of this.entries) if (entry.pgid !== undefined && !entry.stopped) signalGroup(entry.pgid, 'SIGKILL');
  }

  private async stopInOrder(): Promise<void> {
    const errors: unknown[] = [];
    for (;;) {
      const pending = this.entries.filter((e) => !e.stopped);
      if (pending.length === 0) break;
      // Stop now whatever no still-running entry needs.
      const ready = pending.filter((e) => !pending.some((other) => other.needs.includes(e)));
      const wave = ready.length > 0 ? ready : pending;
      await Promise.all(
        wave.map(async (entry) => {
          try {
            await entry.stop();
          } catch (error) {
            errors.push(error);
          }
          entry.stopped = true;
        }),
      );
    }
    if (errors.length > 0) throw new AggregateError(errors, 'some test servers did not stop cleanly');
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // The group is already gone.
  }
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Stops the supervisor's servers when the process is interrupted (Ctrl-C, SIGTERM from CI or
 * `servers down`), then lets the signal end the process as it would have. Returns a function
 * that removes the handlers.
 */
export function stopOnSignals(supervisor: Supervisor, onStopped?: () => void): () => void {
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) {
      // A second Ctrl-C: do not wait for graceful stops any more.
      supervisor.killAllNow();
      remove();
      process.kill(process.pid, signal);
      return;
    }
    interrupted = true;
    void supervisor
      .stopAll()
      .catch((error: unknown) => console.error(error))
      .finally(() => {
        onStopped?.();
        remove();
        process.kill(process.pid, signal);
      });
  };
  // Vitest and others may call process.exit() on a signal before our graceful stop is done.
  const onExit = () => {
    supervisor.killAllNow();
    onStopped?.();
  };
  const remove = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    process.off('exit', onExit);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  process.on('exit', onExit);
  return remove;
}
