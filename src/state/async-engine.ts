import type { SqliteStore } from './sqlite-store.ts';
import { STORE_CALLS } from './store-transactions.ts';
import type { AsyncEngine } from './store.ts';

/**
 * The synchronous SQLite engine as an AsyncEngine, so the named transactions (store-transactions.ts)
 * run on it as they run on PostgreSQL: each call answers with a promise already settled, and
 * transaction(fn) is the engine's own BEGIN … COMMIT (nested: a savepoint) held open while fn awaits.
 *
 * SQLite has one connection and no idea which caller a statement comes from: while fn awaits,
 * any other call on this connection would run inside fn's transaction, commit or roll back with
 * it, or open a savepoint in it. So whoever runs work on this engine runs one piece of work at a
 * time and starts the next only once the previous settled: the store worker runs its batches one
 * after the other (store-worker.ts), and inProcessStore queues its calls (in-process-store.ts).
 */
export function asyncEngine(engine: SqliteStore): AsyncEngine {
  const calls = Object.fromEntries(
    // async: an engine that throws answers with a rejected promise, as a remote database would.
    STORE_CALLS.map((name) => [name, async (...args: unknown[]) => (engine[name] as (...args: unknown[]) => unknown).apply(engine, args)]),
  );
  return {
    // The names are checked against StoreEngine in store-transactions.ts.
    ...(calls as unknown as Omit<AsyncEngine, 'transaction'>),
    transaction: (fn) => engine.transactionAwaiting(fn),
  };
}
