import { Conflict, InvalidInput, NotFound } from '../src/errors.ts';
import { followRollout } from '../src/workloads/rollout-progress.ts';
import { describeHpa, findHpa, hpaAttributes, readScale, scaleAttributes, writeHpaBounds, writeScale, type CurrentScale } from '../src/workloads/scale-workload.ts';
import { count, splitOptions } from '../src/workloads/workload-words.ts';
import { describeWorkload, parseWorkloadRef, workloadObject, type WorkloadRef } from '../src/workloads/workload-ref.ts';
import type { CommandContext, CommandDefinition, CommandReply, CommandSettings, LookoutReads, PersonKube } from './command.ts';
import { wordsArgs } from './words-args.ts';

export type ScaleArgs = { target: WorkloadRef } & ({ mode: 'replicas'; replicas: number } | { mode: 'hpa'; min?: number; max?: number });

/** Words → what to scale, or what is wrong. */
export function parseScale(words: readonly string[]): ScaleArgs | { error: string } {
  const split = splitOptions(words, ['--namespace', '--replicas', '--hpa-min', '--hpa-max']);
  if ('error' in split) return split;
  const { positional, options } = split;
  const [workload, replicasWord, ...extra] = positional;
  if (workload === undefined) return { error: 'needs a workload, e.g. `shop/cart 5`' };
  if (extra.length > 0) return { error: `unexpected \`${extra.join(' ')}\`` };
  const target = parseWorkloadRef(workload, options.get('--namespace'), ['Deployment', 'StatefulSet']);
  if ('error' in target) return target;
  const hpaMin = options.get('--hpa-min');
  const hpaMax = options.get('--hpa-max');
  const replicasText = options.get('--replicas') ?? replicasWord;
  if (options.has('--replicas') && replicasWord !== undefined) return { error: 'give the replica count once' };
  if (hpaMin !== undefined || hpaMax !== undefined) {
    if (replicasText !== undefined) return { error: 'give either a replica count or `--hpa-min`/`--hpa-max`, not both' };
    const min = count(hpaMin);
    const max = count(hpaMax);
    if (hpaMin !== undefined && (min === undefined || min < 1)) return { error: '`--hpa-min` must be a whole number, 1 or more' };
    if (hpaMax !== undefined && (max === undefined || max < 1)) return { error: '`--hpa-max` must be a whole number, 1 or more' };
    if (min !== undefined && max !== undefined && min > max) return { error: '`--hpa-min` must not be above `--hpa-max`' };
    return { target, mode: 'hpa', ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) };
  }
  if (replicasText === undefined) return { error: 'needs a replica count' };
  const replicas = count(replicasText);
  if (replicas === undefined) return { error: `\`${replicasText}\` is not a replica count (a whole number, 0 or more)` };
  return { target, mode: 'replicas', replicas };
}

/** The most replicas Lookout sets in a namespace (config `scale`). */
export function maxReplicasFor(settings: CommandSettings, namespace: string): number {
  return Object.hasOwn(settings.scale.maxReplicasByNamespace, namespace) ? (settings.scale.maxReplicasByNamespace[namespace] ?? settings.scale.maxReplicas) : settings.scale.maxReplicas;
}

/** Scaling to 0, or down by more than half, is asked first. */
export function needsConfirmation(from: number, to: number): boolean {
  return to === 0 || to * 2 < from;
}

/** The HPA of the workload, or a NotFound saying there is none (for `--hpa-*`). */
async function requireHpa(reads: LookoutReads | undefined, target: WorkloadRef) {
  const hpa = reads ? await findHpa(reads, target) : undefined;
  if (hpa === undefined) throw new NotFound(`No HorizontalPodAutoscaler scales ${describeWorkload(target)}, so there are no bounds to change. Scale it with a replica count instead.`);
  return hpa;
}

/**
 * `/ops scale`: sets a Deployment's or StatefulSet's replicas through the scale subresource as
 * the person (reviewed as `patch deployments/scale`; a Role granting only `deployments/scale`
 * is enough), or changes the bounds of the HPA that scales it (`patch horizontalpodautoscalers`).
 */
const scale: CommandDefinition<ScaleArgs> = {
  name: 'scale',
  summary: 'Scale a Deployment or StatefulSet (or change the bounds of its HPA)',
  usage: '<namespace>/<name> <replicas>  ·  <namespace>/statefulset/<name> <replicas>  ·  -n <namespace> deployment/<name> --replicas=N  ·  <namespace>/<name> --hpa-min N --hpa-max N',
  args: wordsArgs(parseScale),
  async access(args, { lookoutReads }) {
    if (args.mode === 'replicas') return scaleAttributes(args.target);
    const hpa = await requireHpa(lookoutReads, args.target);
    return hpaAttributes(args.target.namespace, hpa.name);
  },
  target: (args) => workloadObject(args.target),
  auditReason: 'ScaledBySlackUser',
  async run(ctx) {
    const { args } = ctx;
    if (ctx.kube === undefined || ctx.lookoutReads === undefined) throw new Error('scale needs Kubernetes');
    if (args.mode === 'hpa') return changeHpa(ctx, ctx.kube, ctx.lookoutReads, args);
    // Planning again at a Confirm click: always a question (the change may no longer need one), never the change.
    return scaleTo(ctx, ctx.kube, ctx.lookoutReads, args.target, args.replicas, { ask: ctx.replanning === true ? 'always' : 'when-large' });
  },
};

