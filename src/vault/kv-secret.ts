import { z } from 'zod';
import { VaultError, type VaultApi } from './vault-api.ts';

/** A secret in a KV v2 mount: `secret/payments/db` → mount `secret`, path `payments/db`. */
export interface KvSecret {
  /** As the person wrote it (the RBAC name and what replies show). */
  written: string;
  mount: string;
  path: string;
}

/** What a mount is, as `sys/internal/ui/mounts/<path>` tells (the call the `vault kv` CLI makes too). */
export interface MountInfo {
  /** Without the trailing slash, e.g. `secret` or `team/kv`. */
  mount: string;
  /** Secrets engine type: `kv`, `database`, … */
  type: string;
  /** KV version, `1` or `2`, for a kv mount. */
  kvVersion: string | undefined;
}

const mountSchema = z.object({ data: z.object({ path: z.string(), type: z.string(), options: z.record(z.string(), z.string()).nullish() }) });

const versionSchema = z.object({ created_time: z.string(), deletion_time: z.string(), destroyed: z.boolean() });
const metadataSchema = z.object({
  data: z.object({
    current_version: z.number().int(),
    versions: z.record(z.string(), versionSchema),
    custom_metadata: z.record(z.string(), z.string()).nullish(),
  }),
});
const dataSchema = z.object({
  data: z.object({
    data: z.record(z.string(), z.unknown()).nullable(),
    metadata: z.object({ version: z.number().int(), deletion_time: z.string(), destroyed: z.boolean() }),
  }),
});
const writeSchema = z.object({ data: z.object({ version: z.number().int() }) });

/** One version's facts from the secret's metadata. */
export interface VersionInfo {
  createdTime: string;
  /** Soft-deleted (`vault kv delete`): its data can be undeleted but not read. */
  deleted: boolean;
  destroyed: boolean;
}

export interface SecretMetadata {
  currentVersion: number;
  versions: ReadonlyMap<number, VersionInfo>;
  custom: Readonly<Record<string, string>>;
}

/**
 * Finds the mount of a path. Lookout's Vault policy must allow something on the path for Vault
 * to answer, so a 403 here means the path is outside Lookout's policy.
 */
export async function lookUpMount(vault: VaultApi, written: string): Promise<MountInfo> {
  let answer: unknown;
  try {
    answer = await vault.request('GET', `sys/internal/ui/mounts/${written}`);
  } catch (error) {
    if (error instanceof VaultError && error.reason === 'forbidden') {
      throw new VaultError('forbidden', `\`${written}\` is outside Lookout's own Vault policy (Vault answered 403), so nothing was changed. Ask the Vault admins to grant Lookout's role read and update on it.`, 403);
    }
    if (error instanceof VaultError && (error.reason === 'not-found' || error.reason === 'invalid')) {
      throw new VaultError('not-found', `No secrets engine is mounted at the start of \`${written}\`.`, error.status);
    }
    throw error;
  }
  const { data } = parse(mountSchema, answer, `sys/internal/ui/mounts/${written}`);
  return { mount: data.path.replace(/\/+$/, ''), type: data.type, kvVersion: data.options?.['version'] ?? undefined };
}

/** The KV v2 secret at `written`, or a VaultError saying why it cannot be rotated there. */
export function kvSecretAt(written: string, info: MountInfo): KvSecret {
  if (info.type !== 'kv' && info.type !== 'generic') throw new VaultError('unsupported', `\`${info.mount}/\` is a \`${info.type}\` secrets engine, not KV; Lookout rotates KV version 2 secrets (and database static roles).`);
  if (info.kvVersion !== '2') {
    throw new VaultError('unsupported', `\`${info.mount}/\` is a KV version 1 mount, which Lookout does not rotate: it keeps no versions, so there is no check-and-set and no roll back. Upgrade the mount to KV version 2.`);
  }
  const path = written.slice(info.mount.length + 1);
  if (!written.startsWith(`${info.mount}/`) || path === '') throw new VaultError('invalid', `\`${written}\` names the mount \`${info.mount}/\` itself, not a secret in it.`);
  return { written, mount: info.mount, path };
}

export async function readMetadata(vault: VaultApi, secret: KvSecret): Promise<SecretMetadata> {
  let answer: unknown;
  try {
    answer = await vault.request('GET', `${secret.mount}/metadata/${secret.path}`);
  } catch (error) {
    if (error instanceof VaultError && error.reason === 'not-found') throw new VaultError('not-found', `There is no secret at \`${secret.written}\`. Lookout rotates existing secrets only.`, 404);
    throw error;
  }
  const { data } = parse(metadataSchema, answer, `${secret.mount}/metadata/${secret.path}`);
  const versions = new Map<number, VersionInfo>();
  for (const [number, version] of Object.entries(data.versions)) {
    versions.set(Number(number), { createdTime: version.created_time, deleted: version.deletion_time !== '', destroyed: version.destroyed });
  }
  return { currentVersion: data.current_version, versions, custom: data.custom_metadata ?? {} };
}

/** One version's key/value data (current when `version` is absent), with its version number. */
export async function readVersion(vault: VaultApi, secret: KvSecret, version?: number): Promise<{ version: number; data: Record<string, unknown> }> {
  const path = `${secret.mount}/data/${secret.path}${version === undefined ? '' : `?version=${version}`}`;
  let answer: unknown;
  try {
    answer = await vault.request('GET', path);
  } catch (error) {
    if (error instanceof VaultError && error.reason === 'not-found') {
      throw new VaultError('not-found', `${version === undefined ? 'The current version' : `Version ${version}`} of \`${secret.written}\` is deleted or destroyed, so there is nothing to ${version === undefined ? 'rotate' : 'restore'}; nothing was changed.`, 404);
    }
    throw error;
  }
  const { data } = parse(dataSchema, answer, path);
  if (data.data === null) throw new VaultError('not-found', `Version ${data.metadata.version} of \`${secret.written}\` is deleted or destroyed; nothing was changed.`);
  return { version: data.metadata.version, data: data.data };
}

/** Writes a new version only if `cas` is still the current one; resolves to the new version. */
export async function writeVersion(vault: VaultApi, secret: KvSecret, data: Record<string, unknown>, cas: number): Promise<number> {
  const path = `${secret.mount}/data/${secret.path}`;
  let answer: unknown;
  try {
    answer = await vault.request('POST', path, { options: { cas }, data });
  } catch (error) {
    if (error instanceof VaultError && error.reason === 'conflict') {
      throw new VaultError('conflict', `\`${secret.written}\` changed after Lookout read version ${cas} (check-and-set refused the write), so nothing was changed. Run the command again to rotate the newer version.`, 400);
    }
    throw error;
  }
  return parse(writeSchema, answer, path).data.version;
}

/** Adds keys to the secret's custom_metadata (a merge: other keys stay). */
export async function recordCustomMetadata(vault: VaultApi, secret: KvSecret, custom: Record<string, string>): Promise<void> {
  await vault.request('PATCH', `${secret.mount}/metadata/${secret.path}`, { custom_metadata: custom });
}

function parse<T>(schema: z.ZodType<T>, answer: unknown, path: string): T {
  const parsed = schema.safeParse(answer);
  // Only the shape is reported: the answer may hold secret values.
  if (!parsed.success) throw new VaultError('invalid', `Vault's answer for ${path.replace(/\?.*$/, '')} is not what KV version 2 returns; nothing was changed.`);
  return parsed.data;
}
