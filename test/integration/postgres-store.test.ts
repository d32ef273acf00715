import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mergeNotification } from '../../alerts/merge-group.ts';
import { foldInbox } from '../../src/fold-inbox.ts';
import { connectionFailure, createPostgresPool } from '../../src/state/postgres-connection.ts';
import { OUTBOX_READS, PostgresEngine } from '../../src/state/postgres-engine.ts';
import { MIGRATION_LOCK_KEY, MIGRATIONS } from '../../src/state/postgres-migrations.ts';
import { PostgresStore, type PostgresStoreOptions } from '../../src/state/postgres-store.ts';
import type { StoreProblem } from '../../src/state/store-health.ts';
import type { FoldSettings } from '../../src/state/store-transactions.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres-database.ts';
import { startPostgres, type Postgres } from '../support/servers/postgresql.ts';
import { Supervisor } from '../support/servers/processes.ts';
import { testServers } from '../support/servers/test-servers.ts';
import { TestAuthority } from '../support/test-certificates.ts';
import { waitFor } from '../support/free-port.ts';
import { startLookout, type LookoutProcess } from '../support/lookout-process.ts';
import { startLookoutTestBed, type LookoutTestBed } from '../support/lookout-test-bed.ts';
import { payload } from '../helpers/fakes.ts';

/*
 * Issue 16, the PostgreSQL store against a real PostgreSQL: migrations (first start, second
 * start, two replicas starting at once, a schema newer than this Lookout), the password file,
 * named transactions that conflict across connections (each ends as some order of them would),
 * and the database going away and coming back (a server of this file's own: the harness's server
 * is shared with other files and is never stopped here).
 */

const FOLD: FoldSettings = { routes: [], defaultChannel: 'CDEFAULT' };
const T = Date.parse('2026-01-01T00:00:00Z');

/** A logger whose lines the test can read (and search for secrets). */
function capturingLog(): { log: pino.Logger; lines: () => Array<Record<string, unknown>>; text: () => string } {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      out.push(chunk.toString());
      done();
    },
  });
  const log = pino({ level: 'debug' }, stream);
  return { log, lines: () => out.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>), text: () => out.join('') };
}

/** A TCP proxy to the database whose connections the test can cut without a word from the server. */
async function startCuttableProxy(target: URL): Promise<{ via: (url: string) => string; cut: () => void; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined).on('close', () => sockets.delete(socket));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    via: (url) => {
      const proxied = new URL(url);
      proxied.host = `127.0.0.1:${port}`;
      return proxied.toString();
    },
    cut: () => {
      for (const socket of sockets) socket.destroy();
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

const opened: PostgresStore[] = [];
const databases: TestDatabase[] = [];

function openStore(options: Partial<PostgresStoreOptions> & { url: string }): PostgresStore {
  const store = new PostgresStore({ log: pino({ level: 'silent' }), fold: FOLD, ...options });
  opened.push(store);
  return store;
}

async function freshDatabase(): Promise<TestDatabase> {
  const database = await createTestDatabase(testServers().postgres);
  databases.push(database);
  return database;
}

async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.store.close()));
});

afterAll(async () => {
  await Promise.all(databases.splice(0).map((database) => database.drop()));
});

