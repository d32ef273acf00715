import { randomUUID } from 'node:crypto';
import type { KnownBlock, ModalView } from '@slack/types';
import { z } from 'zod';
import type { FollowUpWork, PersonKube, ReplyContent } from '../../commands/command.ts';
import { groupRef } from '../../alerts/render.ts';
import type { Gate } from '../access/access-gate.ts';
import type { Actor, AuditEntry, AuditTrail, ObjectReference } from '../access/authorization.ts';
import { FOREIGN_WORKSPACE_MESSAGE, isHomeTeam, type WorkspaceSource } from '../access/home-workspace.ts';
import { Forbidden, UserError } from '../errors.ts';
import type { KubeIdentity } from '../identity/resolve-identity.ts';
import type { ResourceAttributes } from '../kube/access-review.ts';
import type { KubeHttp } from '../kube/kube-http.ts';
import { PersonKubeClient } from '../kube/person-kube.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { GroupRecord, Store } from '../state/store.ts';
import type { ButtonClick, ViewValues } from './interaction-payloads.ts';
import type { ButtonHandler, InteractionRegistry, ViewHandler } from './interaction-registry.ts';
import type { InteractionSlack } from './interaction-slack.ts';
import type { StoredInteractions } from './stored-interactions.ts';
import { followThrough, ThreadMessageReply, type ReplyChannel } from './reply-channel.ts';
import { clip } from './reply-limits.ts';

/**
 * A button on alert messages that acts (alerts/alert-buttons.ts renders it). The action holds
 * only its own logic; the dispatcher here owns the rest: acknowledge, find the group from the
 * message clicked (never from the payload), check the button's value against it, refuse other
 * workspaces, review `access` for the clicker, run as them, reply, audit every attempt.
 */
export interface AlertAction<Input = undefined> {
  /** The button's action_id. */
  actionId: string;
  /** The audit and metrics name, e.g. `scale`. */
  name: string;
  /** The permission without namespace or name: audited for attempts made before the group is known. */
  coarseAccess: ResourceAttributes;
  /** Why the click cannot apply to this group now ("every alert has resolved"); checked first. */
  refusal?(record: GroupRecord): string | undefined;
  /** Collect input in a modal before acting (see AlertActionModal). */
  modal?: AlertActionModal<Input>;
  /** The exact SubjectAccessReview attributes for the clicker, from the stored group (and input). */
  access(record: GroupRecord, input: Input): ResourceAttributes;
  /**
   * A sentence added to the gate's refusal, e.g. why the permission is asked cluster-wide and how
   * to ask for less (as CommandDefinition.deniedHint). The refusal always names the permission.
   */
  deniedHint?(record: GroupRecord, input: Input): string | undefined;
  /** The object the audit Event goes on. */
  target?(record: GroupRecord): ObjectReference | undefined;
  /** Event reason when it succeeded, e.g. `ScaledBySlackUser`. */
  auditReason?: string;
  /** Acts, allowed. A UserError's text goes to the clicker; anything else becomes "internal error (ref …)". */
  run(ctx: AlertActionContext<Input>): Promise<AlertActionOutcome>;
}

/**
 * A modal opened by the click. `view` is built from the stored group alone, because views.open
 * must happen within the trigger_id's 3 s (and the id works once): anything that needs a call
 * (the current replica count) goes in `fill`, which runs after the modal is open and may
 * replace its content. The modal carries only an unguessable reference to the click's
 * server-side record (private_metadata); the submission acts on that record's group.
 */
export interface AlertActionModal<Input> {
  view(record: GroupRecord): ModalContent;
  fill?(ctx: ModalFillContext): Promise<ModalContent | undefined>;
  /** The submitted input, or errors to show next to the inputs (block_id → message). In memory only: Slack waits. */
  parse(values: ViewValues): { input: Input } | { errors: Record<string, string> };
}

/** A modal's text: title and submit label at most 24 characters (clipped), at most 100 blocks. */
export interface ModalContent {
  title: string;
  submit: string;
  blocks: KnownBlock[];
}

