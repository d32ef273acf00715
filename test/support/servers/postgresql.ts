import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './ports.ts';
import type { ManagedProcess, Supervisor } from './processes.ts';
import { waitUntilReady } from './readiness.ts';

const run = promisify(execFile);

/** Where Debian's `postgresql` package puts the server binaries: /usr/lib/postgresql/<major>/bin. */
const DEBIAN_ROOT = '/usr/lib/postgresql';

/**
 * The account the server runs as when the harness is root: PostgreSQL refuses to run as root
 * (initdb and postgres both exit with "cannot be run as root"), and Debian's package creates
 * this system user. Not root: the server runs as whoever runs the tests.
 */
const SERVICE_USER = 'postgres';

export interface PostgresOptions {
  dir: string;
  supervisor: Supervisor;
}

export interface Postgres {
  /** postgres://postgres:<password>@127.0.0.1:PORT/postgres */
  url: string;
  host: '127.0.0.1';
  port: number;
  /** The superuser, with password (scram-sha-256) authentication, over TCP and the socket alike. */
  user: 'postgres';
  password: string;
  database: 'postgres';
  /** Directory of the unix socket (`.s.PGSQL.<port>`), in the run directory. */
  socketDir: string;
  /** The running server: a new one after each `start()`. */
  readonly process: ManagedProcess;
  /**
   * Stops the server as `pg_ctl stop` does by default (fast shutdown: open sessions are ended, not
   * waited for), for tests of a database that goes away; resolves once it has exited.
   */
  stop(): Promise<void>;
  /** Starts the stopped server again, on the same data and port; resolves once it accepts logins. */
  start(): Promise<void>;
}

/**
 * A throwaway PostgreSQL server from Debian's package: `initdb` in `<dir>/postgresql/data`, then
 * `postgres` listening on 127.0.0.1 only (a free port) and on a unix socket in `<dir>/postgresql`,
 * with password authentication for everything, including the superuser `postgres` (a random
 * password per run). Durability is switched off (fsync, synchronous_commit, full_page_writes):
 * the data dies with the run, and each fsync would cost the whole tier time on a shared disk.
 */
export async function startPostgres({ dir, supervisor }: PostgresOptions): Promise<Postgres> {
  const bin = postgresBinDir();
  const home = join(dir, 'postgresql');
  const data = join(home, 'data');
  mkdirSync(dir, { recursive: true });
  mkdirSync(home, { mode: 0o700 });
  const asUser = serviceAccount(home);
  const password = randomBytes(18).toString('base64url');
  const passwordFile = join(home, 'superuser-password');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  if (asUser) chownSync(passwordFile, asUser.uid, asUser.gid);
  try {
    await run(
      ...command(asUser, join(bin, 'initdb'), [
        `--pgdata=${data}`,
        '--username=postgres',
        `--pwfile=${passwordFile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
        // The files need not reach the disk: the cluster lives as long as the run.
        '--no-sync',
        '--no-instructions',
      ]),
      { timeout: 60_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C' } },
    );
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    const reach = asUser ? ` (run as user ${SERVICE_USER}, who must be able to reach ${home}: every parent directory searchable by others)` : '';
    throw new Error(`initdb failed${reach}: ${stderr?.trim() || (error as Error).message}`, { cause: error });
  } finally {
    rmSync(passwordFile, { force: true });
  }

  const port = await freePort();
  const settings = {
    listen_addresses: '127.0.0.1',
    port: String(port),
    unix_socket_directories: home,
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    log_min_messages: 'warning',
  };
  const [executable, args] = command(asUser, join(bin, 'postgres'), ['-D', data, ...Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`])]);
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  const launch = async (): Promise<ManagedProcess> => {
    const server = supervisor.start({
      name: 'postgresql',
      command: executable,
      args,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C' },
      logFile: join(dir, 'postgresql.log'),
      // Fast shutdown. SIGTERM is "smart": it waits for every client to disconnect, and a
      // connection pool never does.
      stopSignal: 'SIGINT',
      stopTimeoutMs: 5_000,
    });
    await waitUntilReady(server, () => canLogIn(url), 30_000);
    return server;
  };
  let server = await launch();
  return {
    url,
    host: '127.0.0.1',
    port,
    user: 'postgres',
    password,
    database: 'postgres',
    socketDir: home,
    get process() {
      return server;
    },
    stop: () => supervisor.stop(server),
    async start() {
      if (server.running()) throw new Error(`PostgreSQL (pid ${server.pid}) is already running`);
      server = await launch();
    },
  };
}

/** The newest major version Debian's package installed. */
function postgresBinDir(): string {
  const majors = existsSync(DEBIAN_ROOT)
    ? readdirSync(DEBIAN_ROOT)
        .filter((name) => /^\d+$/.test(name) && existsSync(join(DEBIAN_ROOT, name, 'bin/postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = majors[0];
  if (newest === undefined) throw new Error(`PostgreSQL is not installed (no ${DEBIAN_ROOT}/<version>/bin/postgres): run test/support/install-debian-packages.sh (Debian package postgresql)`);
  return join(DEBIAN_ROOT, newest, 'bin');
}

/** As root: the service user, given `home`; otherwise undefined (run as ourselves). */
function serviceAccount(home: string): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = (flag: string) => {
    try {
      return Number(execFileSync('id', [flag, SERVICE_USER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    } catch {
      throw new Error(`the tests run as root, and PostgreSQL refuses root: user ${SERVICE_USER} is needed (Debian's postgresql package creates it)`);
    }
  };
  const account = { uid: lookup('-u'), gid: lookup('-g') };
  chownSync(home, account.uid, account.gid);
  return account;
}

/**
 * The command line, switched to the service user with setpriv when there is one: setpriv execs
 * the server itself (no process in between), so the supervisor's signals reach the postmaster.
 */
function command(asUser: { uid: number; gid: number } | undefined, binary: string, args: string[]): [string, string[]] {
  if (!asUser) return [binary, args];
  return ['setpriv', [`--reuid=${asUser.uid}`, `--regid=${asUser.gid}`, '--clear-groups', '--', binary, ...args]];
}

async function canLogIn(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } finally {
    await client.end().catch(() => undefined);
  }
}
