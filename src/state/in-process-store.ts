import { pino } from 'pino';
import type { Logger } from '../log.ts';
import { asyncEngine } from './async-engine.ts';
import type { SqliteStore } from './sqlite-store.ts';
import type { Store } from './store.ts';
import { STORE_CALLS, STORE_TRANSACTIONS, runOnEngine, transactionContext, type FoldSettings, type StoreCallName, type StoreTransactionName } from './store-transactions.ts';

export interface InProcessStoreOptions {
  /** The inbox fold's settings; without them foldInbox routes every group to `CDEFAULT`. */
  fold?: FoldSettings;
  log?: Logger;
}

/**
 * The asynchronous Store over an engine in this thread: calls run one after the other, each
 * starting once the previous one settled, and only microtasks in between. For unit tests:
 * deterministic under manual clocks and fast. Production uses the worker thread
 * (worker-store.ts), which runs the same engine and the same named transactions.
 */
export function inProcessStore(engine: SqliteStore, options: InProcessStoreOptions = {}): Store {
  const log = options.log ?? pino({ level: 'silent' });
  const context = transactionContext(options.fold ?? { routes: [], defaultChannel: 'CDEFAULT' }, log);
  const onEngine = asyncEngine(engine);
  // One at a time (see async-engine.ts): a named transaction awaits inside its SQLite transaction,
  // and a call started meanwhile would otherwise run inside it, and be rolled back with it.
  let tail: Promise<void> = Promise.resolve();
  let running = 0;
  const settled = (): void => {
    running -= 1;
  };
  const call = (name: StoreCallName | StoreTransactionName, args: unknown[]): Promise<unknown> => {
    const run = (): Promise<unknown> => runOnEngine(onEngine, context, name, args);
    // When nothing runs, at once: a test sees a call's first statement run before it awaits.
    const answer = running === 0 ? run() : tail.then(run);
    running += 1;
    tail = answer.then(settled, settled);
    return answer;
  };
  const names = [...STORE_CALLS, ...(Object.keys(STORE_TRANSACTIONS) as StoreTransactionName[])];
  const calls = Object.fromEntries(names.map((name) => [name, (...args: unknown[]) => call(name, args)]));
  return {
    // The names are checked against StoreEngine and StoreTransactions in store-transactions.ts.
    ...(calls as unknown as Omit<Store, 'ping' | 'onRecovered' | 'close'>),
    ping: () => engine.ping(),
    onRecovered: (listener) => engine.onRecovered(listener),
    // One process: whoever queues work wakes its own outbox, so no other replica is ever told.
    onRemoteChange: () => undefined,
    // After the calls already made, as the worker's close does.
    close: async () => {
      if (running > 0) await tail;
      engine.close();
    },
  };
}
