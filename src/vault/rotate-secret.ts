import { Conflict, InvalidInput, NotFound } from '../errors.ts';
import { generateSecret } from './generate-secret.ts';
import { kvSecretAt, lookUpMount, readMetadata, readVersion, recordCustomMetadata, type KvSecret, type SecretMetadata, writeVersion } from './kv-secret.ts';
import type { VaultApi } from './vault-api.ts';
import type { GenerateRule } from './vault-config.ts';

/** custom_metadata keys Lookout records on a secret it rotated (or rolled back): who, when, which version. */
export const ROTATED_BY = 'lookout-rotated-by';
export const ROTATED_AT = 'lookout-rotated-at';
export const ROTATED_VERSION = 'lookout-rotated-version';
export const ROTATED_ACTION = 'lookout-rotated-action';

/** What a rotation or roll back will do, as the preview shows it. No value is kept: keys only. */
export interface KvPlan {
  secret: KvSecret;
  metadata: SecretMetadata;
  /** Every key of the current version. */
  keys: string[];
}

export interface RotationPlan extends KvPlan {
  /** The keys that get new values. */
  rotate: string[];
}

export interface RollbackPlan extends KvPlan {
  /** The version being undone (must still be current). */
  undo: number;
  /** The version whose data is written again. */
  restore: number;
}

/** Who did it, as recorded in custom_metadata: the Kubernetes user and the Slack user id. */
export interface Rotator {
  username: string;
  slackUserId: string;
}

/** The result of a write: the version read and the one written. */
export interface WrittenVersion {
  from: number;
  to: number;
  /** Set when the version was written but recording who did it in custom_metadata failed. */
  unrecorded?: string;
}

/** Reads what the preview shows; throws a UserError (or VaultError) when the secret cannot be rotated. */
export async function planRotation(vault: VaultApi, written: string, requestedKeys: readonly string[] | undefined): Promise<RotationPlan> {
  const plan = await readPlan(vault, written);
  if (requestedKeys === undefined) {
    if (plan.keys.length !== 1) {
      throw new InvalidInput(`\`${written}\` has ${plan.keys.length === 0 ? 'no keys' : `${plan.keys.length} keys (${listKeys(plan.keys)})`}: name the one to rotate with \`--key\`; nothing was changed.`);
    }
    return { ...plan, rotate: plan.keys };
  }
  const unknown = requestedKeys.filter((key) => !plan.keys.includes(key));
  if (unknown.length > 0) throw new NotFound(`\`${written}\` has no key ${listKeys(unknown)} (its keys: ${listKeys(plan.keys)}); nothing was changed.`);
  return { ...plan, rotate: [...requestedKeys] };
}

/** Reads what a roll back of version `undo` will do; refuses when it is not current or its predecessor is gone. */
export async function planRollback(vault: VaultApi, written: string, undo: number): Promise<RollbackPlan> {
  const plan = await readPlan(vault, written);
  if (plan.metadata.currentVersion !== undo) {
    throw new Conflict(`\`${written}\` is at version ${plan.metadata.currentVersion} now, not ${undo}: someone wrote it since, so rolling back ${undo} would undo their change too. Nothing was changed.`);
  }
  const restore = undo - 1;
  const previous = plan.metadata.versions.get(restore);
  if (restore < 1 || previous === undefined) throw new NotFound(`\`${written}\` keeps no version before ${undo} (Vault's max_versions may have dropped it); nothing was changed.`);
  if (previous.destroyed) throw new Conflict(`Version ${restore} of \`${written}\` is destroyed: there is no data to restore. Nothing was changed.`);
  if (previous.deleted) throw new Conflict(`Version ${restore} of \`${written}\` is deleted: undelete it first (\`vault kv undelete -versions=${restore} ${written}\`). Nothing was changed.`);
  return { ...plan, undo, restore };
}

/**
 * The rotation: reads the current version, generates the new values, writes them with
 * check-and-set against the version read (the other keys unchanged), then records who did it.
 * The values live in this function's memory only: they are sent to Vault and nowhere else.
 */
export async function rotateNow(vault: VaultApi, plan: RotationPlan, generate: GenerateRule, by: Rotator, now: number): Promise<WrittenVersion> {
  const current = await readVersion(vault, plan.secret);
  if (current.version !== plan.metadata.currentVersion) throw changedSincePreview(plan, current.version);
  const data = { ...current.data };
  for (const key of plan.rotate) data[key] = generateSecret(generate.length, generate.charset);
  const to = await writeVersion(vault, plan.secret, data, current.version);
  return { from: current.version, to, ...(await record(vault, plan.secret, by, to, 'rotate', now)) };
}

/** The roll back: version `restore`'s data written again as a new version, check-and-set against `undo`. */
export async function rollbackNow(vault: VaultApi, plan: RollbackPlan, by: Rotator, now: number): Promise<WrittenVersion> {
  const restored = await readVersion(vault, plan.secret, plan.restore);
  const to = await writeVersion(vault, plan.secret, restored.data, plan.undo);
  return { from: plan.undo, to, ...(await record(vault, plan.secret, by, to, `rollback to ${plan.restore}`, now)) };
}

/** Who wrote the current version, when Lookout did: from its custom_metadata. */
export function writtenBy(metadata: SecretMetadata): { by: string; at: string } | undefined {
  const { custom } = metadata;
  if (custom[ROTATED_VERSION] !== String(metadata.currentVersion) || custom[ROTATED_BY] === undefined) return undefined;
  return { by: custom[ROTATED_BY], at: custom[ROTATED_AT] ?? '' };
}

async function readPlan(vault: VaultApi, written: string): Promise<KvPlan> {
  const secret = kvSecretAt(written, await lookUpMount(vault, written));
  const metadata = await readMetadata(vault, secret);
  const current = await readVersion(vault, secret);
  // Only the key names leave this function; the values read are dropped here.
  return { secret, metadata, keys: Object.keys(current.data).sort() };
}

/**
 * Records the rotation in custom_metadata. The version is already written by then: a failure
 * here is reported with the result (not thrown), since the rotation itself stands.
 */
async function record(vault: VaultApi, secret: KvSecret, by: Rotator, version: number, action: string, now: number): Promise<{ unrecorded?: string }> {
  try {
    await recordCustomMetadata(vault, secret, {
      [ROTATED_BY]: `${by.username} (Slack ${by.slackUserId})`,
      [ROTATED_AT]: new Date(now).toISOString(),
      [ROTATED_VERSION]: String(version),
      [ROTATED_ACTION]: action,
    });
    return {};
  } catch (error) {
    return { unrecorded: error instanceof Error ? error.message : 'unknown error' };
  }
}

function changedSincePreview(plan: KvPlan, now: number): Conflict {
  return new Conflict(`\`${plan.secret.written}\` is at version ${now} now, not ${plan.metadata.currentVersion} as when you asked: someone wrote it since. Nothing was changed; run the command again.`);
}

function listKeys(keys: readonly string[]): string {
  return keys.map((key) => `\`${key}\``).join(', ');
}
