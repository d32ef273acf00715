import { spawn, type ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('./watchdog-main.ts', import.meta.url));

/**
 * Cleans up after this Node process if it dies without doing so itself (SIGKILL, OOM, a crash
 * that skips `exit` handlers): a separate watchdog process (watchdog-main.ts) holds the other end
 * of a pipe and, when the pipe closes, SIGKILLs every process still watched and removes every
 * directory still registered. Call `forget`/`keep` once you have stopped or kept something
 * yourself; at a normal exit nothing is left registered and the watchdog just ends.
 */
export interface Watchdog {
  /** Kill this pid if this process dies first; a negative number means the process group. */
  watch(target: number): void;
  /** This pid (or -group) has been stopped by its owner: do nothing about it any more. */
  forget(target: number): void;
  /** Remove this directory if this process dies first. */
  removeIfOrphaned(dir: string): void;
  /** The owner has dealt with this directory (removed it, or keeps its logs on purpose). */
  keep(dir: string): void;
}

let shared: Watchdog | undefined;

/**
 * The watchdog of this process. One per process on purpose (not per caller): it watches the
 * process's own death, which every helper that starts children in it shares, and one extra
 * `node` per test file is enough.
 */
export function processWatchdog(): Watchdog {
  shared ??= startWatchdog();
  return shared;
}

function startWatchdog(): Watchdog {
  const child: ChildProcess = spawn(process.execPath, [MAIN], {
    // Its own session: the owner's terminal signals (Ctrl-C, hang-up) do not reach it.
    detached: true,
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  const stdin = child.stdin as Writable & { unref?: () => void };
  // Neither the child nor the pipe may keep this process alive.
  child.unref();
  stdin.unref?.();
  // If the watchdog itself is gone, writes fail; that must not crash the tests.
  stdin.on('error', () => undefined);
  const send = (line: string) => {
    if (!stdin.destroyed) stdin.write(`${line}\n`);
  };
  return {
    watch: (target) => send(`watch ${target}`),
    forget: (target) => send(`forget ${target}`),
    removeIfOrphaned: (dir) => send(`dir ${dir}`),
    keep: (dir) => send(`keep ${dir}`),
  };
}
