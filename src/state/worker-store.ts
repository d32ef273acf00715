import { Worker } from 'node:worker_threads';
import type { Logger } from '../log.ts';
import type { StoreProblem } from './store-health.ts';
import { errorFrom, type Commits, type FromWorker, type StoreRequest, type StoreWorkerData, type ToWorker } from './store-worker-protocol.ts';
import { STORE_CALLS, STORE_TRANSACTIONS, type FoldSettings, type StoreCallName, type StoreTransactionName } from './store-transactions.ts';
import type { Store } from './store.ts';

export interface WorkerStoreOptions {
  /** The SQLite file (LOOKOUT_STATE). */
  path: string;
  /** The worker's log lines are written through this logger. */
  log: Logger;
  fold: FoldSettings;
  /** PRAGMA quick_check in a worker thread this often (ms); 0 = only at start. */
  checkIntervalMs?: number;
  /** Told when the store starts or stops being able to write, e.g. for a metric. */
  onHealthChange?: (problem: StoreProblem | undefined) => void;
  /** Told how many more transactions the worker committed, with and without an fsync, e.g. for a metric. */
  onCommitted?: (commits: Commits) => void;
  /**
   * The worker thread died (a crash, not close()): every call rejects from now on and ping()
   * says why. Lookout exits on it (src/main.ts); nothing accepted is lost, the inbox is on disk.
   */
  onFailed?: (error: Error) => void;
}

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);

/**
 * The production Store: the SqliteStore engine runs in a worker thread (store-worker.ts) that
 * owns the connection, so no SQLite statement, commit or fsync ever runs on the event loop.
 * Each call is a message; calls made while the worker is busy are committed together, and a
 * call's promise settles only after that commit. ping() answers from the last health the worker
 * reported, without a round trip.
 */
export class WorkerStore {
  readonly store: Store;
  private readonly worker: Worker;
  private readonly log: Logger;
  private readonly options: WorkerStoreOptions;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private readonly recovered: Array<() => void> = [];
  private readonly ready: Promise<void>;
  private nextId = 1;
  /** Calls not yet sent to the worker: they go together at the end of this microtask (sendCalls). */
  private outgoing: StoreRequest[] = [];
  private health: string | undefined = 'the state store is starting';
  private failure: string | undefined;
  private closing: Promise<void> | undefined;
  private commits: Commits = { full: 0, normal: 0 };

  constructor(options: WorkerStoreOptions) {
    this.options = options;
    this.log = options.log;
    const workerData: StoreWorkerData = {
      path: options.path,
      checkIntervalMs: options.checkIntervalMs ?? 0,
      fold: options.fold,
      logLevel: options.log.level,
    };
    // From src/ (node strips the types) and from dist/ (compiled), the worker sits beside this file.
    const file = import.meta.url.endsWith('.ts') ? './store-worker.ts' : './store-worker.js';
    // A small young generation: the worker's garbage collections stall no request (they are off
    // the event loop), and the Deployment's --max-semi-space-size=8 would let each thread grow
    // its own young generation to 8 MB a semi-space (RSS counts in the storm budget).
    // Named so the thread shows as such in top -H, perf and /proc/<pid>/task/*/comm (the bench reads its scheduling there).
    this.worker = new Worker(new URL(file, import.meta.url), { name: 'lookout-store', workerData, resourceLimits: { maxYoungGenerationSizeMb: 8 } });
    this.ready = new Promise((resolve, reject) => {
      this.worker.on('message', (message: FromWorker) => {
        if (message.type === 'ready') {
          this.health = message.ping;
          this.commits = message.commits;
          resolve();
        } else if (message.type === 'failed') {
          reject(errorFrom(message.error));
        } else {
          this.receive(message);
        }
      });
      this.worker.once('exit', (code) => {
        const error = new Error(`the state store's worker thread stopped (exit code ${code})${this.failure ? `: ${this.failure}` : ''}`);
        reject(error);
        this.stopped(error);
      });
    });
    // Without this an uncaught error in the worker would be thrown here and crash the process
    // before the exit handler could report it; it is reported with the exit instead.
    this.worker.on('error', (error) => {
      this.failure = error.message;
      this.log.error({ err: error }, 'the state store worker thread failed');
    });
    const names = [...STORE_CALLS, ...(Object.keys(STORE_TRANSACTIONS) as StoreTransactionName[])];
    const calls = Object.fromEntries(names.map((name) => [name, (...args: unknown[]) => this.call(name, args)]));
    this.store = {
      // The names are checked against StoreEngine and StoreTransactions in store-transactions.ts.
      ...(calls as unknown as Omit<Store, 'ping' | 'onRecovered' | 'close'>),
      ping: () => this.failure ?? this.health,
      onRecovered: (listener) => this.recovered.push(listener),
      // One process: whoever queues work wakes its own outbox, so no other replica is ever told.
      onRemoteChange: () => undefined,
      close: () => this.close(),
    };
  }

