import pg from 'pg';
import type { Logger } from '../log.ts';
import { QUEUED_WORK, type QueuedWork } from './store.ts';

/*
 * Cross-replica wake-up (issue 16). A replica that queues work for a Slack channel another replica
 * holds, or for the enrichment job another replica runs, says so with NOTIFY in the transaction
 * that queued it (delivered on commit only); every replica LISTENs on one connection of its own
 * and wakes its outbox or enrichment runner. Without it the holder would notice at its next lease
 * renewal, up to a third of the lease's duration later. A notification can be missed (the
 * connection was down): after reconnecting, the listener wakes everything once, and the renewal-
 * time wake stays as the fallback.
 */

/** The channel of Lookout's notifications. */
export const QUEUED_WORK_CHANNEL = 'lookout_queued_work';

/** The payload: who sent it (a store's random id, so a replica ignores its own) and what was queued. */
export function queuedWorkPayload(source: string, work: readonly QueuedWork[]): string {
  return `${source}:${work.join(',')}`;
}

/** The work a payload names, unless `self` sent it; unknown names are ignored (a newer Lookout may send more). */
export function parseQueuedWork(payload: string, self: string): QueuedWork[] {
  const separator = payload.indexOf(':');
  if (separator < 0 || payload.slice(0, separator) === self) return [];
  const named = new Set(payload.slice(separator + 1).split(','));
  return QUEUED_WORK.filter((work) => named.has(work));
}

export interface PostgresChangeListenerOptions {
  /** The store's connection settings (postgres-connection.ts). */
  settings: pg.ClientConfig;
  /** This store's id in payloads. */
  self: string;
  log: Logger;
  /** Told of work another replica queued; after a reconnect, of every kind (some may have been missed). */
  onWork: (work: QueuedWork) => void;
  /** Told when the connection starts or stops listening. */
  onListeningChange?: (listening: boolean) => void;
  /** First wait before connecting again after a failure (ms), doubled up to 5 s. Default 500 ms. */
  retryDelayMs?: number | undefined;
}

const MAX_RETRY_DELAY_MS = 5_000;

/** One dedicated LISTEN connection, outside the pool (a pooled session would be handed to other calls). */
export class PostgresChangeListener {
  private readonly options: PostgresChangeListenerOptions;
  private client: pg.Client | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs: number;
  private everListened = false;
  private stopped = false;

  constructor(options: PostgresChangeListenerOptions) {
    this.options = options;
    this.retryDelayMs = options.retryDelayMs ?? 500;
  }

  start(): void {
    void this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    // Keepalive probes from 10 s of silence: a connection cut without a reset (a network partition)
    // is found in under a minute instead of the system's default two hours.
    const client = new pg.Client(this.options.settings);
    this.client = client;
    let lost = false;
    let listened = false;
    const onLost = (error?: Error): void => {
      if (lost) return;
      lost = true;
      if (listened) this.options.onListeningChange?.(false);
      if (this.client === client) this.client = undefined;
      void client.end().catch(() => undefined);
      if (this.stopped) return;
      this.options.log.warn({ err: error, retryInMs: this.retryDelayMs }, 'the PostgreSQL LISTEN connection for cross-replica wake-ups failed; connecting again');
      this.retryTimer = setTimeout(() => void this.connect(), this.retryDelayMs);
      this.retryDelayMs = Math.min(this.retryDelayMs * 2, MAX_RETRY_DELAY_MS);
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (message) => {
      for (const work of parseQueuedWork(message.payload ?? '', this.options.self)) this.options.onWork(work);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${QUEUED_WORK_CHANNEL}`);
    } catch (error) {
      onLost(error as Error);
      return;
    }
    if (lost || this.stopped) return;
    listened = true;
    this.options.onListeningChange?.(true);
    this.retryDelayMs = this.options.retryDelayMs ?? 500;
    if (this.everListened) {
      this.options.log.info('the PostgreSQL LISTEN connection is back: waking the outbox and enrichment once for what was missed');
      for (const work of QUEUED_WORK) this.options.onWork(work);
    }
    this.everListened = true;
  }
}
