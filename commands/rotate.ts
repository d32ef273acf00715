import type { KnownBlock } from '@slack/types';
import { InvalidInput, Unavailable } from '../src/errors.ts';
import type { ObjectReference } from '../src/access/authorization.ts';
import type { ResourceAttributes } from '../src/kube/access-review.ts';
import { rotateStaticRole } from '../src/vault/database-static-role.ts';
import { forceSyncAndWait, readSyncBaseline, restartsAfterSync, type SyncBaseline } from '../src/vault/external-secret-sync.ts';
import { checkConsumers, consumerName, restartConsumers } from '../src/vault/restart-consumers.ts';
import { planRollback, planRotation, rollbackNow, rotateNow, writtenBy, type KvPlan, type WrittenVersion } from '../src/vault/rotate-secret.ts';
import { findSecretConsumers, type SecretConsumers } from '../src/vault/secret-consumers.ts';
import { findRule, parseSecretPath } from '../src/vault/secret-paths.ts';
import type { VaultApi } from '../src/vault/vault-api.ts';
import type { SecretRule } from '../src/vault/vault-config.ts';
import { count, splitOptions } from '../src/workloads/workload-words.ts';
import { parseWorkloadRef, type WorkloadRef } from '../src/workloads/workload-ref.ts';
import { commandButtonActionId, type CommandContext, type CommandDefinition, type CommandReply, type FollowUpWork, type ReplyContent } from './command.ts';
import { wordsArgs } from './words-args.ts';

/** What `/ops rotate` is built with (src/lookout.ts). */
export interface RotateCommandOptions {
  /** Absent without VAULT_ADDR: the command then says how to enable it. */
  vault?: VaultApi;
  /** `vault.secrets`: which paths may be rotated, their namespace and how values are generated. */
  rules: readonly SecretRule[];
  /** How long and how often to wait for External Secrets to sync the new value (`vault.syncTimeout`). */
  sync?: { timeoutMs: number; pollIntervalMs: number };
  now?: () => number;
}

export interface RotateArgs {
  /** The path as written, e.g. `secret/payments/db`: the RBAC name and what replies show. */
  written: string;
  segments: string[];
  /** `--key a,b`; absent: the secret's only key. */
  keys?: string[];
  /** `--restart deployment/api,statefulset/db`, as written (resolved in the mapped namespace). */
  restart: string[];
  /** `--rollback N`: undo version N (write version N−1's data as a new version). */
  rollback?: number;
}

const RESTART_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet'] as const;
const KEY = /^[^\s,`]{1,128}$/;
const DEFAULT_SYNC = { timeoutMs: 60_000, pollIntervalMs: 1000 };

/** Words → what to rotate, or what is wrong. */
export function parseRotate(words: readonly string[]): RotateArgs | { error: string } {
  const split = splitOptions(words, ['--key', '--restart', '--rollback']);
  if ('error' in split) return split;
  const [written, ...extra] = split.positional;
  if (written === undefined) return { error: 'needs a Vault path, e.g. `secret/payments/db`' };
  if (extra.length > 0) return { error: `unexpected \`${extra.join(' ')}\`` };
  const segments = parseSecretPath(written);
  if ('error' in segments) return segments;
  const keys = split.options.get('--key')?.split(',');
  if (keys !== undefined && keys.some((key) => !KEY.test(key))) return { error: '`--key` takes key names separated by commas, e.g. `--key password`' };
  const restart = split.options.get('--restart')?.split(',') ?? [];
  for (const word of restart) {
    // The namespace comes from the path's mapping; here only the form is checked.
    const ref = parseWorkloadRef(word, 'default', RESTART_KINDS);
    if ('error' in ref) return { error: `\`--restart\`: ${ref.error}` };
  }
  const rollbackText = split.options.get('--rollback');
  const rollback = count(rollbackText);
  if (rollbackText !== undefined && (rollback === undefined || rollback < 2)) return { error: '`--rollback` takes the version to undo, e.g. `--rollback 8` (2 or more)' };
  const staticRole = isStaticRole(segments);
  if ((rollback !== undefined || keys !== undefined) && staticRole) return { error: 'a database static role has no keys or versions: leave out `--key` and `--rollback`' };
  if (rollback !== undefined && keys !== undefined) return { error: '`--rollback` restores the whole previous version: leave out `--key`' };
  return { written, segments, restart, ...(keys ? { keys } : {}), ...(rollback !== undefined ? { rollback } : {}) };
}

