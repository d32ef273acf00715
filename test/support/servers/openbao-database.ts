import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { baoRequest } from './openbao.ts';
import type { Postgres } from './postgresql.ts';

/** What the harness sets up in OpenBao's database secrets engine (TestServers.bao.database). */
export const OPENBAO_DATABASE = {
  /** Mount of the database secrets engine. */
  mount: 'database',
  /** The connection to the harness's PostgreSQL (plugin postgresql-database-plugin, built into OpenBao). */
  connection: 'postgres',
  /** The static role, and the PostgreSQL login role it manages (the same name). */
  staticRole: 'app',
  /** PostgreSQL role OpenBao connects as: CREATEROLE, not a superuser, as a production setup would have it. */
  adminUser: 'vault_admin',
} as const;

/** Vault rotates the static role by itself after this long: longer than any run, so only tests rotate it. */
const ROTATION_PERIOD = '24h';

export interface DatabaseEngineOptions {
  addr: string;
  rootToken: string;
  postgres: Pick<Postgres, 'url' | 'port'>;
}

/**
 * Mounts OpenBao's database secrets engine at `database/`, connected to the harness's PostgreSQL
 * as a CREATEROLE user, with PostgreSQL login role `app` managed by static role `app` (creating
 * it makes OpenBao set a password nobody else knows). Tests add their own static roles with the
 * root token. Lookout's policy (openbao.ts) may read static roles and rotate them, nothing else.
 */
export async function configureDatabaseEngine({ addr, rootToken, postgres }: DatabaseEngineOptions): Promise<void> {
  const { mount, connection, staticRole, adminUser } = OPENBAO_DATABASE;
  const adminPassword = randomBytes(18).toString('base64url');
  const client = new pg.Client({ connectionString: postgres.url });
  await client.connect();
  try {
    // Identifiers are constants; the password is a base64url string, safe inside quotes.
    await client.query(`CREATE ROLE ${adminUser} LOGIN CREATEROLE PASSWORD '${adminPassword}'`);
    await client.query(`CREATE ROLE ${staticRole} LOGIN PASSWORD '${randomBytes(18).toString('base64url')}'`);
  } finally {
    await client.end();
  }
  const bao = (method: string, path: string, body: unknown) => baoRequest(addr, rootToken, method, path, body);
  await bao('POST', `/v1/sys/mounts/${mount}`, { type: 'database' });
  await bao('POST', `/v1/${mount}/config/${connection}`, {
    plugin_name: 'postgresql-database-plugin',
    connection_url: `postgresql://{{username}}:{{password}}@127.0.0.1:${postgres.port}/postgres?sslmode=disable`,
    username: adminUser,
    password: adminPassword,
    allowed_roles: '*',
    verify_connection: true,
  });
  await bao('POST', `/v1/${mount}/static-roles/${staticRole}`, { db_name: connection, username: staticRole, rotation_period: ROTATION_PERIOD });
}
