import { z } from 'zod';
import { InvalidInput, NotFound, Unavailable } from '../errors.ts';
import { VaultError, type VaultApi } from './vault-api.ts';

/** Where `/ops rotate database/static-role/<name>` finds the database secrets engine. */
export const DATABASE_MOUNT = 'database';

/** Vault's own rule for role names (framework.GenericNameRegex): word characters, `-` and `.` inside. */
const ROLE_NAME = /^\w(?:[\w.-]*\w)?$/;

/** A static role as Vault reports it; only these fields are read, and Vault never returns its password here. */
const staticRoleSchema = z.object({
  data: z.object({
    username: z.string(),
    db_name: z.string(),
    // Absent until Vault has rotated it once (its first rotation, at creation, can fail).
    last_vault_rotation: z.string().optional(),
    rotation_period: z.number(),
  }),
});

/** What a rotation did: no password, only who and when. */
export interface StaticRoleRotation {
  role: string;
  /** The database user whose password Vault changed. */
  username: string;
  /** The database connection of the engine (`db_name`). */
  database: string;
  /** `last_vault_rotation` before (undefined: never rotated) and after, as Vault reports it (RFC 3339). */
  before: string | undefined;
  after: string;
  /** Vault rotates it again by itself after this long. */
  rotationPeriodSeconds: number;
}

/**
 * Rotates a database static role: Vault sets a new password for the role's database user in the
 * database itself (`POST <mount>/rotate-role/<role>`), and Lookout confirms it by reading the role
 * before and after (`GET <mount>/static-roles/<role>`: `last_vault_rotation` must have moved).
 * No password is ever read: `<mount>/static-creds/<role>` is not called, and Lookout's Vault
 * policy needs only `read` on static-roles and `update` on rotate-role.
 *
 * Errors are UserErrors with Lookout's own sentences (Vault's error text can quote the
 * connection URL, and with it a user name or host): an unknown role is NotFound, a policy that
 * does not allow it is VaultError `forbidden`, a rotation Vault accepted but the database did not
 * is Unavailable naming the role and connection; sealed and unreachable Vault pass through.
 */
export async function rotateStaticRole(vault: VaultApi, role: string, mount = DATABASE_MOUNT): Promise<StaticRoleRotation> {
  if (!ROLE_NAME.test(role)) throw new InvalidInput(`\`${role}\` is not a database static role name (letters, digits, \`_\`, \`-\` and \`.\`).`);
  const before = await readStaticRole(vault, role, mount);
  try {
    await vault.request('POST', `${mount}/rotate-role/${role}`);
  } catch (error) {
    throw rotateFailure(error, role, mount, before.data.db_name);
  }
  const after = await readStaticRole(vault, role, mount);
  const rotatedAt = after.data.last_vault_rotation;
  if (rotatedAt === undefined || rotatedAt === before.data.last_vault_rotation) {
    throw new Unavailable(`Vault answered the rotation of database static role \`${role}\`, but its last rotation time did not change (${rotatedAt ?? 'never rotated'}); check Vault's log before relying on a new password.`);
  }
  return {
    role,
    username: after.data.username,
    database: after.data.db_name,
    before: before.data.last_vault_rotation,
    after: rotatedAt,
    rotationPeriodSeconds: after.data.rotation_period,
  };
}

async function readStaticRole(vault: VaultApi, role: string, mount: string): Promise<z.output<typeof staticRoleSchema>> {
  let body: unknown;
  try {
    body = await vault.request('GET', `${mount}/static-roles/${role}`);
  } catch (error) {
    if (error instanceof VaultError && error.reason === 'not-found') {
      throw new NotFound(`Vault has no database static role \`${role}\` (\`${mount}/static-roles/${role}\`). \`vault list ${mount}/static-roles\` shows the ones there are.`);
    }
    if (error instanceof VaultError && error.reason === 'forbidden') {
      throw new VaultError('forbidden', `Lookout's Vault policy does not allow reading \`${mount}/static-roles/${role}\` (capability \`read\`), so nothing was changed. Ask the Vault admins to grant it to Lookout's role.`, error.status);
    }
    throw error;
  }
  const parsed = staticRoleSchema.safeParse(body);
  if (!parsed.success) throw new Error(`unexpected answer from Vault for ${mount}/static-roles/${role}: ${parsed.error.issues.map((issue) => issue.path.join('.')).join(', ')}`);
  return parsed.data;
}

function rotateFailure(error: unknown, role: string, mount: string, database: string): unknown {
  if (!(error instanceof VaultError)) return error;
  switch (error.reason) {
    case 'forbidden':
      return new VaultError('forbidden', `Lookout's Vault policy does not allow rotating \`${role}\` (capability \`update\` on \`${mount}/rotate-role/${role}\`), so nothing was changed. Ask the Vault admins to grant it to Lookout's role.`, error.status);
    case 'not-found':
    case 'invalid':
      // Vault answers 400 "no static role found" for a role removed since it was read.
      return new NotFound(`Vault has no database static role \`${role}\` any more (\`${mount}/static-roles/${role}\`); nothing was rotated.`);
    case 'unavailable':
      // A 500 from a Vault that answered is the database refusing or not answering (Vault's own
      // text for it names the connection, so it is not repeated); no status means no Vault at all.
      if (error.status === 500) {
        return new Unavailable(`Vault could not change the password of database static role \`${role}\` in its database (connection \`${database}\`): the database did not answer or refused. The old password still works; Vault retries on its own. Vault's log has the database's answer.`);
      }
      return error;
    default:
      return error;
  }
}