export interface ModalFillContext {
  record: GroupRecord;
  actor: Actor;
  /** Kubernetes as the clicker; reads that fail show in the modal, they do not act. */
  kube: PersonKube | undefined;
  log: Logger;
}

export interface AlertActionContext<Input> {
  record: GroupRecord;
  input: Input;
  actor: Actor;
  identity: KubeIdentity;
  /** Kubernetes as the clicker (impersonated); undefined when Lookout has no Kubernetes connection. */
  kube: PersonKube | undefined;
  log: Logger;
}

export interface AlertActionOutcome {
  /** One short line for the audit record; never a secret. */
  auditDetail: string;
  /** A reply in the alert's thread, for everyone: "<@U…> scaled shop/cart 2 → 5". */
  thread?: ReplyContent;
  /** Shown to the clicker only. */
  ephemeral?: string;
  /** Continues after the reply: edits the thread reply (or, without one, shows its end to the clicker). */
  followUp?: FollowUpWork;
}

// Actions are registered side by side whatever their input types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the registry is heterogeneous by design
export type AnyAlertAction = AlertAction<any>;

/**
 * A modal waiting for its submission: what the click was on. Kept in the store (kind `modal`,
 * owned by the person who clicked), so the submission may reach any replica.
 */
export const pendingModalSchema = z.object({
  actionId: z.string(),
  groupId: z.number(),
  channelId: z.string(),
  messageTs: z.string(),
  // JSON has no undefined: a click without a value is stored as null.
  value: z.string().nullable(),
});

export type PendingModal = z.infer<typeof pendingModalSchema>;

export interface AlertActionDeps {
  store: Pick<Store, 'groupByMessage'>;
  gate: Pick<Gate, 'authorize' | 'identify'>;
  audit: AuditTrail;
  kube: Pick<KubeHttp, 'request'> | undefined;
  slack: InteractionSlack;
  /** Open modals, by the id in their private_metadata (kind `modal`, owner: the Slack user who clicked). */
  modals: StoredInteractions<PendingModal>;
  log: Logger;
  metrics: Metrics;
  /** Lookout's own Slack workspace: clicks by anyone else are refused (absent in console mode). */
  home?: WorkspaceSource;
  /** Least time between two progress edits of a thread reply. */
  followUpIntervalMs: number;
  /** Aborted at shutdown. */
  signal: AbortSignal;
}

// Also what the store's acknowledgement transaction answers when the group is gone.
export { NOT_THIS_MESSAGE } from '../../alerts/acknowledge-group.ts';
import { NOT_THIS_MESSAGE } from '../../alerts/acknowledge-group.ts';
export const MODAL_GONE = 'This form has expired or was already submitted, so Lookout did nothing. Click the button again.';
export const MODAL_UNREADABLE = 'Lookout could not reach its store to look up this form, so it did nothing. Submit again in a moment.';

/** The callback_id of an action's modal. */
export function modalCallbackId(actionId: string): string {
  return `alert-action:${actionId}`;
}

/** Registers each action's button (and modal) with the interaction registry. */
export function registerAlertActions(registry: InteractionRegistry, actions: readonly AnyAlertAction[], deps: AlertActionDeps): void {
  for (const action of actions) {
    registry.button(alertButtonHandler(action, deps));
    if (action.modal) registry.view(alertModalHandler(action, deps));
  }
}

/** Where the click was and what it claims to be about; the group is looked up from it. */
interface ClickedMessage {
  channelId: string;
  messageTs: string;
  value: string | undefined;
  /** For a modal's submission: the group the modal was opened for. */
  groupId?: number;
}

export function alertButtonHandler<Input>(action: AlertAction<Input>, deps: AlertActionDeps): ButtonHandler {
  return {
    actionId: action.actionId,
    async handle(click: ButtonClick) {
      const log = deps.log.child({ action: action.name, user: click.actor.slackUserId, channel: click.channelId, messageTs: click.messageTs });
      if (action.modal) {
        await openModal(action, action.modal, deps, click, log);
        return;
      }
      await act(action, deps, click.actor, click, undefined as Input, log);
    },
  };
}

