import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from '../log.ts';
import { PostgresChangeListener, QUEUED_WORK_CHANNEL, queuedWorkPayload } from './postgres-change-listener.ts';
import { connectionFailure, connectionSettings, createPostgresPool, DEFAULT_POOL_SIZE, ReadOnlyDatabase, redactDatabaseUrl } from './postgres-connection.ts';
import { PostgresEngine } from './postgres-engine.ts';
import { migrate } from './postgres-migrations.ts';
import { StoreHealth, type StoreProblem } from './store-health.ts';
import { STORE_CALLS, STORE_TRANSACTIONS, runOnEngine, transactionContext, type FoldSettings, type StoreCallName, type StoreTransactionName, type TransactionContext } from './store-transactions.ts';
import type { QueuedWork, Store, StoreCalls, StoreTransactions } from './store.ts';

export interface PostgresStoreOptions {
  /** LOOKOUT_DATABASE_URL: postgres:// or postgresql://, TLS through its ssl* parameters (postgres-connection.ts). */
  url: string;
  /** LOOKOUT_DATABASE_PASSWORD_FILE: its content, trimmed, overrides the URL's password. */
  passwordFile?: string | undefined;
  /** LOOKOUT_DATABASE_POOL_SIZE: connections at most (default 10). */
  poolSize?: number | undefined;
  log: Logger;
  fold: FoldSettings;
  /** Told when the store starts or stops being able to reach its database, e.g. for a metric. */
  onHealthChange?: (problem: StoreProblem | undefined) => void;
  /**
   * The store can never work in this process (the database's schema turned out newer than this
   * Lookout knows, found once the database came back): Lookout must stop (src/main.ts exits).
   */
  onFailed?: (error: Error) => void;
  /** Told of each transaction a conflict with a concurrent one cancelled, which then runs again (for a metric). */
  onConflict?: () => void;
  /** Told when the LISTEN connection for cross-replica wake-ups comes up or goes down (for a metric). */
  onListeningChange?: (listening: boolean) => void;
  /** First wait before the LISTEN connection connects again after a failure (ms); tests shorten it. */
  listenRetryDelayMs?: number | undefined;
  /** Connection timeouts (ms); the defaults suit production, tests shorten them. */
  connectTimeoutMs?: number | undefined;
  statementTimeoutMs?: number | undefined;
  queryTimeoutMs?: number | undefined;
}

/**
 * Two replicas folding the same notifications (an Alertmanager HA pair sends each to both) would
 * cancel each other's serializable transactions over and over: the fold runs under this advisory
 * lock, so they take turns.
 */
const INBOX_FOLD_LOCK_KEY = 0x4c6b4942; // 'LkIB'

/**
 * What a named transaction or call queued for another replica's background work, from its answer:
 * announced to the other replicas in the same transaction (postgres-change-listener.ts). Deliveries
 * queue nothing new (the outbox that makes them holds the channel), nor do reads and leases.
 */
function queuedWork(name: StoreCallName | StoreTransactionName, answer: unknown): QueuedWork[] {
  switch (name) {
    case 'foldInbox':
      // A changed group is a post or an edit, and its new alerts may wait for enrichment.
      return (answer as { changed: number }).changed > 0 ? ['slack', 'enrichment'] : [];
    case 'saveEnrichmentResults':
    case 'markGroupSilenced':
    case 'clearGroupSilence':
    case 'extendGroupSilence':
    case 'resolveVanishedAlerts':
      return answer === true ? ['slack'] : [];
    case 'changeAcknowledgement':
      return answer === undefined ? ['slack'] : [];
    case 'queueCertificateDigest':
      return (answer as number) > 0 ? ['slack'] : [];
    case 'releaseEnrichment':
    case 'addNotice':
      return ['slack'];
    default:
      return [];
  }
}


/**
 * The Store on PostgreSQL, for several replicas sharing one database. Plain calls go to the
 * engine (one statement each, autocommit); named transactions run STORE_TRANSACTIONS inside
 * engine.transaction, so a serialization conflict re-runs them whole.
 *
 * Health: a call that fails to reach the database marks the store unreachable (ping() says so,
 * webhooks get 503, /readyz is false) and a probe (a round trip, every 1–2 s) finds the recovery and
 * calls the onRecovered listeners. PostgreSQL down at start does not stop Lookout: it starts,
 * says so, and connects and migrates once the database answers.
 */
export class PostgresStore {
  readonly store: Store;
  private readonly log: Logger;
  private readonly options: PostgresStoreOptions;
  private readonly pool: pg.Pool;
  private readonly engine: PostgresEngine;
  private readonly health: StoreHealth;
  private readonly context: TransactionContext;
  private readonly ready: Promise<void>;
  private readonly changes: PostgresChangeListener;
  /** This store's id in its notifications, so it ignores its own. */
  private readonly self = randomBytes(6).toString('hex');
  private readonly remoteChangeListeners: Array<(work: QueuedWork) => void> = [];
  private migrated = false;
  /** Why the store can never work in this process (see onFailed). */
  private failure: string | undefined;
  private closed = false;
  /** Connections the pool opened and has not yet ended (close() waits for them). */
  private openClients = 0;
  private clientsEnded: (() => void) | undefined;

