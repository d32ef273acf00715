import { followRollout } from '../src/workloads/rollout-progress.ts';
import { checkRestart, restartAttributes, writeRestart } from '../src/workloads/restart-workload.ts';
import { parseWorkloadTarget } from '../src/workloads/workload-words.ts';
import { describeWorkload, workloadObject, type WorkloadRef } from '../src/workloads/workload-ref.ts';
import type { CommandContext, CommandDefinition, CommandReply, LookoutReads, PersonKube } from './command.ts';
import { wordsArgs } from './words-args.ts';


/**
 * `/ops restart`: a rolling restart as `kubectl rollout restart` does it, always asked first.
 * Reviewed as `patch deployments` (statefulsets, daemonsets); the patch runs as the person.
 */
const restart: CommandDefinition<{ target: WorkloadRef }> = {
  name: 'restart',
  summary: 'Rolling restart of a Deployment, StatefulSet or DaemonSet (asks first)',
  usage: '<namespace>/<name>  ·  <namespace>/statefulset/<name>  ·  <namespace>/daemonset/<name>  ·  -n <namespace> deployment/<name>',
  args: wordsArgs(parseWorkloadTarget),
  access: ({ target }) => restartAttributes(target),
  target: ({ target }) => workloadObject(target),
  auditReason: 'RestartedBySlackUser',
  async run(ctx) {
    if (ctx.kube === undefined || ctx.lookoutReads === undefined) throw new Error('restart needs Kubernetes');
    return askRestart(ctx, ctx.kube, ctx.lookoutReads, ctx.args.target);
  },
};

/** The question (with the OnDelete warning), and the restart once confirmed. Shared with the Restart button. */
export async function askRestart(ctx: Pick<CommandContext<unknown>, 'settings' | 'log'>, kube: PersonKube, reads: LookoutReads, target: WorkloadRef): Promise<CommandReply> {
  const check = await checkRestart(reads, target);
  const name = describeWorkload(target);
  const warning = check.onDelete ? ` ⚠️ Its updateStrategy is OnDelete: the restart annotation is set, but no pod restarts until someone deletes it.` : '';
  return {
    text: `Restart *${name}*? Its pods are replaced one by one by its update strategy.${warning}`,
    confirm: {
      title: 'Restart?',
      question: `Rolling restart of ${name}.${check.onDelete ? ' updateStrategy is OnDelete: no pod restarts by itself.' : ''}`,
      confirmLabel: 'Restart',
      style: 'danger',
      run: () => restartNow(ctx, kube, reads, target),
    },
  };
}

/** The restart itself (checked again: it may have been paused meanwhile), followed to its end. */
export async function restartNow(ctx: Pick<CommandContext<unknown>, 'settings' | 'log'>, kube: PersonKube, reads: LookoutReads, target: WorkloadRef): Promise<CommandReply> {
  const check = await checkRestart(reads, target);
  const stamp = await writeRestart(kube, reads, target, Date.now());
  const name = describeWorkload(target);
  ctx.log.info({ workload: target, restartedAt: stamp }, 'restarted');
  if (check.onDelete) {
    return { text: `${name}: restartedAt set to ${stamp}. ⚠️ updateStrategy is OnDelete: no pod restarts until it is deleted.`, auditDetail: `restartedAt ${stamp} (OnDelete: no pod restarted)` };
  }
  const headline = `${name}: restarting (restartedAt ${stamp})`;
  return {
    text: headline,
    auditDetail: `restartedAt ${stamp}`,
    followUp: followRollout({ reads, ref: target, timeoutMs: ctx.settings.rollout.timeoutMs, pollIntervalMs: ctx.settings.rollout.pollIntervalMs, headline }),
  };
}

export default restart;