export function alertModalHandler<Input>(action: AlertAction<Input>, deps: AlertActionDeps): ViewHandler {
  const modal = action.modal;
  if (modal === undefined) throw new Error(`alert action ${action.name} has no modal`);
  return {
    callbackId: modalCallbackId(action.actionId),
    async submit(submission) {
      const log = deps.log.child({ action: action.name, user: submission.actor.slackUserId, modal: true });
      const id = submission.privateMetadata;
      const owner = submission.actor.slackUserId;
      // Said next to the form's first input, the only place a submission can be answered.
      const refuse = (text: string) => {
        const firstInput = Object.keys(submission.values)[0];
        return { answer: firstInput === undefined ? undefined : { errors: { [firstInput]: text } } };
      };
      const unreadable = (error: unknown) => {
        log.error({ err: error }, 'could not read the form from the store; nothing done');
        deps.metrics.buttonActions.inc({ action: action.name, outcome: 'error' });
        return refuse(MODAL_UNREADABLE);
      };
      let entry: { owner: string; value: PendingModal } | undefined;
      try {
        entry = await deps.modals.peek(id);
      } catch (error) {
        return unreadable(error);
      }
      if (entry === undefined || entry.owner !== owner || entry.value.actionId !== action.actionId) {
        log.warn('modal submission matches no form this person opened; nothing done');
        deps.metrics.buttonActions.inc({ action: action.name, outcome: 'refused' });
        return refuse(MODAL_GONE);
      }
      const parsed = modal.parse(submission.values);
      if ('errors' in parsed) return { answer: { errors: parsed.errors } };
      // Used once: a second submission (a double click on Submit, on this replica or another) finds nothing.
      try {
        if ((await deps.modals.claim(id, owner)) === undefined) return refuse(MODAL_GONE);
      } catch (error) {
        return unreadable(error);
      }
      const { value: form } = entry;
      const where: ClickedMessage = { channelId: form.channelId, messageTs: form.messageTs, value: form.value ?? undefined, groupId: form.groupId };
      return { answer: undefined, after: () => act(action, deps, submission.actor, where, parsed.input, log) };
    },
  };
}

/** The modal, opened before anything slow; then filled in (as the clicker) if the action wants. */
async function openModal<Input>(action: AlertAction<Input>, modal: AlertActionModal<Input>, deps: AlertActionDeps, click: ButtonClick, log: Logger): Promise<void> {
  const tell = teller(deps, click.actor, click.channelId, log);
  // Before the form's reads as the clicker. Lookout's workspace is learned at start, so this
  // is no Slack call (the trigger_id expires 3 s after the click).
  try {
    if (await refusedForeign(deps, action, click.actor, action.coarseAccess, tell, log)) return;
  } catch (error) {
    log.warn({ err: error }, "Lookout's Slack workspace is not known (auth.test failed): no form opened");
    await tell("Lookout does not know its own Slack workspace yet (Slack's auth.test failed), so it cannot tell who may act. Click the button again in a moment.");
    return;
  }
  // Only local reads before views.open.
  const record = await deps.store.groupByMessage(click.channelId, click.messageTs);
  if (record === undefined || click.value !== groupRef(record.groupKey)) {
    log.warn({ known: record !== undefined }, 'click does not match the stored group of its message; refused');
    await audited(deps, action, click.actor, 'refused', { attributes: action.coarseAccess, outcome: 'denied', detail: 'refused: the button does not belong to the message it was clicked on' });
    await tell(NOT_THIS_MESSAGE);
    return;
  }
  const refusal = action.refusal?.(record);
  if (refusal !== undefined) {
    await tell(refusal);
    return;
  }
  if (click.triggerId === undefined) {
    log.warn('click without a trigger_id: no modal can be opened');
    await tell('Slack sent no trigger for a form, so Lookout could not open one. Click the button again.');
    return;
  }
  let id: string;
  try {
    id = await deps.modals.add(click.actor.slackUserId, { actionId: action.actionId, groupId: record.id, channelId: click.channelId, messageTs: click.messageTs, value: click.value ?? null });
  } catch (error) {
    log.error({ err: error }, 'could not keep the form in the store; no form opened');
    await tell('Lookout could not reach its store, so it opened no form. Click the button again in a moment.');
    return;
  }
  let viewId: string;
  try {
    viewId = await deps.slack.openView(click.triggerId, modalView(action.actionId, id, modal.view(record)));
  } catch (error) {
    // No form shows it: the entry goes now rather than at its expiry (a failure here leaves it to expire).
    await deps.modals.claim(id, click.actor.slackUserId).catch(() => undefined);
    log.warn({ err: error }, 'views.open failed');
    await tell('Slack did not open the form (the click may have taken too long to reach Lookout). Click the button again.');
    return;
  }
  if (modal.fill === undefined) return;
  try {
    const kube = deps.kube ? personKube(deps.kube, deps.gate, click.actor) : undefined;
    const filled = await modal.fill({ record, actor: click.actor, kube, log });
    if (filled !== undefined) await deps.slack.updateView(viewId, modalView(action.actionId, id, filled));
  } catch (error) {
    log.warn({ err: error }, 'could not fill in the form after opening it');
  }
}