/** `<mount>/static-role/<name>`: a database static role, rotated by Vault in the database itself. */
function isStaticRole(segments: readonly string[]): boolean {
  return segments.length === 3 && segments[1] === 'static-role';
}

/**
 * `/ops rotate <mount>/<path> [--key name] [--restart deployment/api,statefulset/db]`: a new
 * random value for a KV v2 secret, written with check-and-set, then its consumers restarted as
 * the person; the reply has a Roll back button (`--rollback N`). `<mount>/static-role/<name>`
 * asks Vault to rotate a database static role instead. Reviewed as `rotate` on
 * `vaultsecrets.lookout.dev` named by the path, in the namespace `vault.secrets` maps it to.
 */
export function createRotateCommand(options: RotateCommandOptions): CommandDefinition<RotateArgs> {
  const ruleFor = (args: RotateArgs): SecretRule | undefined => findRule(options.rules, args.segments);
  return {
    name: 'rotate',
    summary: 'Rotate a Vault KV v2 secret or database static role and restart its consumers (asks first; Roll back after)',
    usage: '<mount>/<path> [--key name] [--restart deployment/api,statefulset/db]  ·  database/static-role/<name> [--restart …]',
    args: wordsArgs(parseRotate),
    access(args): ResourceAttributes {
      // Before any review or Vault request: only configured paths, and only with Vault configured.
      const rule = ruleFor(args);
      if (rule === undefined) throw new InvalidInput(`\`${args.written}\` is not a path Lookout may rotate (config \`vault.secrets\`), so Vault was not asked.`);
      if (options.vault === undefined) throw new Unavailable('Vault is not configured (VAULT_ADDR), so Lookout cannot rotate secrets.');
      return { verb: 'rotate', group: 'lookout.dev', resource: 'vaultsecrets', namespace: rule.namespace, name: args.written };
    },
    target(args): ObjectReference | undefined {
      const rule = ruleFor(args);
      return rule === undefined ? undefined : { apiVersion: 'lookout.dev/v1', kind: 'VaultSecret', namespace: rule.namespace, name: args.written };
    },
    auditReason: 'RotatedBySlackUser',
    async run(ctx) {
      const rule = ruleFor(ctx.args);
      const vault = options.vault;
      if (rule === undefined || vault === undefined) throw new Error('rotate ran without a rule or Vault: access() lets neither through');
      const rotation: Rotation = { ctx, vault, rule, sync: options.sync ?? DEFAULT_SYNC, now: options.now ?? Date.now };
      // The workloads named with --restart are known without Vault: their permissions first.
      await checkRestarts(ctx, ctx.args.restart.map((word) => resolveConsumer(word, rule.namespace)));
      if (isStaticRole(ctx.args.segments)) return askStaticRole(rotation);
      if (ctx.args.rollback !== undefined) return askRollback(rotation, ctx.args.rollback);
      return askRotation(rotation);
    },
  };
}

/** Everything one `/ops rotate` works with. */
interface Rotation {
  ctx: CommandContext<RotateArgs>;
  vault: VaultApi;
  rule: SecretRule;
  sync: { timeoutMs: number; pollIntervalMs: number };
  now: () => number;
}

