import { pino } from 'pino';
import type { Logger } from '../log.ts';
import type { Store, StoreEngine } from './store.ts';
import { STORE_CALLS, STORE_TRANSACTIONS, runOnEngine, transactionContext, type FoldSettings } from './store-transactions.ts';

export interface InProcessStoreOptions {
  /** The inbox fold's settings; without them foldInbox routes every group to `CDEFAULT`. */
  fold?: FoldSettings;
  log?: Logger;
}

/**
 * The asynchronous Store over an engine in this thread: every call runs at once and its answer
 * (or error) comes as a settled promise. For unit tests: deterministic under manual clocks and
 * fast. Production uses the worker thread (worker-store.ts), which runs the same engine and the
 * same named transactions.
 */
export function inProcessStore(engine: StoreEngine, options: InProcessStoreOptions = {}): Store {
  const log = options.log ?? pino({ level: 'silent' });
  const context = transactionContext(options.fold ?? { routes: [], defaultChannel: 'CDEFAULT' }, log);
  const names = [...STORE_CALLS, ...(Object.keys(STORE_TRANSACTIONS) as Array<keyof typeof STORE_TRANSACTIONS>)];
  const calls = Object.fromEntries(names.map((name) => [name, async (...args: unknown[]) => runOnEngine(engine, context, name, args)]));
  return {
    // The names are checked against StoreEngine and StoreTransactions in store-transactions.ts.
    ...(calls as unknown as Omit<Store, 'ping' | 'onRecovered' | 'close'>),
    ping: () => engine.ping(),
    onRecovered: (listener) => engine.onRecovered(listener),
    close: async () => engine.close(),
  };
}
