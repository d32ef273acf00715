import type { KnownBlock } from '@slack/types';
import { InvalidInput, Unavailable } from '../src/errors.ts';
import type { ObjectReference } from '../src/access/authorization.ts';
import type { ResourceAttributes } from '../src/kube/access-review.ts';
import { checkConsumers, consumerName, restartConsumers } from '../src/vault/restart-consumers.ts';
import { planRollback, planRotation, rollbackNow, rotateNow, writtenBy, type KvPlan, type WrittenVersion } from '../src/vault/rotate-secret.ts';
import { findRule, parseSecretPath } from '../src/vault/secret-paths.ts';
import type { VaultApi } from '../src/vault/vault-api.ts';
import type { SecretRule } from '../src/vault/vault-config.ts';
import { splitOptions, count } from '../src/workloads/workload-words.ts';
import { parseWorkloadRef, type WorkloadRef } from '../src/workloads/workload-ref.ts';
import { commandButtonActionId, type CommandContext, type CommandDefinition, type CommandReply, type ReplyContent } from './command.ts';
import { wordsArgs } from './words-args.ts';

/** What `/ops rotate` is built with (src/lookout.ts). */
export interface RotateCommandOptions {
  /** Absent without VAULT_ADDR: the command then says how to enable it. */
  vault?: VaultApi;
  /** `vault.secrets`: which paths may be rotated, their namespace and how values are generated. */
  rules: readonly SecretRule[];
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

/** Words → what to rotate, or what is wrong. */
export function parseRotate(words: readonly string[]): RotateArgs | { error: string } {
  const split = splitOptions(words, ['--key', '--restart', '--rollback']);
  if ('error' in split) return split;
  const [written, ...extra] = split.positional;
  if (written === undefined) return { error: 'needs a Vault path, e.g. `secret/payments/db`' };
  if (extra.length > 0) return { error: `unexpected \`${extra.join(' ')}\`` };
  const segments = parseSecretPath(written);
  if ('error' in segments) return segments;
  const keyText = split.options.get('--key');
  const keys = keyText?.split(',');
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
  if (rollback !== undefined && keys !== undefined) return { error: '`--rollback` restores the whole previous version: leave out `--key`' };
  return { written, segments, restart, ...(keys ? { keys } : {}), ...(rollback !== undefined ? { rollback } : {}) };
}

/**
 * `/ops rotate <mount>/<path> [--key name] [--restart deployment/api,statefulset/db]`: a new
 * random value for a KV v2 secret, written with check-and-set, then the consumers restarted as
 * the person; the reply has a Roll back button (`--rollback N`). Reviewed as `rotate` on
 * `vaultsecrets.lookout.dev` named by the path, in the namespace `vault.secrets` maps it to.
 */
export function createRotateCommand(options: RotateCommandOptions): CommandDefinition<RotateArgs> {
  const now = options.now ?? Date.now;
  const ruleFor = (args: RotateArgs): SecretRule | undefined => findRule(options.rules, args.segments);
  return {
    name: 'rotate',
    summary: 'Rotate a Vault KV v2 secret and restart its consumers (asks first; Roll back after)',
    usage: '<mount>/<path> [--key name] [--restart deployment/api,statefulset/db]',
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
      const consumers = ctx.args.restart.map((word) => resolveConsumer(word, rule.namespace));
      await checkRestarts(ctx, consumers);
      if (ctx.args.rollback !== undefined) return askRollback(ctx, vault, rule, consumers, ctx.args.rollback, now);
      return askRotation(ctx, vault, rule, consumers, now);
    },
  };
}

async function askRotation(ctx: CommandContext<RotateArgs>, vault: VaultApi, rule: SecretRule, consumers: WorkloadRef[], now: () => number): Promise<CommandReply> {
  const plan = await planRotation(vault, ctx.args.written, ctx.args.keys);
  const keys = plan.rotate.map((key) => `\`${key}\``).join(', ');
  const lines = [
    `Rotate *${plan.secret.written}*?`,
    `• key${plan.rotate.length > 1 ? 's' : ''} ${keys} (of ${plan.keys.length}): a new ${rule.generate.length}-character ${rule.generate.charset} value; the other keys stay as they are`,
    describeCurrent(plan),
    describeConsumers(consumers, rule.namespace),
  ];
  return {
    text: lines.join('\n'),
    confirm: {
      title: 'Rotate secret?',
      question: clip(`${plan.secret.written}: new value for ${plan.rotate.join(', ')}, version ${plan.metadata.currentVersion} → ${plan.metadata.currentVersion + 1}${consumers.length > 0 ? `, then restart ${consumers.map(consumerName).join(', ')}` : ''}.`, 300),
      confirmLabel: 'Rotate',
      style: 'danger',
      run: async () => {
        await checkRestarts(ctx, consumers);
        const written = await rotateNow(vault, plan, rule.generate, rotator(ctx), now());
        ctx.log.info({ vaultPath: plan.secret.written, from: written.from, to: written.to, keys: plan.rotate }, 'secret rotated');
        return afterWrite(ctx, plan, written, consumers, `key ${plan.rotate.join(', ')}`, true);
      },
    },
  };
}