async function askRotation(rotation: Rotation): Promise<CommandReply> {
  const { ctx, vault, rule } = rotation;
  const plan = await planRotation(vault, ctx.args.written, ctx.args.keys);
  const found = await consumersOf(rotation, plan.secret.mount, plan.rotate);
  const keys = plan.rotate.map((key) => `\`${key}\``).join(', ');
  const lines = [
    `Rotate *${plan.secret.written}*?`,
    `• key${plan.rotate.length > 1 ? 's' : ''} ${keys} (of ${plan.keys.length}): a new ${rule.generate.length}-character ${rule.generate.charset} value; the other keys stay as they are`,
    describeCurrent(plan),
    ...describeConsumers(found, rule.namespace),
  ];
  return {
    text: lines.join('\n'),
    confirm: {
      title: 'Rotate secret?',
      question: clip(`${plan.secret.written}: new value for ${plan.rotate.join(', ')}, version ${plan.metadata.currentVersion} → ${plan.metadata.currentVersion + 1}${restartSummary(found)}.`, 300),
      confirmLabel: 'Rotate',
      style: 'danger',
      run: async () => {
        const baseline = await beforeWrite(rotation, found);
        const written = await rotateNow(vault, plan, rule.generate, rotator(ctx), rotation.now());
        ctx.log.info({ vaultPath: plan.secret.written, from: written.from, to: written.to, keys: plan.rotate }, 'secret rotated');
        const headline = `*${plan.secret.written}*: version ${written.from} → ${written.to}${unrecorded(written)}`;
        return afterWrite(rotation, found, baseline, headline, `${plan.secret.written}: version ${written.from} → ${written.to} (new value for key ${plan.rotate.join(', ')})`, rollbackButton(ctx, plan, written));
      },
    },
  };
}

async function askRollback(rotation: Rotation, undo: number): Promise<CommandReply> {
  const { ctx, vault, rule } = rotation;
  const plan = await planRollback(vault, ctx.args.written, undo);
  const found = await consumersOf(rotation, plan.secret.mount, undefined);
  return {
    text: [`Roll back *${plan.secret.written}*? Version ${plan.restore}'s data is written again as a new version, undoing version ${undo}.`, describeCurrent(plan), ...describeConsumers(found, rule.namespace)].join('\n'),
    confirm: {
      title: 'Roll back secret?',
      question: clip(`${plan.secret.written}: version ${plan.restore}'s data as version ${undo + 1}${restartSummary(found)}.`, 300),
      confirmLabel: 'Roll back',
      style: 'danger',
      run: async () => {
        const baseline = await beforeWrite(rotation, found);
        const written = await rollbackNow(vault, plan, rotator(ctx), rotation.now());
        ctx.log.info({ vaultPath: plan.secret.written, from: written.from, to: written.to, restored: plan.restore }, 'secret rolled back');
        const headline = `*${plan.secret.written}*: version ${written.from} → ${written.to} (version ${plan.restore}'s data restored)${unrecorded(written)}`;
        return afterWrite(rotation, found, baseline, headline, `${plan.secret.written}: version ${written.from} → ${written.to} (version ${plan.restore}'s data restored)`, undefined);
      },
    },
  };
}

/** A database static role: Vault changes the password in the database; there is no version to roll back to. */
async function askStaticRole(rotation: Rotation): Promise<CommandReply> {
  const { ctx, vault, rule } = rotation;
  const [mount = '', , role = ''] = ctx.args.segments;
  const found = await consumersOf(rotation, mount, undefined);
  return {
    text: [`Rotate database static role *${role}* (\`${ctx.args.written}\`)? Vault sets a new password for its database user in the database itself; the old password stops working. There is no roll back.`, ...describeConsumers(found, rule.namespace)].join('\n'),
    confirm: {
      title: 'Rotate database password?',
      question: clip(`Vault rotates static role ${role}'s password in the database${restartSummary(found)}. The old password stops working.`, 300),
      confirmLabel: 'Rotate',
      style: 'danger',
      run: async () => {
        const baseline = await beforeWrite(rotation, found);
        const rotated = await rotateStaticRole(vault, role, mount);
        ctx.log.info({ vaultPath: ctx.args.written, lastRotation: rotated.after }, 'database static role rotated');
        const headline = `*${ctx.args.written}*: password of database user \`${rotated.username}\` rotated by Vault (${rotated.after})`;
        return afterWrite(rotation, found, baseline, headline, `${ctx.args.written}: rotated by Vault at ${rotated.after}`, undefined);
      },
    },
  };
}