describe('PostgreSQL store: migrations', () => {
  it('migrates an empty database to the newest version, once; a second start finds nothing to do', async () => {
    const database = await freshDatabase();
    const first = capturingLog();
    const store = openStore({ url: database.url, log: first.log });
    await store.opened();
    expect(store.store.ping()).toBeUndefined();
    const newest = MIGRATIONS.at(-1)!.version;
    const rows = await withClient(database.url, (client) => client.query<{ version: number; description: string }>('SELECT version, description FROM schema_migrations ORDER BY version'));
    expect(rows.rows.map((row) => row.version)).toEqual(MIGRATIONS.map((migration) => migration.version));
    expect(first.lines().filter((line) => /schema migrated to version/.test(String(line.msg)))).toHaveLength(MIGRATIONS.length);
    // Which database, without its password.
    const password = decodeURIComponent(new URL(database.url).password);
    expect(first.lines().find((line) => line.msg === 'state store: PostgreSQL')?.database).toBe(database.url.replace(encodeURIComponent(password), '***'));
    expect(first.text()).not.toContain(password);
    // The tables work: a group written now is there after a restart.
    const id = await store.store.addGroup('k', 'C1', mergeNotification(undefined, payload('k', [{ fingerprint: 'a' }])).state, T);
    await store.store.close();

    const second = capturingLog();
    const again = openStore({ url: database.url, log: second.log });
    await again.opened();
    expect(second.lines().some((line) => line.msg === `PostgreSQL schema is current (version ${newest})`)).toBe(true);
    expect(second.lines().some((line) => /schema migrated/.test(String(line.msg)))).toBe(false);
    expect((await again.store.groupById(id))?.groupKey).toBe('k');
    const count = await withClient(database.url, (client) => client.query<{ n: string }>('SELECT COUNT(*) AS n FROM schema_migrations'));
    expect(Number(count.rows[0]!.n)).toBe(MIGRATIONS.length);
  });

  it('its connection cut while waiting for another replica\'s migrations: no crash, the store says so, and migrates once it can', async () => {
    const database = await freshDatabase();
    const proxy = await startCuttableProxy(new URL(database.url));
    try {
      await withClient(database.url, async (holder) => {
        await holder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
        const store = openStore({ url: proxy.via(database.url) });
        const waiting = async (): Promise<number> =>
          (await holder.query("SELECT pid FROM pg_stat_activity WHERE application_name = 'lookout' AND wait_event_type = 'Lock'")).rowCount ?? 0;
        await expect.poll(waiting, { timeout: 5_000, interval: 50 }).toBe(1);
        // Closed without a word from the server (a network cut, a killed backend): the checked-out
        // connection emits 'error', which ends the process unless someone listens.
        proxy.cut();
        await store.opened();
        expect(store.store.ping()).toMatch(/PostgreSQL unreachable/);
        await holder.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
        await expect.poll(() => store.store.ping(), { timeout: 10_000, interval: 100 }).toBeUndefined();
      });
    } finally {
      await proxy.close();
    }
  });

  it('two replicas starting at once against one empty database both come up, and it is migrated once', async () => {
    const database = await freshDatabase();
    const logs = [capturingLog(), capturingLog(), capturingLog()];
    const stores = logs.map(({ log }) => openStore({ url: database.url, log }));
    await Promise.all(stores.map((store) => store.opened()));
    for (const store of stores) expect(store.store.ping()).toBeUndefined();
    const migratedBy = logs.filter(({ lines }) => lines().some((line) => /schema migrated to version 1/.test(String(line.msg))));
    expect(migratedBy).toHaveLength(1);
    // Each works on the shared tables.
    await Promise.all(stores.map((store, i) => store.store.addNotice('CSHARED', `from replica ${i}`, T + i)));
    expect(await stores[0]!.store.pendingNotices()).toBe(3);
  });

  it('refuses a database whose schema is newer than this Lookout knows, saying which versions and what to do', async () => {
    const database = await freshDatabase();
    const store = openStore({ url: database.url });
    await store.opened();
    await store.store.close();
    await withClient(database.url, (client) => client.query("INSERT INTO schema_migrations (version, description) VALUES (999, 'from the future')"));
    const newer = openStore({ url: database.url });
    const known = MIGRATIONS.at(-1)!.version;
    await expect(newer.opened()).rejects.toThrow(
      new RegExp(`schema is at version 999, but this Lookout knows versions up to ${known}: a newer Lookout migrated it\\. Run that newer Lookout`),
    );
  });
});

describe('PostgreSQL store: a database that answers but takes no writes', () => {
  it('read-only (as a standby after a failover): Lookout starts unwritable, says so, and recovers once it takes writes', async () => {
    const database = await freshDatabase();
    const first = openStore({ url: database.url });
    await first.opened();
    await first.store.close();
    await withClient(testServers().postgres.url, (client) => client.query(`ALTER DATABASE ${database.name} SET default_transaction_read_only = on`));
    const problems: Array<StoreProblem | undefined> = [];
    const store = openStore({ url: database.url, onHealthChange: (problem) => problems.push(problem) });
    let recovered = 0;
    store.store.onRecovered(() => (recovered += 1));
    await store.opened();
    expect(store.store.ping()).toMatch(/^state store: PostgreSQL takes no writes: .*read-only transaction \(25006\); retrying$/);
    expect(problems.at(-1)?.kind).toBe('unwritable');
    await withClient(testServers().postgres.url, (client) => client.query(`ALTER DATABASE ${database.name} RESET default_transaction_read_only`));
    await expect.poll(() => store.store.ping(), { timeout: 10_000, interval: 200 }).toBeUndefined();
    expect(recovered).toBe(1);
    expect(await store.store.addNotice('CRO', 'written', T)).toBeGreaterThan(0);
  }, 30_000);
});

describe('PostgreSQL store: a slow database', () => {
  it('a statement held up past statement_timeout fails alone: the store is not marked, the next call works', async () => {
    const database = await freshDatabase();
    const store = openStore({ url: database.url, statementTimeoutMs: 1_000 });
    await store.opened();
    await withClient(database.url, async (blocker) => {
      // Another session holds the table: every statement on it waits, as on an overloaded database.
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE notices IN ACCESS EXCLUSIVE MODE');
      const started = Date.now();
      await expect(store.store.pendingNotices()).rejects.toThrow(/canceling statement due to statement timeout/);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(store.store.ping()).toBeUndefined();
      await blocker.query('ROLLBACK');
    });
    expect(await store.store.pendingNotices()).toBe(0);
  });
});