async function changeHpa(ctx: CommandContext<ScaleArgs>, kube: PersonKube, reads: LookoutReads, args: ScaleArgs & { mode: 'hpa' }): Promise<CommandReply> {
  // The HPA scales up to its max on its own: a bound above the limit is a scale above it, later.
  const max = maxReplicasFor(ctx.settings, args.target.namespace);
  for (const [flag, value] of [['--hpa-min', args.min], ['--hpa-max', args.max]] as const) {
    if (value !== undefined && value > max) throw new InvalidInput(`\`${flag} ${value}\` is above Lookout's limit of ${max} replicas for namespace ${args.target.namespace} (config \`scale.maxReplicas\`); nothing was changed.`);
  }
  const hpa = await requireHpa(reads, args.target);
  await writeHpaBounds(kube, args.target.namespace, hpa, { ...(args.min !== undefined ? { min: args.min } : {}), ...(args.max !== undefined ? { max: args.max } : {}) });
  const change = [args.min !== undefined ? `min ${hpa.minReplicas} → ${args.min}` : undefined, args.max !== undefined ? `max ${hpa.maxReplicas} → ${args.max}` : undefined].filter(Boolean).join(', ');
  ctx.log.info({ hpa: hpa.name, min: args.min, max: args.max }, 'HPA bounds changed');
  return { text: `${describeWorkload(args.target)}: HPA \`${hpa.name}\` ${change}. The HPA now scales within the new bounds.`, auditDetail: `HPA ${hpa.name}: ${change}` };
}

/**
 * The checks, then the change: asked first when it removes most or all capacity (`when-large`),
 * `always`, or `never` (the Scale button's modal was the question). Shared with the Scale button
 * on alert messages (src/slack/workload-actions.ts).
 */
export async function scaleTo(ctx: Pick<CommandContext<unknown>, 'settings' | 'log'>, kube: PersonKube, reads: LookoutReads, target: WorkloadRef, replicas: number, { ask }: { ask: 'never' | 'when-large' | 'always' } = { ask: 'when-large' }): Promise<CommandReply> {
  const max = maxReplicasFor(ctx.settings, target.namespace);
  if (replicas > max) throw new InvalidInput(`${replicas} replicas is above Lookout's limit of ${max} for namespace ${target.namespace} (config \`scale.maxReplicas\`); nothing was changed.`);
  const hpa = await findHpa(reads, target);
  if (hpa !== undefined) {
    throw new Conflict(
      `${describeWorkload(target)} is scaled by ${describeHpa(hpa)}, which would undo a manual change; nothing was changed. ` +
        `Change its bounds instead: \`--hpa-min N\` / \`--hpa-max N\`.`,
    );
  }
  const current = await readScale(kube, target);
  const name = describeWorkload(target);
  if (current.replicas === replicas) return { text: `${name} already has ${replicas} replicas; nothing was changed.`, auditDetail: `already ${replicas} replicas` };
  if (ask === 'always' || (ask === 'when-large' && needsConfirmation(current.replicas, replicas))) {
    const down = replicas < current.replicas;
    const what = replicas === 0 ? 'stops every pod' : down ? `removes ${current.replicas - replicas} of ${current.replicas} pods` : `adds ${replicas - current.replicas} pods`;
    return {
      text: `Scale *${name}* from ${current.replicas} to ${replicas} replicas? This ${what}.`,
      confirm: {
        title: replicas === 0 ? 'Scale to 0?' : down ? 'Scale down?' : 'Scale up?',
        question: `${name}: ${current.replicas} → ${replicas} replicas. This ${what}.`,
        confirmLabel: `Scale to ${replicas}`,
        style: 'danger',
        run: async () => apply(ctx, kube, reads, target, replicas, await unchangedSince(kube, target, current)),
      },
    };
  }
  return apply(ctx, kube, reads, target, replicas, current);
}

/** At the Confirm click: the replicas must still be what the question showed. */
async function unchangedSince(kube: PersonKube, target: WorkloadRef, asked: CurrentScale): Promise<CurrentScale> {
  const now = await readScale(kube, target);
  if (now.replicas !== asked.replicas) throw new Conflict(`${describeWorkload(target)} now has ${now.replicas} replicas, not ${asked.replicas} as when you asked; nothing was changed. Run the command again.`);
  return now;
}

async function apply(ctx: Pick<CommandContext<unknown>, 'settings' | 'log'>, kube: PersonKube, reads: LookoutReads, target: WorkloadRef, replicas: number, current: CurrentScale): Promise<CommandReply> {
  await writeScale(kube, target, replicas, current);
  const headline = `${describeWorkload(target)}: ${current.replicas} → ${replicas} replicas`;
  ctx.log.info({ workload: target, from: current.replicas, to: replicas }, 'scaled');
  return {
    text: headline,
    auditDetail: `replicas ${current.replicas} → ${replicas}`,
    followUp: followRollout({ reads, ref: target, timeoutMs: ctx.settings.rollout.timeoutMs, pollIntervalMs: ctx.settings.rollout.pollIntervalMs, headline }),
  };
}

export default scale;