function modalView(actionId: string, pendingId: string, content: ModalContent): ModalView {
  return {
    type: 'modal',
    callback_id: modalCallbackId(actionId),
    private_metadata: pendingId,
    title: { type: 'plain_text', text: clip(content.title, 24) },
    submit: { type: 'plain_text', text: clip(content.submit, 24) },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: content.blocks,
  };
}

/** From the clicked message to the outcome: checks, review, run, reply, audit. */
async function act<Input>(action: AlertAction<Input>, deps: AlertActionDeps, actor: Actor, where: ClickedMessage, input: Input, log: Logger): Promise<void> {
  const tell = teller(deps, actor, where.channelId, log);
  let entry: Omit<AuditEntry, 'action' | 'actor' | 'outcome' | 'detail'> = { attributes: action.coarseAccess };
  try {
    if (await refusedForeign(deps, action, actor, entry.attributes, tell, log)) return;
    const record = await deps.store.groupByMessage(where.channelId, where.messageTs);
    if (record === undefined || where.value !== groupRef(record.groupKey) || (where.groupId !== undefined && where.groupId !== record.id)) {
      log.warn({ known: record !== undefined }, 'click does not match the stored group of its message; refused');
      await audited(deps, action, actor, 'refused', { ...entry, outcome: 'denied', detail: 'refused: the button does not belong to the message it was clicked on' });
      await tell(NOT_THIS_MESSAGE);
      return;
    }
    const target = action.target?.(record);
    entry = { attributes: action.access(record, input), ...(target ? { target } : {}) };
    const refusal = action.refusal?.(record);
    if (refusal !== undefined) {
      await audited(deps, action, actor, 'refused', { ...entry, outcome: 'denied', detail: `refused: ${refusal}` });
      await tell(refusal);
      return;
    }
    const authorization = await deps.gate.authorize(actor, entry.attributes);
    if (!authorization.allowed) {
      const identity = authorization.reason === 'denied' ? { identity: authorization.identity } : {};
      await audited(deps, action, actor, 'denied', { ...entry, ...identity, outcome: 'denied', detail: authorization.message });
      const hint = authorization.reason === 'denied' ? action.deniedHint?.(record, input) : undefined;
      await tell(hint === undefined ? authorization.message : `${authorization.message} ${hint}`);
      return;
    }
    const { identity } = authorization;
    entry = { ...entry, identity };
    const kube = deps.kube ? new PersonKubeClient({ kube: deps.kube, identity: async () => identity }) : undefined;
    const outcome = await action.run({ record, input, actor, identity, kube, log });
    await audited(deps, action, actor, 'ok', { ...entry, outcome: 'allowed', detail: outcome.auditDetail, ...(action.auditReason ? { reason: action.auditReason } : {}) });
    log.info({ groupKey: record.groupKey, username: identity.username }, `${action.name} done`);
    await reply(deps, outcome, { channelId: where.channelId, threadTs: where.messageTs }, tell, log);
  } catch (error) {
    if (error instanceof UserError) {
      log.info({ reason: error.message }, `${action.name} refused`);
      await audited(deps, action, actor, 'refused', { ...entry, outcome: 'failed', detail: error.message });
      await tell(error.message);
      return;
    }
    const ref = randomUUID().slice(0, 8);
    log.error({ err: error, ref }, `${action.name} failed`);
    await audited(deps, action, actor, 'error', { ...entry, outcome: 'failed', detail: `internal error (ref ${ref})` });
    await tell(`Internal error (ref ${ref}). The details are in Lookout's log.`);
  }
}