describe('PostgreSQL store: the password file', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lookout-pg-password-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a URL without a password and the password in a file: connects', async () => {
    const database = await freshDatabase();
    const url = new URL(database.url);
    const password = decodeURIComponent(url.password);
    url.password = '';
    const file = join(dir, 'password');
    writeFileSync(file, `${password}\n`);
    const store = openStore({ url: url.toString(), passwordFile: file });
    await store.opened();
    expect(store.store.ping()).toBeUndefined();
    expect(await store.store.pendingNotices()).toBe(0);
  });

  it('the file overrides a password in the URL', async () => {
    const database = await freshDatabase();
    const url = new URL(database.url);
    const file = join(dir, 'override');
    writeFileSync(file, decodeURIComponent(url.password));
    url.password = 'not-the-password';
    const store = openStore({ url: url.toString(), passwordFile: file });
    await store.opened();
    expect(store.store.ping()).toBeUndefined();
  });

  it('a missing file, or a wrong password in it: a clear error that does not show the password', async () => {
    const database = await freshDatabase();
    const url = new URL(database.url);
    url.password = '';
    expect(() => openStore({ url: url.toString(), passwordFile: join(dir, 'missing') })).toThrow(/cannot read the database password file .*missing \(LOOKOUT_DATABASE_PASSWORD_FILE\): ENOENT/);

    const wrong = 'wrong-Pa55word-xyz';
    const file = join(dir, 'wrong');
    writeFileSync(file, wrong);
    const { log, text } = capturingLog();
    const store = openStore({ url: url.toString(), passwordFile: file, log });
    const error = await store.opened().then(
      () => undefined,
      (caught: unknown) => caught as Error,
    );
    expect(error?.message).toMatch(/password authentication failed for user "postgres"/);
    expect(error?.message).not.toContain(wrong);
    expect(text()).not.toContain(wrong);
    expect(store.store.ping()).toMatch(/starting/);
  });
});

