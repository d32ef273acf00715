import { readFileSync } from 'node:fs';
import pg from 'pg';
import type { StoreProblemKind } from './store-health.ts';

/*
 * How Lookout connects to PostgreSQL: the URL (LOOKOUT_DATABASE_URL, with node-postgres's TLS
 * parameters), the password file, and timeouts that make a call fail in seconds while the
 * database is away instead of hanging a webhook or an outbox pass. The URL carries a password:
 * only redactDatabaseUrl's form of it is ever shown.
 */

export interface PostgresConnectionOptions {
  /** postgres:// or postgresql:// URL; TLS through its sslmode, sslrootcert, sslcert, sslkey parameters. */
  url: string;
  /** A file whose content (trimmed) is the password, overriding the URL's. Read when a pool or the LISTEN connection is set up (at start), not followed afterwards. */
  passwordFile?: string | undefined;
  /** Connections at most. Default 10. */
  poolSize?: number | undefined;
  /** Opening a connection gives up after this long (ms). Default 5 s. */
  connectTimeoutMs?: number | undefined;
  /** The server cancels a statement that runs longer (statement_timeout, ms). Default 10 s. */
  statementTimeoutMs?: number | undefined;
  /** The client gives up on an answer after this long (ms): a server that stopped answering mid-query. Default 15 s. */
  queryTimeoutMs?: number | undefined;
}

export const DEFAULT_POOL_SIZE = 10;

/** The schemes that select PostgreSQL (everything else in LOOKOUT_DATABASE_URL is refused). */
const SCHEMES = new Set(['postgres:', 'postgresql:']);

/** What is wrong with a LOOKOUT_DATABASE_URL, without repeating it (it may hold a password); undefined when usable. */
export function databaseUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a URL; expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=verify-full&sslrootcert=/path/ca.crt]';
  }
  if (!SCHEMES.has(parsed.protocol)) return `has scheme ${JSON.stringify(parsed.protocol.slice(0, 20))}; expected postgres:// or postgresql://`;
  if (parsed.hostname === '') return 'names no host; expected postgres://USER@HOST[:PORT]/DATABASE';
  if (parsed.pathname.length <= 1) return 'names no database; expected postgres://USER@HOST[:PORT]/DATABASE';
  const sslmode = parsed.searchParams.get('sslmode');
  if (sslmode !== null && !['disable', 'no-verify', 'prefer', 'require', 'verify-ca', 'verify-full'].includes(sslmode)) {
    return `has sslmode=${JSON.stringify(sslmode.slice(0, 20))}; expected disable, no-verify, require, verify-ca or verify-full`;
  }
  return undefined;
}

/** The URL as it may be shown: the password (in the user part or as a parameter) replaced by ***. */
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    if (parsed.searchParams.has('password')) parsed.searchParams.set('password', '***');
    return parsed.toString();
  } catch {
    return '(not a URL)';
  }
}

/** Reads the password file; a failure names the file and why, never what it holds. */
export function readPasswordFile(path: string): string {
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read the database password file ${path} (LOOKOUT_DATABASE_PASSWORD_FILE): ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  const password = content.trim();
  if (password === '') throw new Error(`the database password file ${path} (LOOKOUT_DATABASE_PASSWORD_FILE) is empty`);
  return password;
}

/** int8 (COUNT, BIGINT columns: ids and ms times) as a number: every such value Lookout stores is far below 2^53. */
const INT8_OID = 20;
function parseInt8(value: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed)) throw new Error(`a bigint from PostgreSQL does not fit a JavaScript number: ${value}`);
  return parsed;
}
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format))) as typeof pg.types.getTypeParser,
};

/**
 * The settings every connection of the store uses (the pool's and the change listener's): the
 * URL with the password file's password, the timeouts, keepalive, and int8 parsed to numbers.
 */
export function connectionSettings(options: PostgresConnectionOptions, applicationName: string): pg.ClientConfig {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    // Not the URL's own TypeError: it carries the input, password and all, to whoever logs it.
    throw new Error(`the database URL ${databaseUrlProblem(options.url) ?? 'is not usable'}`);
  }
  if (options.passwordFile !== undefined) {
    // In the URL itself: node-postgres lets the URL's fields override separate options.
    url.password = encodeURIComponent(readPasswordFile(options.passwordFile));
    url.searchParams.delete('password');
  }
  return {
    connectionString: url.toString(),
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    statement_timeout: options.statementTimeoutMs ?? 10_000,
    query_timeout: options.queryTimeoutMs ?? 15_000,
    // A replica stopped mid-transaction (SIGSTOP, a paused VM) must not hold its locks for ever.
    idle_in_transaction_session_timeout: 60_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    // The server's side of the same: a replica whose host froze or whose network went (no reset)
    // is dropped after ~25 s of unanswered probes, and its session's locks go with it — the inbox
    // fold's advisory lock is a session lock, which no transaction timeout would release.
    // Settable by any user; the URL's own `options` parameter, if any, takes precedence.
    options: '-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3',
    application_name: applicationName,
    types,
  };
}

/**
 * The pool. Its 'error' events (an idle connection dropped: the server restarted, a network cut)
 * go to `onIdleError`: without a listener they would end the process.
 */
export function createPostgresPool(options: PostgresConnectionOptions, onIdleError: (error: Error) => void): pg.Pool {
  const pool = new pg.Pool({ ...connectionSettings(options, 'lookout'), max: options.poolSize ?? DEFAULT_POOL_SIZE });
  pool.on('error', onIdleError);
  return pool;
}

/** Node's socket errors that mean the server cannot be reached. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** SQLSTATEs of a server that is going away, starting up, or full: class 08 is "connection exception". */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300']);
/**
 * node-postgres's own words for a connection that died or never came ("Connection terminated due
 * to connection timeout" included). Not pg-pool's "timeout exceeded when trying to connect": that
 * is a call that waited for one of the pool's connections, all busy, which is load, not an outage;
 * marking it would make every replica unready in a storm.
 */
const LOST_CONNECTION = /Connection terminated|Query read timeout|not queryable|connection error/i;

/** pg-pool's error for a call that waited its connect timeout for one of the pool's connections, all busy: load, not an outage. */
export function waitedForPool(error: unknown): boolean {
  return error instanceof Error && error.message === 'timeout exceeded when trying to connect';
}

/** The server answers but takes no writes (SQLSTATE 25006, or the probe found it so). */
export class ReadOnlyDatabase extends Error {
  readonly code = '25006';
  constructor() {
    super('PostgreSQL is read-only (a standby, e.g. after a failover, or default_transaction_read_only)');
    this.name = 'ReadOnlyDatabase';
  }
}

/**
 * Whether an error means the database cannot do the store's job (its health), and how to say so:
 * unreachable (it does not answer), or unwritable (it answers, read-only: a standby after a failover).
 */
export function connectionFailure(error: unknown): { kind: StoreProblemKind; reason: string } | undefined {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message : String(error);
  if (code === '25006') return { kind: 'unwritable', reason: `PostgreSQL takes no writes: ${text} (25006)` };
  const unreachable =
    (typeof code === 'string' && (SOCKET_CODES.has(code) || UNAVAILABLE_STATES.has(code) || code.startsWith('08'))) || LOST_CONNECTION.test(text);
  return unreachable ? { kind: 'unreachable', reason: `PostgreSQL unreachable: ${text}${typeof code === 'string' ? ` (${code})` : ''}` } : undefined;
}
