import type { Logger } from '../log.ts';

/*
 * Whether the state store can do its job, and the one loop that finds out when it can again.
 *
 * Lookout answers a webhook 2xx only once the notification is on disk and posts to Slack only
 * what it can record, so a store that cannot write must stop both: webhooks get 503 (Alertmanager
 * retries), the inbox and the outbox wait. Without this a full disk produced a retry per webhook
 * and a re-post per outbox pass (Slack accepted the post, recording it failed, so it was due again).
 */

/**
 * unwritable: writes fail for a reason that can pass (disk full, I/O error); probed until they work.
 * damaged: the file itself is broken; nothing Lookout does repairs it, a person must (see `advice`).
 * unreachable: the database server (PostgreSQL) does not answer; probed until it does.
 */
export type StoreProblemKind = 'unwritable' | 'damaged' | 'unreachable';

/** Every kind, e.g. for a metric that shows each as 0 or 1. */
export const STORE_PROBLEM_KINDS: readonly StoreProblemKind[] = ['unwritable', 'damaged', 'unreachable'];

export interface StoreProblem {
  kind: StoreProblemKind;
  /** One line for /readyz and the log: the SQLite code and message, or what quick_check found. */
  reason: string;
  since: number;
}

/** SQLite primary result codes that say the storage failed, not the statement. */
const STORAGE_CODES: Record<number, { name: string; kind: StoreProblemKind }> = {
  8: { name: 'SQLITE_READONLY', kind: 'unwritable' },
  10: { name: 'SQLITE_IOERR', kind: 'unwritable' },
  11: { name: 'SQLITE_CORRUPT', kind: 'damaged' },
  13: { name: 'SQLITE_FULL', kind: 'unwritable' },
  14: { name: 'SQLITE_CANTOPEN', kind: 'unwritable' },
  26: { name: 'SQLITE_NOTADB', kind: 'damaged' },
};

/** What a storage error from node:sqlite means for the store; undefined for any other error. */
export function storageFailure(error: unknown): { kind: StoreProblemKind; reason: string } | undefined {
  const errcode = (error as { errcode?: unknown } | null)?.errcode;
  if (typeof errcode !== 'number') return undefined;
  // node:sqlite reports extended codes (SQLITE_IOERR_WRITE = 778); the low byte is the primary code.
  const known = STORAGE_CODES[errcode & 0xff];
  if (known === undefined) return undefined;
  return { kind: known.kind, reason: `${known.name} (${errcode}): ${(error as Error).message}` };
}

/** Thrown instead of touching a store that is known to be damaged. */
export class StoreUnavailable extends Error {
  constructor(problem: StoreProblem) {
    super(`state store unavailable: ${problem.reason}`);
    this.name = 'StoreUnavailable';
  }
}

export interface StoreHealthOptions {
  log: Logger;
  /** A small real write (or, for a database server, a round trip); throws or rejects while the problem lasts. */
  probe: () => void | Promise<void>;
  /** What an error means for the store (undefined: nothing, e.g. a constraint); default: SQLite's storage failures. */
  classify?: (error: unknown) => { kind: StoreProblemKind; reason: string } | undefined;
  /** What a person must do about a damaged file (it names the file); logged with the problem. */
  damagedAdvice: string;
  now?: () => number;
  /** Runs fn after ms; returns a cancel function. Injected so unit tests step the loop by hand. */
  schedule?: (fn: () => void, ms: number) => () => void;
  /** Told of every change: the new problem, or undefined once writes work again (for a metric). */
  onChange?: (problem: StoreProblem | undefined) => void;
  /** First probe this long after the failure, doubling up to maxProbeDelayMs. */
  firstProbeDelayMs?: number;
  maxProbeDelayMs?: number;
}

const unrefTimer = (fn: () => void, ms: number): (() => void) => {
  // unref: a pending probe must not keep a stopping process alive.
  const timer = setTimeout(fn, ms).unref();
  return () => clearTimeout(timer);
};

export class StoreHealth {
  private readonly options: Required<StoreHealthOptions>;
  private current: StoreProblem | undefined;
  private cancelProbe: (() => void) | undefined;
  private probeDelayMs: number;
  private readonly recovered: Array<() => void> = [];
  private stopped = false;