describe('PostgreSQL store: conflicting transactions on several connections', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await freshDatabase();
  });

  /** Transactions re-run after a conflict, over every store of this block (see `onConflict`). */
  let conflicts = 0;

  /** Two stores (as two replicas) on one database. */
  async function replicas(count = 2): Promise<PostgresStore[]> {
    const stores = Array.from({ length: count }, () => openStore({ url: database.url, onConflict: () => (conflicts += 1) }));
    await Promise.all(stores.map((store) => store.opened()));
    return stores;
  }

  it('the same Slack delivery claimed at once on several connections: exactly one claim wins (the others conflict, run again, and see it)', async () => {
    const stores = await replicas(2);
    conflicts = 0;
    for (let round = 0; round < 5; round += 1) {
      const claim = { keys: [`envelope:E${round}`, `action:U1:${round}.5`], at: T, forgetBefore: T - 3_600_000 };
      const results = await Promise.all(stores.flatMap((store) => [store.store.claimSlackDelivery(claim), store.store.claimSlackDelivery(claim), store.store.claimSlackDelivery(claim)]));
      expect(results.filter(Boolean)).toHaveLength(1);
    }
    expect(conflicts).toBeGreaterThan(0);
  });

  it('two acknowledgements of one group at once: one changes it, the other is told why not', async () => {
    const [a, b] = await replicas(2);
    const key = 'ack-race';
    const id = await a!.store.addGroup(key, 'CACK', mergeNotification(undefined, payload(key, [{ fingerprint: 'x' }])).state, T);
    const answers = await Promise.all([
      a!.store.changeAcknowledgement({ groupId: id, acknowledge: true, by: 'U1', at: T + 1 }),
      b!.store.changeAcknowledgement({ groupId: id, acknowledge: true, by: 'U2', at: T + 2 }),
    ]);
    expect(answers.filter((answer) => answer === undefined)).toHaveLength(1);
    expect(answers.find((answer) => answer !== undefined)).toMatch(/Already acknowledged by <@U[12]>/);
    const group = await a!.store.groupById(id);
    expect(group?.version).toBe(2);
    expect(['U1', 'U2']).toContain(group?.state.acknowledged?.by);
  });

  it('an Alertmanager HA pair: the same notifications folded by two replicas at once make one group, once', async () => {
    const [a, b] = await replicas(2);
    const key = 'ha-pair';
    const notification = payload(key, [{ fingerprint: 'p' }]);
    await a!.store.addNotifications([{ payload: notification, receivedAt: T }]);
    await b!.store.addNotifications([{ payload: notification, receivedAt: T + 1 }]);
    conflicts = 0;
    const folds = await Promise.all([a!.store.foldInbox(100), b!.store.foldInbox(100), a!.store.foldInbox(100), b!.store.foldInbox(100)]);
    expect(folds.reduce((sum, fold) => sum + fold.changed, 0)).toBe(1);
    expect((await a!.store.latestGroup(key))?.version).toBe(1);
    expect((await a!.store.storedRows()).notifications).toBe(0);
    // The folds took turns under their advisory lock: none was cancelled by another.
    expect(conflicts).toBe(0);
  });

  it('a group key, reply and notice holding NUL and backslashes (PostgreSQL text cannot hold NUL): folded and read back exactly', async () => {
    const [a] = await replicas(1);
    const key = '{}:{disk="sda\u0000\\0 \\\\ \\"}';
    await a!.store.addNotifications([{ payload: payload(key, [{ fingerprint: 'nul' }]), receivedAt: T }]);
    expect((await a!.store.foldInbox(100)).changed).toBe(1);
    const group = (await a!.store.latestGroup(key))!;
    expect(group.groupKey).toBe(key);
    await a!.store.markMessageDelivered(group.id, '42.0001', 1);
    await a!.store.addReply(group.id, key, T);
    expect((await a!.store.nextReplyPerChannel(T + 1)).find((reply) => reply.groupId === group.id)?.text).toBe(key);
    const notice = await a!.store.addNotice('CNUL', `audit ${key}`, T);
    expect((await a!.store.nextNoticePerChannel(T + 1)).find((found) => found.id === notice)?.text).toBe(`audit ${key}`);
  });

  it('a lease claimed by two replicas at once is held by one; it passes on when it expires or is released', async () => {
    const [a, b] = await replicas(2);
    const names = ['channel:CL1', 'channel:CL2', 'job:digest'];
    const [byA, byB] = await Promise.all([a!.store.claimLeases(names, 'replica-a', T, 10_000), b!.store.claimLeases([...names].reverse(), 'replica-b', T, 10_000)]);
    expect([...byA, ...byB].sort()).toEqual([...names].sort());
    for (const name of names) expect((await a!.store.leaseHolder(name, T + 1))?.owner).toBe(byA.includes(name) ? 'replica-a' : 'replica-b');
    // Renewal by the holder; the other cannot take it before it expires, and can after.
    const holder = byA.includes('job:digest') ? { store: a!, owner: 'replica-a' } : { store: b!, owner: 'replica-b' };
    const other = holder.store === a ? { store: b!, owner: 'replica-b' } : { store: a!, owner: 'replica-a' };
    expect(await holder.store.store.claimLeases(['job:digest', 'job:digest'], holder.owner, T + 5_000, 10_000)).toEqual(['job:digest']);
    expect(await other.store.store.claimLeases(['job:digest'], other.owner, T + 14_999, 10_000)).toEqual([]);
    expect(await other.store.store.claimLeases(['job:digest'], other.owner, T + 15_000, 10_000)).toEqual(['job:digest']);
    expect(await other.store.store.leaseHolder('job:digest', T + 15_001)).toEqual({ name: 'job:digest', owner: other.owner, expiresAt: T + 25_000 });
    await other.store.store.releaseLeases(other.owner);
    expect(await holder.store.store.leaseHolder('job:digest', T + 15_002)).toBeUndefined();
  });

  it('a pending interaction claimed from two replicas at once is used once, by its owner only', async () => {
    const [a, b] = await replicas(2);
    const entry = { id: 'pi-race', kind: 'confirmation', owner: 'U1:C1', value: { plan: [1, 2] }, expiresAt: T + 60_000 };
    await a!.store.addPendingInteraction(entry, T, 100);
    expect(await b!.store.claimPendingInteraction('pi-race', 'confirmation', 'U2:C1', T + 1)).toBeUndefined();
    expect(await b!.store.peekPendingInteraction('pi-race', 'confirmation', T + 1)).toEqual(entry);
    const claims = await Promise.all([a!.store.claimPendingInteraction('pi-race', 'confirmation', 'U1:C1', T + 2), b!.store.claimPendingInteraction('pi-race', 'confirmation', 'U1:C1', T + 2)]);
    expect(claims.filter((claim) => claim !== undefined)).toEqual([entry]);
  });

  it('the outbox reads walk their indexes: no sequential scan, however the groups are spread', async () => {
    const [a] = await replicas(1);
    await withClient(database.url, async (client) => {
      // Thousands of unsent groups over 50 channels, and statistics about them.
      await client.query(`INSERT INTO groups (group_key, channel, state, version, changed_at)
        SELECT 'plan-' || i, 'CPLAN' || (i % 50), '{"alerts":[]}', 1, ${T} FROM generate_series(1, 5000) AS i`);
      await client.query('ANALYZE groups');
      for (const sql of [OUTBOX_READS.messages, OUTBOX_READS.details, OUTBOX_READS.replies, OUTBOX_READS.notices]) {
        const plan = (await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql.replaceAll('$1', String(T))}`)).rows.map((row) => row['QUERY PLAN']).join('\n');
        expect(plan).not.toMatch(/Seq Scan on groups/);
      }
    });
    expect((await a!.store.nextMessagePerChannel(T + 1)).filter((group) => group.channel.startsWith('CPLAN'))).toHaveLength(50);
  });
});

describe('PostgreSQL store: close', () => {
  it('resolves once its connections have ended: the database dropped right after logs no failed connection', async () => {
    const database = await createTestDatabase(testServers().postgres);
    const captured = capturingLog();
    const store = new PostgresStore({ url: database.url, log: captured.log, fold: FOLD });
    // The pool's connections, to see whether each has ended when close() resolves (the pool is the store's own).
    const sockets: Array<{ destroyed: boolean }> = [];
    (store as unknown as { pool: pg.Pool }).pool.on('connect', (client) => sockets.push((client as unknown as { connection: { stream: { destroyed: boolean } } }).connection.stream));
    await store.opened();
    // Several calls at once: the pool opens several connections.
    await Promise.all(Array.from({ length: 6 }, () => store.store.storedRows()));
    expect(sockets.length).toBeGreaterThan(1);
    await store.store.close();
    expect(sockets.filter((socket) => !socket.destroyed)).toEqual([]);
    await database.drop();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(captured.lines().filter((line) => (line.level as number) >= 40)).toEqual([]);
  });
});

describe('PostgreSQL engine: work a transaction started that outlives it', () => {
  it('runs on its own connection, not on the one the ended transaction gave back to the pool', async () => {
    const database = await freshDatabase();
    await openStore({ url: database.url }).opened();
    const pool = createPostgresPool({ url: database.url }, () => undefined);
    const engine = new PostgresEngine({ pool });
    try {
      let later: Promise<number> | undefined;
      await engine.transaction(async () => {
        await engine.addNotification(payload('inside', [{ fingerprint: 'i' }]), T);
        // A timer set inside the transaction carries its context (as the store health's probe does).
        later = new Promise<number>((resolve, reject) => {
          setTimeout(() => void engine.transaction(() => engine.addNotification(payload('later', [{ fingerprint: 'l' }]), T)).then(resolve, reject), 50);
        });
      });
      await expect(later).resolves.toBeGreaterThan(0);
      expect((await engine.pendingNotifications(10)).map((notification) => notification.payload.groupKey)).toEqual(['inside', 'later']);
    } finally {
      await pool.end();
    }
  });
});

describe('PostgreSQL store: a replica that vanishes without a reset', () => {
  it('asks the server to probe its connections, so a frozen host\'s session (and its session locks) is dropped in ~25 s, not TCP\'s 2 h', async () => {
    const database = await freshDatabase();
    const pool = createPostgresPool({ url: database.url }, () => undefined);
    try {
      const { rows } = await pool.query<{ idle: string; interval: string; count: string }>(
        "SELECT current_setting('tcp_keepalives_idle') AS idle, current_setting('tcp_keepalives_interval') AS interval, current_setting('tcp_keepalives_count') AS count",
      );
      expect(rows[0]).toEqual({ idle: '10', interval: '5', count: '3' });
    } finally {
      await pool.end();
    }
  });
});

describe('PostgreSQL engine: the fold\'s advisory lock', () => {
  it('a lock wait the client gave up on (query_timeout) is not granted later to a pooled session', async () => {
    const database = await freshDatabase();
    await openStore({ url: database.url }).opened();
    const pool = createPostgresPool({ url: database.url, queryTimeoutMs: 300 }, () => undefined);
    const engine = new PostgresEngine({ pool });
    const key = 4242;
    try {
      await withClient(database.url, async (holder) => {
        await holder.query('SELECT pg_advisory_lock($1)', [key]);
        await expect(engine.transaction(() => engine.pendingNotifications(1), key)).rejects.toThrow(/Query read timeout/);
        await holder.query('SELECT pg_advisory_unlock($1)', [key]);
      });
      // Had the waiting session gone back to the pool, the server would now grant it the lock, for good.
      await new Promise((resolve) => setTimeout(resolve, 500));
      await withClient(database.url, async (other) => {
        expect((await other.query<{ taken: boolean }>('SELECT pg_try_advisory_lock($1) AS taken', [key])).rows[0]?.taken).toBe(true);
      });
    } finally {
      await pool.end();
    }
  });
});

describe('PostgreSQL store on a server of its own: the database going away, frozen, coming back; TLS', () => {
  let dir: string;
  const supervisor = new Supervisor();
  let server: Postgres;
  let database: TestDatabase;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lookout-pg-restart-'));
    // PostgreSQL runs as user postgres when the tests run as root: it must reach the directory.
    chmodSync(dir, 0o755);
    server = await startPostgres({ dir: join(dir, 'run'), supervisor });
    database = await createTestDatabase(server);
  }, 60_000);

  afterAll(async () => {
    await supervisor.stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it('down: ping() names it, calls fail within their timeout, nothing crashes; back: ping() clears, onRecovered runs, calls work', async () => {
    const problems: Array<StoreProblem | undefined> = [];
    const store = openStore({ url: database.url, connectTimeoutMs: 1_000, queryTimeoutMs: 2_000, onHealthChange: (problem) => problems.push(problem) });
    await store.opened();
    const id = await store.store.addGroup('survivor', 'CDOWN', mergeNotification(undefined, payload('survivor', [{ fingerprint: 's' }])).state, T);
    let recovered = 0;
    store.store.onRecovered(() => (recovered += 1));

    await server.stop();
    const started = Date.now();
    await expect(store.store.groupById(id)).rejects.toSatisfy((error: unknown) => connectionFailure(error) !== undefined);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(store.store.ping()).toMatch(/^state store: PostgreSQL unreachable: .*; retrying$/);
    expect(problems.at(-1)?.kind).toBe('unreachable');
    // A named transaction fails as fast, and leaves nothing half done.
    await expect(store.store.addNotifications([{ payload: payload('lost', [{ fingerprint: 'l' }]), receivedAt: T }])).rejects.toThrow();
    // Probes keep failing while it is down: still unreachable a few seconds later.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(store.store.ping()).toMatch(/unreachable/);
    expect(recovered).toBe(0);

    await server.start();
    await expect.poll(() => store.store.ping(), { timeout: 10_000, interval: 200 }).toBeUndefined();
    expect(recovered).toBe(1);
    expect(problems.at(-1)).toBeUndefined();
    expect((await store.store.groupById(id))?.groupKey).toBe('survivor');
    expect((await store.store.storedRows()).notifications).toBe(0);
    await store.store.addNotifications([{ payload: payload('after', [{ fingerprint: 'n' }]), receivedAt: T }]);
    expect((await store.store.storedRows()).notifications).toBe(1);
  }, 60_000);

  it('down while a notification cannot be folded: nothing is quarantined, every notification stays; back: only that one is set aside', async () => {
    // A database of its own: the inbox of the block's one holds what earlier cases left there.
    const own = await createTestDatabase(server);
    const store = openStore({ url: own.url, connectTimeoutMs: 1_000, queryTimeoutMs: 2_000 });
    await store.opened();
    const keys = ['pg-q-1', 'pg-q-2', 'pg-q-3'];
    // Merging it throws every time: no alerts array.
    const poison = { ...payload(keys[1]!, [{ fingerprint: 'a' }]), alerts: null } as unknown as ReturnType<typeof payload>;
    await store.store.addNotifications(keys.map((key, i) => ({ payload: i === 1 ? poison : payload(key, [{ fingerprint: 'a' }]), receivedAt: T + i })));
    let quarantined = 0;
    const fold = () => foldInbox({ store: store.store, log: pino({ level: 'silent' }), onQuarantined: () => (quarantined += 1) });

    await server.stop();
    await expect(fold()).rejects.toSatisfy((error: unknown) => connectionFailure(error) !== undefined);
    expect(store.store.ping()).toMatch(/unreachable/);
    expect(quarantined).toBe(0);

    await server.start();
    await expect.poll(() => store.store.ping(), { timeout: 10_000, interval: 200 }).toBeUndefined();
    expect((await store.store.pendingNotifications(10)).map((entry) => entry.payload.groupKey)).toEqual(keys);
    expect(await store.store.quarantinedNotifications()).toEqual({ count: 0, oldestReceivedAt: null });
    expect(await fold()).toBe(2);
    expect(quarantined).toBe(1);
    expect(await store.store.quarantinedNotifications()).toEqual({ count: 1, oldestReceivedAt: T + 1 });
    expect(await store.store.pendingNotifications(10)).toEqual([]);
  }, 60_000);

  it('a connection lost inside a named transaction: what recovery wakes (the inbox fold) runs on a connection of its own', async () => {
    // A database of its own: what recovery folds stays out of the block's shared inbox.
    const own = await createTestDatabase(server);
    const store = openStore({ url: own.url, connectTimeoutMs: 1_000, queryTimeoutMs: 2_000 });
    await store.opened();
    // As Lookout's inbox does: recovery wakes a fold, a named transaction.
    const afterRecovery: Array<Promise<unknown>> = [];
    store.store.onRecovered(() => afterRecovery.push(store.store.addNotifications([{ payload: payload('woken', [{ fingerprint: 'w' }]), receivedAt: T }])));

    // The transaction waits on a lock inside its work; its connection is then ended under it
    // (57P01), so the failure, and the health probe's timer it sets, happen inside the transaction.
    await withClient(own.url, (locker) =>
      withClient(own.url, async (admin) => {
        await locker.query('BEGIN');
        await locker.query('LOCK TABLE notifications IN ACCESS EXCLUSIVE MODE');
        const lost = store.store.addNotifications([{ payload: payload('lost', [{ fingerprint: 'l' }]), receivedAt: T }]);
        const waiting = async (): Promise<number[]> =>
          (await admin.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = 'lookout' AND wait_event_type = 'Lock'")).rows.map((row) => row.pid);
        await expect.poll(waiting, { timeout: 5_000, interval: 50 }).toHaveLength(1);
        await admin.query('SELECT pg_terminate_backend($1)', [(await waiting())[0]]);
        await expect(lost).rejects.toSatisfy((error: unknown) => connectionFailure(error)?.kind === 'unreachable');
        await locker.query('ROLLBACK');
      }),
    );
    await expect.poll(() => afterRecovery.length, { timeout: 10_000, interval: 100 }).toBe(1);
    await afterRecovery[0];
    expect(store.store.ping()).toBeUndefined();
    expect((await store.store.pendingNotifications(10)).map((notification) => notification.payload.groupKey)).toContain('woken');
  }, 60_000);

  it('frozen (every server process stopped mid-flight): calls give up within their timeouts, ping() names it; thawed: back by itself', async () => {
    const store = openStore({ url: database.url, connectTimeoutMs: 1_000, queryTimeoutMs: 2_000 });
    await store.opened();
    let recovered = 0;
    store.store.onRecovered(() => (recovered += 1));
    expect(await store.store.pendingNotices()).toBeGreaterThanOrEqual(0);
    // SIGSTOP to this file's own server and its backends (each backend leads a process group of its
    // own, so the postmaster's group is not enough): connections stay open, nothing answers.
    const frozen = [server.process.pid, ...execFileSync('ps', ['-o', 'pid=', '--ppid', String(server.process.pid)], { encoding: 'utf8' }).split(/\s+/).filter(Boolean).map(Number)];
    for (const pid of frozen) process.kill(pid, 'SIGSTOP');
    try {
      const started = Date.now();
      const calls = await Promise.allSettled([
        store.store.pendingNotices(),
        store.store.addNotifications([{ payload: payload('frozen', [{ fingerprint: 'z' }]), receivedAt: T }]),
        store.store.claimLeases(['job:frozen'], 'replica-a', T, 10_000),
      ]);
      expect(calls.map((call) => call.status)).toEqual(['rejected', 'rejected', 'rejected']);
      // query_timeout (2 s), and for the transaction its ROLLBACK's as well: never the 10 s+ of a hang.
      expect(Date.now() - started).toBeLessThan(7_000);
      expect(store.store.ping()).toMatch(/PostgreSQL unreachable/);
    } finally {
      for (const pid of frozen) process.kill(pid, 'SIGCONT');
    }
    await expect.poll(() => store.store.ping(), { timeout: 10_000, interval: 200 }).toBeUndefined();
    expect(recovered).toBe(1);
    expect(await store.store.claimLeases(['job:thawed'], 'replica-a', T, 10_000)).toEqual(['job:thawed']);
  }, 60_000);

  it('Lookout on it: webhooks 503 and /readyz false naming PostgreSQL while it is down; back: accepted, every answered webhook posted once', async () => {
    const fresh = await createTestDatabase(server);
    const url = new URL(fresh.url);
    const password = decodeURIComponent(url.password);
    let bed: LookoutTestBed | undefined;
    let lookout: LookoutProcess | undefined;
    try {
      bed = await startLookoutTestBed({ slack: { channels: ['C0ALERTS'] } });
      writeFileSync(join(bed.dir, 'db-password'), password);
      url.password = '';
      lookout = await startLookout({ ...bed.env, LOOKOUT_DATABASE_URL: url.toString(), LOOKOUT_DATABASE_PASSWORD_FILE: join(bed.dir, 'db-password') });
      const post = (key: string) =>
        fetch(`${lookout!.url}/alertmanager`, {
          method: 'POST',
          headers: { authorization: `Bearer ${bed!.webhookToken}`, 'content-type': 'application/json' },
          body: JSON.stringify(payload(key, [{ fingerprint: key }])),
        });
      const metric = async () => Number(/^lookout_state_store_problem\{kind="unreachable"\} (\d+)$/m.exec(await (await fetch(`${lookout!.url}/metrics`)).text())?.[1]);
      const posted = (key: string) => bed!.slack.messages('C0ALERTS').filter((message) => JSON.stringify(message).includes(`summary of ${key}`));
      const accepted: string[] = [];
      for (let i = 0; i < 5; i++) {
        expect((await post(`before-${i}`)).status).toBe(200);
        accepted.push(`before-${i}`);
      }
      await waitFor('the first posts', () => (accepted.every((key) => posted(key).length === 1) ? true : undefined), 30_000);

      await server.stop();
      await waitFor('the store to notice', async () => ((await fetch(`${lookout!.url}/readyz`)).status === 503 ? true : undefined), 20_000);
      const readyz = await (await fetch(`${lookout.url}/readyz`)).text();
      expect(readyz).toMatch(/PostgreSQL unreachable/);
      expect(await metric()).toBe(1);
      for (let i = 0; i < 5; i++) {
        const res = await post(`down-${i}`);
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      }
      expect((await fetch(`${lookout.url}/healthz`)).status).toBe(200);

      await server.start();
      await waitFor('readiness again', async () => ((await fetch(`${lookout!.url}/readyz`)).status === 200 ? true : undefined), 20_000);
      expect(await metric()).toBe(0);
      // Alertmanager retries what got 503: those arrive now.
      for (let i = 0; i < 5; i++) {
        expect((await post(`down-${i}`)).status).toBe(200);
        accepted.push(`down-${i}`);
      }
      await waitFor('every accepted notification in Slack', () => (accepted.every((key) => posted(key).length >= 1) ? true : undefined), 30_000);
      for (const key of accepted) expect(posted(key)).toHaveLength(1);
      expect(await lookout.stop()).toBe(0);
      expect(lookout.output()).not.toContain(password);
      lookout = undefined;
    } finally {
      await lookout?.kill();
      await bed?.close();
    }
  }, 120_000);

  it('Lookout started while its database is down: listening, unready naming PostgreSQL, and ready once it answers', async () => {
    const fresh = await createTestDatabase(server);
    let bed: LookoutTestBed | undefined;
    let lookout: LookoutProcess | undefined;
    await server.stop();
    try {
      bed = await startLookoutTestBed();
      lookout = await startLookout({ ...bed.env, LOOKOUT_DATABASE_URL: fresh.url }, undefined, { until: 'listening' });
      const readyz = await fetch(`${lookout.url}/readyz`);
      expect(readyz.status).toBe(503);
      expect(await readyz.text()).toMatch(/PostgreSQL unreachable/);
      await server.start();
      await waitFor('readiness', async () => ((await fetch(`${lookout!.url}/readyz`)).status === 200 ? true : undefined), 20_000);
      expect(lookout.output()).toMatch(/PostgreSQL cannot be reached at start/);
      expect(lookout.output()).toMatch(/PostgreSQL schema migrated to version 1/);
      expect(lookout.output()).not.toContain(new URL(fresh.url).password);
      expect(await lookout.stop()).toBe(0);
      lookout = undefined;
    } finally {
      if (!server.process.running()) await server.start();
      await lookout?.kill();
      await bed?.close();
    }
  }, 90_000);

  it('down at start: Lookout starts anyway and says so; it migrates and works once the database answers', async () => {
    const fresh = await createTestDatabase(server);
    await server.stop();
    const { log, text } = capturingLog();
    const store = openStore({ url: fresh.url, connectTimeoutMs: 1_000, log });
    let recovered = 0;
    store.store.onRecovered(() => (recovered += 1));
    await store.opened();
    expect(store.store.ping()).toMatch(/PostgreSQL unreachable/);
    expect(text()).toMatch(/PostgreSQL cannot be reached at start/);
    await expect(store.store.pendingNotices()).rejects.toThrow(/PostgreSQL unreachable/);

    await server.start();
    await expect.poll(() => store.store.ping(), { timeout: 10_000, interval: 200 }).toBeUndefined();
    expect(recovered).toBe(1);
    expect(text()).toMatch(/schema migrated to version 1/);
    expect(await store.store.pendingNotices()).toBe(0);
    expect(text()).not.toContain(new URL(fresh.url).password);
  }, 60_000);
  it('TLS through the URL: verify-full with sslrootcert encrypts and checks the server; a server the CA did not sign is refused', async () => {
    const authority = await TestAuthority.root('Lookout test database CA');
    const stranger = await TestAuthority.root('Someone else');
    try {
      const now = Date.now();
      const certificate = await authority.issue({ commonName: '127.0.0.1', sans: ['IP:127.0.0.1', 'DNS:localhost'], notBefore: new Date(now - 86_400_000), notAfter: new Date(now + 86_400_000) });
      // The server's files, owned by whoever runs it (PostgreSQL refuses a key others can read).
      const owner = statSync(server.socketDir);
      for (const [name, pem] of [['server.crt', certificate.certPem], ['server.key', certificate.keyPem]] as const) {
        writeFileSync(join(server.socketDir, name), pem, { mode: 0o600 });
        chownSync(join(server.socketDir, name), owner.uid, owner.gid);
      }
      await withClient(server.url, async (client) => {
        await client.query(`ALTER SYSTEM SET ssl_cert_file = '${join(server.socketDir, 'server.crt')}'`);
        await client.query(`ALTER SYSTEM SET ssl_key_file = '${join(server.socketDir, 'server.key')}'`);
        await client.query('ALTER SYSTEM SET ssl = on');
        await client.query('SELECT pg_reload_conf()');
      });
      const caFile = join(dir, 'ca.crt');
      writeFileSync(caFile, authority.certificate.certPem);
      const strangerFile = join(dir, 'stranger.crt');
      writeFileSync(strangerFile, stranger.certificate.certPem);
      const withParams = (params: string) => `${database.url}?${params}`;
      const usesTls = async (url: string) => {
        const pool = createPostgresPool({ url }, () => undefined);
        try {
          return (await pool.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows[0]?.ssl;
        } finally {
          await pool.end();
        }
      };
      await expect.poll(() => usesTls(withParams(`sslmode=verify-full&sslrootcert=${caFile}`)), { timeout: 10_000 }).toBe(true);
      expect(await usesTls(database.url)).toBe(false);
      await expect(usesTls(withParams(`sslmode=verify-full&sslrootcert=${strangerFile}`))).rejects.toThrow(/certificate/);

      const store = openStore({ url: withParams(`sslmode=verify-full&sslrootcert=${caFile}`) });
      await store.opened();
      expect(store.store.ping()).toBeUndefined();
      // A server Lookout cannot trust is a configuration error, not an outage: it does not start.
      const refused = openStore({ url: withParams(`sslmode=verify-full&sslrootcert=${strangerFile}`) });
      await expect(refused.opened()).rejects.toThrow(/certificate/);
    } finally {
      authority.close();
      stranger.close();
    }
  }, 60_000);
});