async function askRollback(ctx: CommandContext<RotateArgs>, vault: VaultApi, rule: SecretRule, consumers: WorkloadRef[], undo: number, now: () => number): Promise<CommandReply> {
  const plan = await planRollback(vault, ctx.args.written, undo);
  return {
    text: [`Roll back *${plan.secret.written}*? Version ${plan.restore}'s data is written again as a new version, undoing version ${undo}.`, describeCurrent(plan), describeConsumers(consumers, rule.namespace)].join('\n'),
    confirm: {
      title: 'Roll back secret?',
      question: clip(`${plan.secret.written}: version ${plan.restore}'s data as version ${undo + 1}${consumers.length > 0 ? `, then restart ${consumers.map(consumerName).join(', ')}` : ''}.`, 300),
      confirmLabel: 'Roll back',
      style: 'danger',
      run: async () => {
        await checkRestarts(ctx, consumers);
        const written = await rollbackNow(vault, plan, rotator(ctx), now());
        ctx.log.info({ vaultPath: plan.secret.written, from: written.from, to: written.to, restored: plan.restore }, 'secret rolled back');
        return afterWrite(ctx, plan, written, consumers, `rolled back to version ${plan.restore}'s data`, false);
      },
    },
  };
}

/** The reply once the version is written: the restarts followed, then the Roll back button. */
function afterWrite(ctx: CommandContext<RotateArgs>, plan: KvPlan, written: WrittenVersion, consumers: WorkloadRef[], what: string, offerRollback: boolean): CommandReply {
  const headline = `*${plan.secret.written}*: version ${written.from} → ${written.to}`;
  const note = written.unrecorded !== undefined ? `\n⚠️ Written, but recording who rotated it in custom_metadata failed: ${written.unrecorded}` : '';
  const finish = (text: string): ReplyContent => {
    const full = `${text}${note}`;
    if (!offerRollback) return { text: full };
    const value = `${plan.secret.written} --rollback ${written.to}${ctx.args.restart.length > 0 ? ` --restart ${ctx.args.restart.join(',')}` : ''}`;
    const blocks: KnownBlock[] = [
      { type: 'section', text: { type: 'mrkdwn', text: full } },
      { type: 'actions', elements: [{ type: 'button', action_id: commandButtonActionId('rotate'), text: { type: 'plain_text', text: 'Roll back' }, value }] },
    ];
    return { text: full, blocks };
  };
  const restarted = consumers.length > 0 ? `; restarted ${consumers.map(consumerName).join(', ')}` : '';
  const auditDetail = `${plan.secret.written} ${what}: version ${written.from} → ${written.to}${restarted}`;
  if (consumers.length === 0 || ctx.kube === undefined || ctx.lookoutReads === undefined) return { ...finish(headline), auditDetail };
  return {
    text: `${headline}; restarting ${consumers.map(consumerName).join(', ')}`,
    auditDetail,
    followUp: restartConsumers({
      kube: ctx.kube,
      reads: ctx.lookoutReads,
      consumers,
      headline,
      timeoutMs: ctx.settings.rollout.timeoutMs,
      pollIntervalMs: ctx.settings.rollout.pollIntervalMs,
      finish,
    }),
  };
}

/** Restart permissions and checks for every consumer, before Vault is touched (again at Confirm). */
async function checkRestarts(ctx: CommandContext<RotateArgs>, consumers: WorkloadRef[]): Promise<void> {
  if (consumers.length === 0) return;
  if (ctx.lookoutReads === undefined) throw new Unavailable('Lookout has no Kubernetes connection, so it cannot restart the consumers; nothing was changed.');
  await checkConsumers(ctx.access, ctx.lookoutReads, consumers);
}

function resolveConsumer(word: string, namespace: string): WorkloadRef {
  const ref = parseWorkloadRef(word, namespace, RESTART_KINDS);
  if ('error' in ref) throw new InvalidInput(`\`--restart\`: ${ref.error}`);
  return ref;
}

function rotator(ctx: CommandContext<RotateArgs>) {
  // The gate allowed this person, so their identity is set; the Slack id alone would do otherwise.
  return { username: ctx.identity?.username ?? ctx.user.name, slackUserId: ctx.user.id };
}

function describeCurrent(plan: KvPlan): string {
  const version = plan.metadata.currentVersion;
  const created = plan.metadata.versions.get(version)?.createdTime ?? 'an unknown time';
  const by = writtenBy(plan.metadata);
  return by !== undefined ? `• current version ${version}, written ${by.at || created} by ${by.by} through Lookout` : `• current version ${version}, written ${created} (not by Lookout)`;
}

function describeConsumers(consumers: readonly WorkloadRef[], namespace: string): string {
  return consumers.length === 0 ? '• no consumers to restart (add `--restart deployment/<name>,…`)' : `• then restart in ${namespace}: ${consumers.map(consumerName).join(', ')}`;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