  /** Resolves once the engine opened the file (its health, good or bad, is then in ping()). */
  opened(): Promise<void> {
    return this.ready;
  }

  /** Transactions the worker committed, with an fsync (full) and without (normal). */
  commitCount(): Commits {
    return { ...this.commits };
  }

  private call(name: StoreCallName | StoreTransactionName, args: unknown[]): Promise<unknown> {
    if (this.failure !== undefined) return Promise.reject(new Error(this.failure));
    if (this.closing !== undefined) return Promise.reject(new Error('the state store is closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.outgoing.push({ id, name, args }) === 1) queueMicrotask(() => this.sendCalls());
    });
  }

  /**
   * The calls made since the last microtask checkpoint, as one message. Each postMessage wakes the
   * worker and, on a busy machine, costs the event loop a context switch: the issue 11 profiles
   * showed 12–16 % of Lookout's main-thread time in postMessage, with 5–8 messages a webhook
   * (an outbox pass alone reads with five calls at once).
   */
  private sendCalls(): void {
    const requests = this.outgoing;
    this.outgoing = [];
    if (requests.length === 0) return;
    try {
      this.post({ type: 'calls', requests });
    } catch {
      // Arguments that cannot be cloned (a function, say) fail their own call, not the batch:
      // thrown here, in a microtask, the error would end the process with every call unanswered.
      for (const request of requests) {
        try {
          this.post({ type: 'calls', requests: [request] });
        } catch (error) {
          const waiting = this.pending.get(request.id);
          this.pending.delete(request.id);
          waiting?.reject(error instanceof Error ? error : new Error(String(error)));
        }
      }
    }
  }

  private post(message: ToWorker): void {
    this.worker.postMessage(message);
  }

  private receive(message: Exclude<FromWorker, { type: 'ready' | 'failed' }>): void {
    switch (message.type) {
      case 'answers':
        // Health first: a caller whose write failed finds the store marked when it asks ping().
        this.health = message.ping;
        this.options.onCommitted?.({ full: message.commits.full - this.commits.full, normal: message.commits.normal - this.commits.normal });
        this.commits = message.commits;
        for (const answer of message.answers) {
          const waiting = this.pending.get(answer.id);
          if (waiting === undefined) continue;
          this.pending.delete(answer.id);
          if (answer.ok) waiting.resolve(answer.value);
          else waiting.reject(errorFrom(answer.error));
        }
        return;
      case 'health':
        this.health = message.ping;
        this.options.onHealthChange?.(message.problem);
        return;
      case 'recovered':
        this.health = message.ping;
        for (const listener of this.recovered) listener();
        return;
      case 'log':
        this.relay(message.line);
        return;
      case 'closed':
        return;
    }
  }

  /** A worker's log line, written through Lookout's logger (its redaction and destination). */
  private relay(line: string): void {
    try {
      const { level, msg, ...fields } = JSON.parse(line) as { level?: string; msg?: string };
      const method = level !== undefined && LEVELS.has(level) ? (level as 'info') : 'info';
      this.log[method](fields, msg ?? '');
    } catch {
      this.log.warn('the state store worker wrote a log line that is not JSON; dropped');
    }
  }

  private stopped(error: Error): void {
    if (this.closing === undefined) {
      this.failure = `${error.message}; Lookout must restart (nothing accepted is lost: the inbox is on disk)`;
      this.log.fatal({ err: error, pending: this.pending.size }, 'the state store worker thread stopped unexpectedly');
    }
    for (const { reject } of this.pending.values()) reject(error);
    this.pending.clear();
    if (this.closing === undefined) this.options.onFailed?.(error);
  }

  private close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.worker.once('exit', () => resolve());
      if (this.failure !== undefined) return resolve();
      // Calls made just before close() are answered first (the worker settles them, then closes).
      this.sendCalls();
      this.post({ type: 'close' });
    });
    return this.closing;
  }
}
