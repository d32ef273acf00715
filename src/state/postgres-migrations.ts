import type pg from 'pg';
import type { Logger } from '../log.ts';

/*
 * The PostgreSQL store's schema, as numbered migrations. Several replicas start against one
 * database, so the migrations run under a session advisory lock (the second replica waits, then
 * finds nothing to do), each in its own transaction with its row in schema_migrations, so a
 * failure halfway leaves the database at the last whole version. A database migrated by a newer
 * Lookout is refused: this code would not know what its tables mean.
 *
 * The tables mirror the SQLite store's (sqlite-store.ts), with these choices:
 * - times are BIGINT milliseconds since the epoch, like SQLite's INTEGER (the engine parses int8
 *   into numbers); ids are BIGINT identities;
 * - JSON (payloads, group state, enrichment) is TEXT, not jsonb: it is written and read whole by
 *   Lookout, never queried inside, and text keeps it byte for byte as written without the cost of
 *   parsing it into jsonb on every write of a storm;
 * - the outbox's per-channel reads walk partial indexes (see postgres-engine.ts, OUTBOX_READS),
 *   the same shape as SQLite's.
 */

export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'the whole store as of issue 16 (inbox, groups, outbox lanes, digests, Slack deliveries, leases, pending interactions)',
    sql: `
CREATE TABLE notifications (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  received_at BIGINT NOT NULL,
  payload TEXT NOT NULL
);

CREATE TABLE groups (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  group_key TEXT NOT NULL,
  channel TEXT NOT NULL,
  state TEXT NOT NULL,
  version INTEGER NOT NULL,
  posted_version INTEGER NOT NULL DEFAULT 0,
  message_ts TEXT,
  message_channel TEXT,
  post_started_at BIGINT,
  post_channel TEXT,
  changed_at BIGINT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL DEFAULT 0,
  failing_since BIGINT,
  enrichment TEXT,
  enrich_pending TEXT,
  enrich_until BIGINT,
  resolved_at BIGINT
);
CREATE INDEX groups_by_key ON groups (group_key, id);
CREATE INDEX groups_by_ts ON groups (message_ts);
CREATE INDEX groups_enrich_pending ON groups (id) WHERE enrich_pending IS NOT NULL;
CREATE INDEX groups_away ON groups (channel, id) WHERE message_channel IS NOT NULL;
CREATE INDEX groups_resolved ON groups (resolved_at) WHERE resolved_at IS NOT NULL;
-- Firing episodes (silencedGroups, firingGroups, alertMessages): few, however many resolved ones are kept.
CREATE INDEX groups_firing ON groups (id) WHERE resolved_at IS NULL;
-- Unsent group messages per channel in delivery order: first posts before edits, oldest first.
CREATE INDEX groups_outbox ON groups (channel, (message_ts IS NOT NULL), id) WHERE version > posted_version;
-- Unsent group messages not held for enrichment, by when they are due; and the held ones, by when the hold ends.
CREATE INDEX groups_due ON groups (next_attempt_at)
  WHERE version > posted_version AND (message_ts IS NOT NULL OR enrich_until IS NULL OR enrich_until <= next_attempt_at);
CREATE INDEX groups_held ON groups (enrich_until)
  WHERE version > posted_version AND message_ts IS NULL AND enrich_until > next_attempt_at;

CREATE TABLE replies (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  group_id BIGINT NOT NULL REFERENCES groups (id),
  text TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL DEFAULT 0,
  failing_since BIGINT,
  parent_channel TEXT
);
CREATE INDEX replies_by_group ON replies (group_id, id);
CREATE INDEX replies_outbox ON replies (parent_channel, id) WHERE parent_channel IS NOT NULL;
CREATE INDEX replies_due ON replies (next_attempt_at) WHERE parent_channel IS NOT NULL;

CREATE TABLE details (
  group_id BIGINT PRIMARY KEY REFERENCES groups (id),
  message_ts TEXT,
  version INTEGER NOT NULL,
  posted_version INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL DEFAULT 0,
  failing_since BIGINT,
  post_started_at BIGINT,
  parent_channel TEXT
);
CREATE INDEX details_outbox ON details (parent_channel, (message_ts IS NOT NULL), group_id)
  WHERE version > posted_version AND parent_channel IS NOT NULL;
CREATE INDEX details_due ON details (next_attempt_at) WHERE version > posted_version AND parent_channel IS NOT NULL;

CREATE TABLE notices (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  channel TEXT NOT NULL,
  text TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL DEFAULT 0,
  failing_since BIGINT,
  post_started_at BIGINT,
  post_channel TEXT
);
CREATE INDEX notices_by_channel ON notices (channel, id);
CREATE INDEX notices_due ON notices (next_attempt_at);

CREATE TABLE certificate_reports (
  certificate TEXT PRIMARY KEY,
  reported_at BIGINT NOT NULL
);
CREATE INDEX certificate_reports_by_time ON certificate_reports (reported_at);

CREATE TABLE slack_deliveries (
  delivery_key TEXT PRIMARY KEY,
  received_at BIGINT NOT NULL
);
CREATE INDEX slack_deliveries_by_time ON slack_deliveries (received_at);

CREATE TABLE leases (
  name TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);

CREATE TABLE pending_interactions (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  owner TEXT NOT NULL,
  value TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX pending_interactions_by_expiry ON pending_interactions (expires_at);
`,
  },
  {
    version: 2,
    description: 'groups are found by a hash of their key, so a key of any length can be stored',
    // A group key is as long as Alertmanager makes it (group_by: ['...'] keys a group by all its
    // labels), but a B-tree entry holds at most about 2.7 kB: a longer key failed its fold, and
    // every notification after it, for good. A hash index keeps a 4-byte hash per key; latestGroup
    // sorts the few episodes of one key.
    sql: `
DROP INDEX groups_by_key;
CREATE INDEX groups_by_key ON groups USING hash (group_key);
`,
  },
  {
    version: 3,
    description: 'a notification whose fold fails on its own is set aside in quarantined_notifications',
    // Folds run oldest first: one notification that always failed its fold stopped every later one.
    sql: `
CREATE TABLE quarantined_notifications (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  notification_id BIGINT NOT NULL,
  received_at BIGINT NOT NULL,
  payload TEXT NOT NULL,
  error TEXT NOT NULL,
  quarantined_at BIGINT NOT NULL
);
`,
  },
  {
    version: 4,
    description: 'the oldest waiting message is found by an index (groups_waiting), not by reading every waiting row',
    // outboxDepth()'s MIN(changed_at) over the unsent groups: each replica's outbox reads it.
    sql: `
CREATE INDEX groups_waiting ON groups (changed_at) WHERE version > posted_version;
`,
  },
];

