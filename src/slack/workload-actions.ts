import { groupWorkload, RESTART_ACTION_ID, SCALE_ACTION_ID, type GroupWorkload } from '../../alerts/alert-buttons.ts';
import { isFiring } from '../../alerts/group-state.ts';
import type { CommandReply, CommandSettings, LookoutReads } from '../../commands/command.ts';
import { restartNow } from '../../commands/restart.ts';
import { maxReplicasFor, scaleTo } from '../../commands/scale.ts';
import { InvalidInput, UserError } from '../errors.ts';
import type { KubeHttp } from '../kube/kube-http.ts';
import { LookoutKubeReads } from '../kube/lookout-reads.ts';
import type { GroupRecord } from '../state/store.ts';
import { readScale, scaleAttributes } from '../workloads/scale-workload.ts';
import { restartAttributes } from '../workloads/restart-workload.ts';
import { describeWorkload, workloadObject, type WorkloadRef } from '../workloads/workload-ref.ts';
import type { AlertAction, AlertActionContext, AlertActionOutcome, ModalContent } from './alert-actions.ts';
import type { ViewValues } from './interaction-payloads.ts';

export interface WorkloadActionOptions {
  /** Lookout's own client: rollout status and HPA reads are Lookout's (see LookoutReads). */
  kube: Pick<KubeHttp, 'request'> | undefined;
  settings: CommandSettings;
}

/** The workload the stored group is about, if Scale and Restart apply to it. */
function targetOf(record: GroupRecord): WorkloadRef | undefined {
  const workload: GroupWorkload | undefined = groupWorkload(record.state, record.enrichment);
  if (workload === undefined || (workload.kind !== 'Deployment' && workload.kind !== 'StatefulSet')) return undefined;
  return { kind: workload.kind, namespace: workload.namespace, name: workload.name };
}

function refusal(record: GroupRecord): string | undefined {
  if (!isFiring(record.state)) return 'Every alert of this group has resolved; Lookout offers Scale and Restart only while it fires.';
  if (targetOf(record) === undefined) return 'Lookout found no single Deployment or StatefulSet for this alert, so there is nothing to act on.';
  return undefined;
}

/** The alert's thread reply: who did it, then the command's own reply (and its rollout progress). */
function inThread(ctx: AlertActionContext<unknown>, verb: string, reply: CommandReply): AlertActionOutcome {
  const who = `<@${ctx.actor.slackUserId}> ${verb}`;
  const prefix = (text: string): string => `${who}: ${text}`;
  const { followUp } = reply;
  return {
    auditDetail: reply.auditDetail ?? 'done',
    thread: { text: prefix(reply.text) },
    ...(followUp ? { followUp: async (progress) => ({ text: prefix((await followUp({ update: (content) => progress.update({ text: prefix(content.text) }), signal: progress.signal })).text) }) } : {}),
  };
}

const REPLICAS_BLOCK = 'replicas';
const LARGE_DOWN_BLOCK = 'confirm-large';