  constructor(options: PostgresStoreOptions) {
    this.options = options;
    this.log = options.log;
    this.health = new StoreHealth({
      log: this.log,
      probe: () => this.probe(),
      classify: connectionFailure,
      damagedAdvice: '',
      firstProbeDelayMs: 1_000,
      maxProbeDelayMs: 2_000,
      ...(options.onHealthChange ? { onChange: options.onHealthChange } : {}),
    });
    this.pool = createPostgresPool(options, (error) => {
      // After close() a connection's end is expected (the database may even be dropped right after).
      if (this.closed) return;
      // An idle connection dropped (a restart, a network cut): the pool replaces it on demand.
      this.log.warn({ err: error }, 'an idle PostgreSQL connection failed');
      this.health.report(error);
    });
    this.pool.on('connect', () => (this.openClients += 1));
    // Emitted once the client's connection has ended, which pool.end() does not wait for.
    this.pool.on('remove', () => {
      this.openClients -= 1;
      if (this.openClients === 0) this.clientsEnded?.();
    });
    this.engine = new PostgresEngine({
      pool: this.pool,
      onError: (error) => {
        if (!this.closed) this.health.report(error);
      },
      onRetry: (error, attempt) => {
        this.log.debug({ err: error, attempt }, 'a store transaction conflicted with another and runs again');
        options.onConflict?.();
      },
    });
    this.changes = new PostgresChangeListener({
      settings: connectionSettings(options, 'lookout-listen'),
      self: this.self,
      log: this.log,
      onWork: (work) => {
        for (const listener of this.remoteChangeListeners) listener(work);
      },
      retryDelayMs: options.listenRetryDelayMs,
      onListeningChange: (listening) => options.onListeningChange?.(listening),
    });
    this.changes.start();
    this.context = transactionContext(options.fold, this.log);
    this.store = this.createStore();
    this.ready = this.open();
  }

  /**
   * Resolves once the schema is current, or once the database was found unreachable or read-only
   * (ping() then says so and the store migrates later). Rejects when Lookout must not start: the schema is
   * newer than this Lookout knows, the password is wrong, the database does not exist.
   */
  opened(): Promise<void> {
    return this.ready;
  }

  private async open(): Promise<void> {
    this.log.info({ database: redactDatabaseUrl(this.options.url), poolSize: this.options.poolSize ?? DEFAULT_POOL_SIZE }, 'state store: PostgreSQL');
    try {
      await this.migrate();
    } catch (error) {
      if (!this.health.report(error)) throw error;
      this.log.warn(
        'PostgreSQL cannot be reached at start (or takes no writes): Lookout starts, answers webhooks 503 and says so in /readyz; it migrates and carries on once the database answers',
      );
    }
  }

  private async migrate(): Promise<void> {
    await migrate(this.pool, this.log);
    this.migrated = true;
  }

  /** While the database cannot be used: a round trip that also asks whether it takes writes, or (never migrated yet) the migrations themselves. */
  private async probe(): Promise<void> {
    if (this.migrated) {
      // A round trip, and the server takes writes: a standby (after a failover) answers, read-only.
      const { rows } = await this.pool.query<{ writable: boolean }>("SELECT NOT pg_is_in_recovery() AND current_setting('transaction_read_only') = 'off' AS writable");
      if (rows[0]?.writable !== true) throw new ReadOnlyDatabase();
      return;
    }
    try {
      await this.migrate();
    } catch (error) {
      if (connectionFailure(error) === undefined) this.fail(error as Error);
      throw error;
    }
  }

  private fail(error: Error): void {
    this.failure = `state store: ${error.message}`;
    this.health.stop();
    this.log.error({ err: error }, 'the PostgreSQL store cannot work: Lookout must stop');
    this.options.onFailed?.(error);
  }

  private ping(): string | undefined {
    if (this.failure !== undefined) return this.failure;
    const problem = this.health.problem();
    if (problem !== undefined) return `state store: ${problem.reason}; retrying`;
    if (!this.migrated) return 'the state store is starting (connecting to PostgreSQL)';
    return undefined;
  }

  /** Before the schema is there, nothing can be asked of it: fail at once, saying why. */
  private checkUsable(): void {
    if (this.closed) throw new Error('the state store is closed');
    if (!this.migrated) throw new Error(this.ping() ?? 'the state store is starting');
  }

  private createStore(): Store {
    const engine = this.engine;
    const run = async (name: StoreCallName | StoreTransactionName, args: unknown[]): Promise<unknown> => {
      this.checkUsable();
      // addNotice is the one plain call that queues work (an audit line): it too runs in a transaction, with its NOTIFY.
      if (!Object.hasOwn(STORE_TRANSACTIONS, name) && name !== 'addNotice') return runOnEngine(engine, this.context, name, args);
      // A named transaction runs whole inside one database transaction, so a conflict re-runs all of
      // it; what it queued is announced in it, so the other replicas hear of it once it commits.
      const announced = async (): Promise<unknown> => {
        const answer = await runOnEngine(engine, this.context, name, args);
        const work = queuedWork(name, answer);
        if (work.length > 0) await engine.announce(QUEUED_WORK_CHANNEL, queuedWorkPayload(this.self, work));
        return answer;
      };
      return engine.transaction(announced, name === 'foldInbox' ? INBOX_FOLD_LOCK_KEY : undefined);
    };
    const names = [...STORE_CALLS, ...(Object.keys(STORE_TRANSACTIONS) as StoreTransactionName[])];
    const calls = Object.fromEntries(names.map((name) => [name, (...args: unknown[]) => run(name, args)]));
    return {
      // The names are checked against StoreEngine and StoreTransactions in store-transactions.ts.
      ...(calls as unknown as StoreCalls & StoreTransactions),
      ping: () => this.ping(),
      onRecovered: (listener) => this.health.onRecovered(listener),
      onRemoteChange: (listener) => {
        this.remoteChangeListeners.push(listener);
      },
      close: async () => {
        if (this.closed) return;
        this.closed = true;
        this.health.stop();
        await this.changes.stop();
        await this.ready.catch(() => undefined);
        const ended = this.openClients === 0 ? Promise.resolve() : new Promise<void>((resolve) => (this.clientsEnded = resolve));
        await this.pool.end();
        await ended;
      },
    };
  }
}