/**
 * The consumers to restart (src/vault/secret-consumers.ts), read as Lookout, and the person's
 * permission to restart each — before Vault is written: a refusal changes nothing. (The
 * `--restart` ones were reviewed before Vault was asked anything; the others are found once
 * Vault has named the path's mount.)
 */
async function consumersOf(rotation: Rotation, mount: string, keys: readonly string[] | undefined): Promise<SecretConsumers> {
  const { ctx, rule } = rotation;
  const requested = ctx.args.restart.map((word) => resolveConsumer(word, rule.namespace));
  if (ctx.lookoutReads === undefined) {
    // --restart without Kubernetes was refused by checkRestarts already.
    return { consumers: [], skipped: [], externalSecrets: [], unsyncedExternalSecrets: [], problems: ['Lookout has no Kubernetes connection: consumers were not looked for.'] };
  }
  const found = await findSecretConsumers(ctx.lookoutReads, { path: ctx.args.written, mount, namespace: rule.namespace, restart: requested, ...(keys ? { keys: [...keys] } : {}) });
  await checkRestarts(ctx, found.consumers.map((consumer) => consumer.workload));
  return found;
}

/** Restart permissions and checks for every consumer (again at Confirm: they may have changed meanwhile). */
async function checkRestarts(ctx: CommandContext<RotateArgs>, consumers: readonly WorkloadRef[]): Promise<void> {
  if (consumers.length === 0) return;
  if (ctx.lookoutReads === undefined) throw new Unavailable('Lookout has no Kubernetes connection, so it cannot restart the consumers; nothing was changed.');
  await checkConsumers(ctx.access, ctx.lookoutReads, consumers);
}

/** At Confirm, just before the write: restart permissions again, and the synced Secrets' state to compare with. */
async function beforeWrite({ ctx }: Rotation, found: SecretConsumers): Promise<SyncBaseline | undefined> {
  await checkRestarts(ctx, found.consumers.map((consumer) => consumer.workload));
  return ctx.kube !== undefined && found.externalSecrets.length > 0 ? readSyncBaseline(ctx.kube, found.externalSecrets) : undefined;
}

/**
 * The reply once Vault is written (`auditDetail` is written `<path>: version 7 → 8 (new value for
 * key password)`: the audit trail's redactor would take a `password: …` form for a value): External Secrets synced first (force-sync, bounded wait),
 * then the consumers restarted as the person and followed, each step shown by editing the reply.
 */
function afterWrite(rotation: Rotation, found: SecretConsumers, baseline: SyncBaseline | undefined, headline: string, auditDetail: string, button: KnownBlock | undefined): CommandReply {
  const { ctx } = rotation;
  const finish = (text: string): ReplyContent => (button === undefined ? { text } : { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }, button] });
  const skipped = found.skipped.map((skip) => `• ${consumerName(skip.workload)} not restarted: ${skip.reason}`);
  const notes = [...skipped, ...found.unsyncedExternalSecrets.map((es) => `• ExternalSecret ${es.name} not synced: ${es.reason}`), ...found.problems.map((problem) => `• ${problem}`)];
  const restartedNames = found.consumers.map((consumer) => consumerName(consumer.workload));
  const detail = `${auditDetail}${restartedNames.length > 0 ? `; restarting ${restartedNames.join(', ')}` : ''}`;
  if (ctx.kube === undefined || ctx.lookoutReads === undefined || (found.consumers.length === 0 && baseline === undefined)) {
    return { ...finish([headline, ...notes].join('\n')), auditDetail: detail };
  }
  const { kube, lookoutReads } = ctx;
  const work: FollowUpWork = async (progress) => {
    let consumers = found.consumers;
    const syncNotes: string[] = [];
    if (baseline !== undefined) {
      progress.update({ text: `${headline}; waiting for External Secrets to sync ${found.externalSecrets.map((es) => es.secretName).join(', ')}` });
      const outcomes = await forceSyncAndWait(kube, baseline, { ...rotation.sync, signal: progress.signal });
      const after = restartsAfterSync(found, outcomes);
      consumers = after.restart;
      syncNotes.push(...outcomes.map((outcome) => (outcome.synced ? `• Secret ${outcome.externalSecret.secretName} synced` : `• Secret ${outcome.externalSecret.secretName} not synced: ${outcome.reason}`)));
      syncNotes.push(...after.heldBack.map((held) => `• ${consumerName(held.workload)} ${held.reason}`));
    }
    return restartConsumers({
      kube,
      reads: lookoutReads,
      consumers: consumers.map((consumer) => consumer.workload),
      headline,
      timeoutMs: ctx.settings.rollout.timeoutMs,
      pollIntervalMs: ctx.settings.rollout.pollIntervalMs,
      finish,
      notes: [...syncNotes, ...notes],
    })(progress);
  };
  return { text: restartedNames.length > 0 ? `${headline}; restarting ${restartedNames.join(', ')}` : headline, auditDetail: detail, followUp: work };
}