function replicasForm(target: WorkloadRef, note: string, initial: number | undefined): ModalContent {
  return {
    title: 'Scale',
    submit: 'Scale',
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${describeWorkload(target)}* (${target.kind})\n${note}` } },
      {
        type: 'input',
        // A new block_id once the current count is known: Slack keeps an input's state per block_id.
        block_id: initial === undefined ? REPLICAS_BLOCK : `${REPLICAS_BLOCK}-${initial}`,
        label: { type: 'plain_text', text: 'Replicas' },
        element: { type: 'plain_text_input', action_id: 'value', ...(initial === undefined ? {} : { initial_value: String(initial) }) },
      },
      {
        type: 'input',
        block_id: LARGE_DOWN_BLOCK,
        optional: true,
        label: { type: 'plain_text', text: 'Large scale-down' },
        element: { type: 'checkboxes', action_id: 'value', options: [{ text: { type: 'plain_text', text: 'Yes, scale to 0 or down by more than half' }, value: 'yes' }] },
      },
    ],
  };
}

function parseReplicas(values: ViewValues): { input: { replicas: number; largeDownConfirmed: boolean } } | { errors: Record<string, string> } {
  const blockId = Object.keys(values).find((id) => id === REPLICAS_BLOCK || id.startsWith(`${REPLICAS_BLOCK}-`)) ?? REPLICAS_BLOCK;
  const text = (values[blockId]?.['value']?.value ?? '').trim();
  if (!/^\d{1,6}$/.test(text)) return { errors: { [blockId]: 'Write a whole number of replicas, 0 or more.' } };
  const checked = values[LARGE_DOWN_BLOCK]?.['value']?.selected_options ?? [];
  return { input: { replicas: Number(text), largeDownConfirmed: checked.some((option) => option.value === 'yes') } };
}

/**
 * The Scale button (a form with the current replica count, read as the clicker after the form
 * is open) and the Restart button (Slack's confirm dialog, then as `/ops restart` after Confirm).
 * Both act on the workload enrichment found for the stored group, never on anything the click
 * carries, and reply in the alert's thread.
 */
export function workloadActions({ kube, settings }: WorkloadActionOptions): [AlertAction<{ replicas: number; largeDownConfirmed: boolean }>, AlertAction] {
  const reads: LookoutReads | undefined = kube ? new LookoutKubeReads(kube) : undefined;
  const needs = (ctx: AlertActionContext<unknown>): { target: WorkloadRef; kube: NonNullable<AlertActionContext<unknown>['kube']>; reads: LookoutReads } => {
    const target = targetOf(ctx.record);
    if (target === undefined || ctx.kube === undefined || reads === undefined) throw new InvalidInput('Lookout found no single Deployment or StatefulSet for this alert, so there is nothing to act on.');
    return { target, kube: ctx.kube, reads };
  };
  const coarse = (record: GroupRecord, attributes: (target: WorkloadRef) => ReturnType<typeof scaleAttributes>, fallback: ReturnType<typeof scaleAttributes>) => {
    const target = targetOf(record);
    return target === undefined ? fallback : attributes(target);
  };
  const scaleCoarse = { verb: 'patch', group: 'apps', resource: 'deployments', subresource: 'scale' };
  const restartCoarse = { verb: 'patch', group: 'apps', resource: 'deployments' };
  return [
    {
      actionId: SCALE_ACTION_ID,
      name: 'scale',
      coarseAccess: scaleCoarse,
      refusal,
      access: (record) => coarse(record, (target) => scaleAttributes(target), scaleCoarse),
      target: (record) => {
        const target = targetOf(record);
        return target === undefined ? undefined : workloadObject(target);
      },
      auditReason: 'ScaledBySlackUser',
      modal: {
        view: (record) => {
          const target = targetOf(record);
          if (target === undefined) throw new Error('Scale opened for a group without a workload');
          return replicasForm(target, '_Reading the current replica count…_', undefined);
        },
        fill: async ({ record, kube: asClicker, log }) => {
          const target = targetOf(record);
          if (target === undefined || asClicker === undefined) return undefined;
          try {
            const current = await readScale(asClicker, target);
            return replicasForm(target, `Now ${current.replicas} replicas. Lookout's limit here: ${maxReplicasFor(settings, target.namespace)}.`, current.replicas);
          } catch (error) {
            // Only a UserError's text is for people (a refusal naming the permission); the rest is logged.
            if (!(error instanceof UserError)) log.warn({ err: error }, 'could not read the current replica count for the Scale form');
            return replicasForm(target, `_${error instanceof UserError ? error.message : 'Lookout could not read the current replica count.'}_`, undefined);
          }
        },
        parse: parseReplicas,
      },
      async run(ctx) {
        const { target, kube: asClicker, reads: asLookout } = needs(ctx);
        const current = await readScale(asClicker, target);
        const large = ctx.input.replicas === 0 || ctx.input.replicas * 2 < current.replicas;
        if (large && !ctx.input.largeDownConfirmed) {
          throw new InvalidInput(`Scaling ${describeWorkload(target)} from ${current.replicas} to ${ctx.input.replicas} removes most of its pods: click Scale again and tick "Yes, scale to 0 or down by more than half". Nothing was changed.`);
        }
        const reply = await scaleTo({ settings, log: ctx.log }, asClicker, asLookout, target, ctx.input.replicas, { ask: 'never' });
        return inThread(ctx, 'scaled', reply);
      },
    },
    {
      actionId: RESTART_ACTION_ID,
      name: 'restart',
      coarseAccess: restartCoarse,
      refusal,
      access: (record) => coarse(record, restartAttributes, restartCoarse),
      target: (record) => {
        const target = targetOf(record);
        return target === undefined ? undefined : workloadObject(target);
      },
      auditReason: 'RestartedBySlackUser',
      // Slack's confirm dialog on the button asked first; the click arrives confirmed.
      async run(ctx) {
        const { target, kube: asClicker, reads: asLookout } = needs(ctx);
        return inThread(ctx, 'restarted', await restartNow({ settings, log: ctx.log }, asClicker, asLookout, target));
      },
    },
  ];
}
