import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Postgres } from './servers/postgresql.ts';

export interface TestDatabase {
  /** postgres://postgres:<password>@127.0.0.1:PORT/<name>: a database of its own on the harness's server. */
  url: string;
  name: string;
  /** Drops the database (closing whatever is still connected to it). */
  drop(): Promise<void>;
}

/**
 * A fresh, empty database on the harness's PostgreSQL, so test files running side by side (and
 * two Lookout processes in one test) share a server but never each other's tables.
 */
export async function createTestDatabase(server: Pick<Postgres, 'url'>, prefix = 'lookout'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await asSuperuser(server, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () => asSuperuser(server, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

async function asSuperuser<T>(server: Pick<Postgres, 'url'>, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}