/** Roll back: `/ops rotate <path> --rollback <new version>` for whoever clicks, reviewed and asked as if typed. */
function rollbackButton(ctx: CommandContext<RotateArgs>, plan: KvPlan, written: WrittenVersion): KnownBlock {
  const restart = ctx.args.restart.length > 0 ? ` --restart ${ctx.args.restart.join(',')}` : '';
  return {
    type: 'actions',
    elements: [{ type: 'button', action_id: commandButtonActionId('rotate'), text: { type: 'plain_text', text: 'Roll back' }, value: `${plan.secret.written} --rollback ${written.to}${restart}` }],
  };
}

/** The version stands even when recording who wrote it failed; the reply says so. */
function unrecorded(written: WrittenVersion): string {
  return written.unrecorded === undefined ? '' : ` (⚠️ recording who rotated it in custom_metadata failed: ${written.unrecorded})`;
}

function resolveConsumer(word: string, namespace: string): WorkloadRef {
  const ref = parseWorkloadRef(word, namespace, RESTART_KINDS);
  if ('error' in ref) throw new InvalidInput(`\`--restart\`: ${ref.error}`);
  return ref;
}

function rotator(ctx: CommandContext<RotateArgs>) {
  // The gate allowed this person, so their identity is set; the Slack name stands in otherwise.
  return { username: ctx.identity?.username ?? ctx.user.name, slackUserId: ctx.user.id };
}

function describeCurrent(plan: KvPlan): string {
  const version = plan.metadata.currentVersion;
  const created = plan.metadata.versions.get(version)?.createdTime ?? 'at an unknown time';
  const by = writtenBy(plan.metadata);
  return by !== undefined ? `• current version ${version}, written ${by.at || created} by ${by.by} through Lookout` : `• current version ${version}, written ${created} (not by Lookout)`;
}

function describeConsumers(found: SecretConsumers, namespace: string): string[] {
  const lines = found.consumers.length === 0
    ? ['• no consumers to restart (none annotated `lookout.dev/vault-secrets` or using a synced Secret; add `--restart deployment/<name>,…`)']
    : [`• then restart in ${namespace}: ${found.consumers.map((consumer) => `${consumerName(consumer.workload)} (${consumer.reasons.map((reason) => reason.text).join('; ')})`).join(', ')}`];
  if (found.externalSecrets.length > 0) lines.push(`• first sync through External Secrets: ${found.externalSecrets.map((es) => `${es.name} → Secret ${es.secretName}`).join(', ')}`);
  for (const skip of found.skipped) lines.push(`• ${consumerName(skip.workload)} is left alone: ${skip.reason}`);
  for (const es of found.unsyncedExternalSecrets) lines.push(`• ExternalSecret ${es.name} will not sync: ${es.reason}`);
  for (const problem of found.problems) lines.push(`• ${problem}`);
  return lines;
}

function restartSummary(found: SecretConsumers): string {
  return found.consumers.length > 0 ? `, then restart ${found.consumers.map((consumer) => consumerName(consumer.workload)).join(', ')}` : '';
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