  constructor(options: StoreHealthOptions) {
    this.options = { now: Date.now, schedule: unrefTimer, firstProbeDelayMs: 1000, maxProbeDelayMs: 30_000, onChange: () => undefined, classify: storageFailure, ...options };
    this.probeDelayMs = this.options.firstProbeDelayMs;
  }

  /** The problem that stops the store from writing, or undefined while it works. */
  problem(): StoreProblem | undefined {
    return this.current;
  }

  /** Called when writes work again after a problem. */
  onRecovered(listener: () => void): void {
    this.recovered.push(listener);
  }

  /**
   * Look at an error a store operation threw: a storage failure marks the store (logged once,
   * with the original code and message); anything else (a bug, a constraint) changes nothing.
   * @returns whether the error was a storage failure.
   */
  report(error: unknown): boolean {
    const failure = this.options.classify(error);
    if (failure === undefined) return false;
    this.mark(failure.kind, failure.reason, error);
    return true;
  }

  /** The file is damaged (quick_check found problems, or it is not a database). */
  markDamaged(reason: string): void {
    this.mark('damaged', reason, undefined);
  }

  stop(): void {
    this.stopped = true;
    this.cancelProbe?.();
    this.cancelProbe = undefined;
  }

  private mark(kind: StoreProblemKind, reason: string, error: unknown): void {
    const { log } = this.options;
    if (this.current?.kind === 'damaged') return;
    if (this.current?.kind === kind) return;
    this.current = { kind, reason, since: this.options.now() };
    this.options.onChange(this.current);
    if (kind === 'damaged') {
      this.cancelProbe?.();
      this.cancelProbe = undefined;
      log.error({ err: error, problem: reason }, `the state file is damaged: ${reason}. ${this.options.damagedAdvice}`);
      return;
    }
    log.error(
      { err: error, problem: reason },
      kind === 'unreachable'
        ? 'the state store cannot reach its database: webhooks are answered 503 (Alertmanager retries them) and nothing is sent to Slack until it answers again'
        : 'the state store cannot write: webhooks are answered 503 (Alertmanager retries them) and nothing is sent to Slack until a test write succeeds',
    );
    this.probeDelayMs = this.options.firstProbeDelayMs;
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    if (this.stopped || this.cancelProbe !== undefined) return;
    this.cancelProbe = this.options.schedule(() => {
      this.cancelProbe = undefined;
      this.runProbe();
    }, this.probeDelayMs);
  }

  private runProbe(): void {
    if (this.stopped || this.current === undefined || this.current.kind === 'damaged') return;
    let probing: void | Promise<void>;
    try {
      probing = this.options.probe();
    } catch (error) {
      this.probeFailed(error);
      return;
    }
    // A synchronous probe (SQLite) settles here and now; a database server's answers later.
    if (probing instanceof Promise) probing.then(() => this.probeSucceeded(), (error: unknown) => this.probeFailed(error));
    else this.probeSucceeded();
  }

  private probeFailed(error: unknown): void {
    if (this.stopped) return;
    const failure = this.options.classify(error);
    // The problem changed (a database that came back as a read-only standby; a file found damaged): say the new one.
    if (failure !== undefined && failure.kind !== this.current?.kind) {
      this.mark(failure.kind, failure.reason, error);
      if (failure.kind === 'damaged') return;
    }
    this.probeDelayMs = Math.min(this.options.maxProbeDelayMs, this.probeDelayMs * 2);
    this.options.log.debug({ err: error, nextProbeMs: this.probeDelayMs }, 'the state store still cannot do its job');
    this.scheduleProbe();
  }

  private probeSucceeded(): void {
    if (this.stopped || this.current === undefined || this.current.kind === 'damaged') return;
    const downMs = this.options.now() - this.current.since;
    const again = this.current.kind === 'unreachable' ? 'the state store reaches its database again' : 'the state store writes again';
    this.options.log.info({ problem: this.current.reason, downMs }, `${again}: accepting webhooks and delivering to Slack`);
    this.current = undefined;
    this.options.onChange(undefined);
    for (const listener of this.recovered) listener();
  }
}
