import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { PostgresStore } from './postgres-store.ts';
import { STORE_PROBLEM_KINDS, type StoreProblem } from './store-health.ts';
import type { FoldSettings } from './store-transactions.ts';
import type { Store } from './store.ts';
import { WorkerStore } from './worker-store.ts';

export interface OpenStoreOptions {
  config: Pick<Config, 'statePath' | 'database' | 'state'>;
  log: Logger;
  metrics: Pick<Metrics, 'stateStoreProblem' | 'stateCommits' | 'stateTransactionConflicts' | 'stateChangeListenerConnected'>;
  fold: FoldSettings;
  /** The store can never work in this process: Lookout must stop (see WorkerStore, PostgresStore). */
  onFailed?: ((error: Error) => void) | undefined;
}

/** The store Lookout runs on, and when it is open (its health, good or bad, is then in ping()). */
export interface OpenedStore {
  store: Store;
  opened(): Promise<void>;
}

/**
 * The state store the configuration picks: the shared PostgreSQL of LOOKOUT_DATABASE_URL (several
 * replicas), else the embedded SQLite file of LOOKOUT_STATE, its engine in a worker thread so no
 * statement, commit or fsync runs on the event loop (docs/architecture.md, "Event-loop stalls").
 */
export function openStore({ config, log, metrics, fold, onFailed }: OpenStoreOptions): OpenedStore {
  const onHealthChange = (problem: StoreProblem | undefined): void => {
    for (const kind of STORE_PROBLEM_KINDS) metrics.stateStoreProblem.set({ kind }, problem?.kind === kind ? 1 : 0);
  };
  const storeLog = log.child({ component: 'store' });
  if (config.database) {
    return new PostgresStore({
      url: config.database.url,
      passwordFile: config.database.passwordFile,
      poolSize: config.database.poolSize,
      log: storeLog,
      fold,
      onHealthChange,
      onConflict: () => metrics.stateTransactionConflicts.inc(),
      onListeningChange: (listening) => metrics.stateChangeListenerConnected.set(listening ? 1 : 0),
      ...(onFailed ? { onFailed } : {}),
    });
  }
  return new WorkerStore({
    path: config.statePath,
    log: storeLog,
    checkIntervalMs: config.state.checkIntervalMs,
    fold,
    onHealthChange,
    onCommitted: ({ full, normal }) => {
      if (full > 0) metrics.stateCommits.inc({ sync: 'full' }, full);
      if (normal > 0) metrics.stateCommits.inc({ sync: 'normal' }, normal);
    },
    ...(onFailed ? { onFailed } : {}),
  });
}