/** The advisory lock key the migrations run under: any constant works as long as every replica uses this one. */
export const MIGRATION_LOCK_KEY = 0x4c6f6f6b; // 'Look'

/** The database holds a schema this Lookout does not know: it must not start on it. */
export class SchemaTooNew extends Error {
  constructor(found: number, known: number) {
    super(
      `the PostgreSQL database's schema is at version ${found}, but this Lookout knows versions up to ${known}: ` +
        'a newer Lookout migrated it. Run that newer Lookout (or a later one), or restore the database from before the upgrade; ' +
        'this one refuses to start rather than misread the tables.',
    );
    this.name = 'SchemaTooNew';
  }
}

/**
 * Brings the database up to the newest migration, holding the migration lock meanwhile.
 * @returns the versions it applied (empty when the schema was current).
 */
export async function migrate(pool: pg.Pool, log: Logger, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  const client = await pool.connect();
  // A checked-out connection that dies without a word from the server (a network cut) emits
  // 'error', which would end the process unheard; the statement under way fails with it anyway.
  client.on('error', () => undefined);
  try {
    // Waiting for another replica's migrations, and a long migration, may take longer than the
    // pool's statement timeout allows a call; this session is discarded afterwards.
    await client.query('SET statement_timeout = 0');
    // A session lock, not a transaction one: it spans the migrations' own transactions.
    await client.query(longQuery('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]));
    return await applyPending(client, log, migrations);
  } finally {
    // Ending the session releases the lock too, even when something above failed.
    client.release(true);
  }
}

/** A statement the client waits for as long as a migration may take, not the pool's query_timeout. */
function longQuery(text: string, values: unknown[] = []): pg.QueryConfig {
  return { text, values, query_timeout: MIGRATION_TIMEOUT_MS } as pg.QueryConfig;
}
const MIGRATION_TIMEOUT_MS = 30 * 60_000;

async function applyPending(client: pg.PoolClient, log: Logger, migrations: readonly Migration[]): Promise<number[]> {
  await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
  )`);
  const { rows } = await client.query<{ version: number | null }>('SELECT MAX(version) AS version FROM schema_migrations');
  const current = rows[0]?.version ?? 0;
  const known = migrations.at(-1)?.version ?? 0;
  if (current > known) throw new SchemaTooNew(current, known);
  const applied: number[] = [];
  for (const migration of migrations.filter((m) => m.version > current)) {
    const started = performance.now();
    await client.query('BEGIN');
    try {
      await client.query(longQuery(migration.sql));
      await client.query('INSERT INTO schema_migrations (version, description) VALUES ($1, $2)', [migration.version, migration.description]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw new Error(`PostgreSQL migration ${migration.version} (${migration.description}) failed: ${(error as Error).message}`, { cause: error });
    }
    applied.push(migration.version);
    log.info({ version: migration.version, ms: Math.round(performance.now() - started) }, `PostgreSQL schema migrated to version ${migration.version}: ${migration.description}`);
  }
  if (applied.length === 0) log.info({ version: current }, `PostgreSQL schema is current (version ${current})`);
  return applied;
}