/** A person of another workspace (a Slack Connect channel) is refused, audited, before anything is read. */
async function refusedForeign(deps: AlertActionDeps, action: AnyAlertAction, actor: Actor, attributes: ResourceAttributes, tell: (text: string) => Promise<void>, log: Logger): Promise<boolean> {
  if (deps.home === undefined || isHomeTeam(await deps.home.get(), actor)) return false;
  log.warn({ teamId: actor.teamId, enterpriseId: actor.enterpriseId }, 'click by a person of another Slack workspace refused');
  await audited(deps, action, actor, 'refused', { attributes, outcome: 'denied', detail: `refused: not a member of this Slack workspace (team ${actor.teamId ?? 'not stated'})` });
  await tell(FOREIGN_WORKSPACE_MESSAGE);
  return true;
}

/** The outcome shown: the clicker's ephemeral, the thread reply, and its follow-up edits. */
async function reply(deps: AlertActionDeps, outcome: AlertActionOutcome, thread: { channelId: string; threadTs: string }, tell: (text: string) => Promise<void>, log: Logger): Promise<void> {
  if (outcome.ephemeral !== undefined) await tell(outcome.ephemeral);
  let channel: ReplyChannel | undefined;
  if (outcome.thread !== undefined) {
    channel = new ThreadMessageReply({ slack: deps.slack.thread, channel: thread.channelId, threadTs: thread.threadTs, log });
    await channel.show(outcome.thread, outcome.followUp === undefined);
  }
  if (outcome.followUp === undefined) return;
  const endOnly: ReplyChannel = {
    show: async (content, final) => {
      if (final) await tell(content.text);
      return final;
    },
  };
  await followThrough(outcome.followUp, channel ?? endOnly, {
    minIntervalMs: deps.followUpIntervalMs,
    signal: deps.signal,
    log,
    failure: (error) => {
      if (error instanceof UserError) return { text: error.message };
      const ref = randomUUID().slice(0, 8);
      log.error({ err: error, ref }, 'action follow-up failed');
      return { text: `Internal error (ref ${ref}). The details are in Lookout's log.` };
    },
  });
}

type MetricOutcome = 'ok' | 'refused' | 'denied' | 'error';

async function audited(deps: AlertActionDeps, action: AnyAlertAction, actor: Actor, outcome: MetricOutcome, entry: Omit<AuditEntry, 'action' | 'actor'>): Promise<void> {
  deps.metrics.buttonActions.inc({ action: action.name, outcome });
  await deps.audit.record({ action: action.name, actor, ...entry });
}

/** An ephemeral message to the clicker in the channel of the click; failures are logged. */
function teller(deps: AlertActionDeps, actor: Actor, channelId: string, log: Logger): (text: string) => Promise<void> {
  return async (text) => {
    await deps.slack.postEphemeral(channelId, actor.slackUserId, { text }).catch((error: unknown) => log.warn({ err: error, channel: channelId }, 'could not tell the clicker the outcome'));
  };
}

/** Kubernetes as a clicker whose access was not reviewed yet (for reads that fill a modal). */
function personKube(kube: Pick<KubeHttp, 'request'>, gate: Pick<Gate, 'identify'>, actor: Actor): PersonKube {
  return new PersonKubeClient({
    kube,
    identity: async () => {
      const identification = await gate.identify(actor);
      if (!identification.mapped) throw new Forbidden(identification.message);
      return identification.identity;
    },
  });
}
