import { randomUUID } from 'node:crypto';
import type { KnownBlock } from '@slack/types';
import type { AccessLookup, AnyCommand, CommandContext, CommandReply, CommandSettings, Confirmation, PersonAccess, ReplyContent } from '../../commands/command.ts';
import { commandButtonActionId, DEFAULT_COMMAND_SETTINGS, usageOf } from '../../commands/command.ts';
import { LookoutKubeReads } from '../kube/lookout-reads.ts';
import type { Gate } from '../access/access-gate.ts';
import { FOREIGN_WORKSPACE_MESSAGE, isHomeTeam, type WorkspaceSource } from '../access/home-workspace.ts';
import type { Actor, AuditEntry, AuditTrail } from '../access/authorization.ts';
import { Forbidden, InvalidInput, UserError } from '../errors.ts';
import type { KubeIdentity } from '../identity/resolve-identity.ts';
import type { ResourceAttributes } from '../kube/access-review.ts';
import type { KubeHttp } from '../kube/kube-http.ts';
import { PersonKubeClient } from '../kube/person-kube.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { ButtonClick } from './interaction-payloads.ts';
import type { ButtonHandler } from './interaction-registry.ts';
import type { InteractionSlack } from './interaction-slack.ts';
import { confirmationOwner, sameConfirmation, shownOf, storedIdentity, type PendingConfirmation } from './pending-confirmation.ts';
import { followThrough, ResponseUrlReply, type ReplyChannel } from './reply-channel.ts';
import { blockProblems, button, confirmDialog } from './reply-limits.ts';
import { splitWords } from './split-words.ts';
import type { StoredInteractions } from './stored-interactions.ts';

/** What Slack sends with a slash command (the fields Lookout uses). */
export interface SlashCommandPayload {
  command: string;
  text: string;
  user_id: string;
  user_name: string;
  channel_id: string;
  /** Where the reply and its later edits go (5 posts within 30 minutes); absent only in tests. */
  response_url?: string;
  /** The workspace of the person who typed the command; absent only in tests. */
  team_id?: string;
  /** Their Enterprise Grid organisation, on Grid only. */
  enterprise_id?: string;
}

export interface DispatcherDeps {
  commands: readonly AnyCommand[];
  slashCommand: string;
  log: Logger;
  metrics: Metrics;
  /** The RBAC gate every command that declares `access` goes through. */
  gate: Gate;
  /** Records every attempt at a command that declares `access`. */
  audit: AuditTrail;
  /** Lookout's Kubernetes client, for calls made as the person; undefined without Kubernetes. */
  kube: Pick<KubeHttp, 'request'> | undefined;
  /**
   * Lookout's own Slack workspace: commands from anyone else are refused. Always set when Slack
   * is configured; absent in console mode, where no request can be verified anyway.
   */
  home?: WorkspaceSource;
  /** Confirmations and follow-up edits; without it (console mode) replies are text only. */
  interactive?: CommandInteractivity;
  /** Limits and timeouts commands apply; defaults when absent (tests). */
  settings?: CommandSettings;
}

/** What the dispatcher needs for replies that go on after the first answer. */
export interface CommandInteractivity {
  /** Typed commands waiting for their Confirm click, in the store under unguessable ids (any replica takes the click). */
  pending: StoredInteractions<PendingConfirmation>;
  slack: Pick<InteractionSlack, 'respond'>;
  /** Least time between two progress edits of one reply. */
  followUpIntervalMs: number;
  /** Aborted at shutdown: follow-up work stops. */
  signal: AbortSignal;
}

/** action_ids of the buttons under a confirmation question. */
export const CONFIRM_ACTION_ID = 'command:confirm';
export const CANCEL_ACTION_ID = 'command:cancel';

export const CONFIRMATION_GONE = 'This confirmation has expired, was already answered, or is not yours, so Lookout did nothing. Run the command again.';
/** Said when the store cannot be reached at the click: nothing was done, and the click can be tried again. */
export const CONFIRMATION_UNREADABLE = 'Lookout could not reach its store to look up this confirmation, so it did nothing. Click again in a moment.';

export interface SlashCommandArgs {
  command: SlashCommandPayload;
  ack: () => Promise<void>;
  respond: (reply: { response_type: 'ephemeral'; text: string; blocks?: KnownBlock[] }) => Promise<unknown>;
}

type Outcome = 'ok' | 'invalid' | 'refused' | 'denied' | 'unmapped' | 'error' | 'changed';

/**
 * Handles `/ops …`: acknowledge Slack at once (it allows 3 s), then parse, review access, run,
 * reply and audit. Only UserErrors reach Slack with their own text; anything else becomes a
 * reference id that points at the log line holding the details.
 */
export function createSlashCommandHandler(deps: DispatcherDeps) {
  return async ({ command: payload, ack, respond }: SlashCommandArgs): Promise<void> => {
    await ack();
    const requestId = randomUUID().slice(0, 8);
    const [name = 'help', ...words] = splitWords(payload.text);
    const log = deps.log.child({ command: name, user: payload.user_id, requestId });
    const command = deps.commands.find((candidate) => candidate.name === name);
    const { outcome, reply, audited, actor } = await attempt(deps, { payload, name, words, command, log, requestId });
    deps.metrics.slashCommands.inc({ command: command ? command.name : 'unknown', outcome });
    if (hasConfirmation(reply) && command !== undefined && deps.interactive !== undefined) {
      const asked = { command: command.name, words, actor, channelId: payload.channel_id, identity: audited?.identity };
      await respond({ response_type: 'ephemeral', ...(await ask(deps.interactive, asked, reply, log, requestId)) });
      return;
    }
    await respond({ response_type: 'ephemeral', ...checkedContent(reply, log) });
    if (reply.followUp !== undefined) {
      const channel = deps.interactive !== undefined && payload.response_url !== undefined
        ? new ResponseUrlReply({ url: payload.response_url, post: deps.interactive.slack.respond, log, usedPosts: 1 })
        : undefined;
      await continueReply(deps, reply, channel, log, requestId);
    }
  };
}

/** Runs a reply's follow-up; without a channel to show it in, it still runs (the action completes). */
async function continueReply(deps: DispatcherDeps, reply: CommandReply, channel: ReplyChannel | undefined, log: Logger, requestId: string): Promise<void> {
  if (reply.followUp === undefined) return;
  await followThrough(reply.followUp, channel ?? { show: async () => false }, {
    minIntervalMs: deps.interactive?.followUpIntervalMs ?? 0,
    signal: deps.interactive?.signal ?? new AbortController().signal,
    log,
    failure: (error) => failureReply(error, log, requestId),
  });
}

/** The text and blocks of a reply, or its text alone when Slack would refuse its blocks (a bug, logged). */
function checkedContent(reply: ReplyContent, log: Logger): ReplyContent {
  if (reply.blocks === undefined) return { text: reply.text };
  const problems = blockProblems(reply.blocks);
  if (problems.length === 0) return { text: reply.text, blocks: reply.blocks };
  log.error({ problems }, 'reply blocks exceed Slack limits; sent as text');
  return { text: reply.text };
}

function hasConfirmation(reply: CommandReply): reply is CommandReply & { confirm: Confirmation } {
  return reply.confirm !== undefined;
}

/** What a question is asked about: the command as typed, by whom, where, as which Kubernetes identity. */
interface Asked {
  command: string;
  words: string[];
  actor: Actor;
  channelId: string;
  identity: KubeIdentity | undefined;
}

/**
 * Keeps the question in the store (only data: see pending-confirmation.ts) and returns it with its
 * buttons. When the store cannot keep it, no button could work: the person is told, nothing waits.
 */
async function ask(interactive: CommandInteractivity, asked: Asked, reply: CommandReply & { confirm: Confirmation }, log: Logger, requestId: string, heading?: string): Promise<ReplyContent> {
  const { identity, ...rest } = asked;
  const kubeIdentity = storedIdentity(identity);
  const entry: PendingConfirmation = { ...rest, ...(kubeIdentity ? { identity: kubeIdentity } : {}), shown: shownOf(reply) };
  try {
    const id = await interactive.pending.add(confirmationOwner(asked.actor.slackUserId, asked.channelId), entry);
    log.info({ confirmation: true }, 'command waits for its confirmation');
    return confirmationReply(heading === undefined ? reply : headed(reply, heading), id, log);
  } catch (error) {
    log.error({ err: error }, 'could not keep a confirmation in the store');
    return { text: `Lookout could not keep this question in its store, so nothing will happen (ref ${requestId}). Run the command again in a moment.` };
  }
}

/** The question, then Confirm (with a confirm dialog) and Cancel; both buttons carry only the pending id. */
function confirmationReply(reply: CommandReply, id: string, log: Logger): ReplyContent {
  const { confirm: confirmation } = reply;
  if (confirmation === undefined) return checkedContent(reply, log);
  const content = checkedContent(reply, log);
  const question: KnownBlock[] = content.blocks ?? [{ type: 'section', text: { type: 'mrkdwn', text: reply.text } }];
  const dialog = confirmDialog({ title: confirmation.title, text: confirmation.question, confirm: confirmation.confirmLabel, ...(confirmation.style ? { style: confirmation.style } : {}) });
  const style = confirmation.style ? { style: confirmation.style } : {};
  return {
    text: reply.text,
    blocks: [
      ...question,
      { type: 'actions', elements: [button({ actionId: CONFIRM_ACTION_ID, text: confirmation.confirmLabel, value: id, ...style, confirm: dialog }), button({ actionId: CANCEL_ACTION_ID, text: 'Cancel', value: id })] },
    ],
  };
}

interface Attempt {
  payload: SlashCommandPayload;
  name: string;
  words: string[];
  command: AnyCommand | undefined;
  log: Logger;
  requestId: string;
  /** Planning again at a Confirm click (CommandContext.replanning): the command asks, it does not act. */
  replanning?: boolean;
}

/** Parse, gate, run; every path ends in a reply, and every gated attempt in one audit record. */
interface Attempted {
  outcome: Outcome;
  reply: CommandReply;
  actor: Actor;
  audited: Omit<AuditEntry, 'outcome' | 'detail'> | undefined;
}

async function attempt(deps: DispatcherDeps, { payload, name, words, command, log, requestId, replanning = false }: Attempt): Promise<Attempted> {
  const actor: Actor = {
    slackUserId: payload.user_id,
    slackUserName: payload.user_name,
    ...(payload.team_id ? { teamId: payload.team_id } : {}),
    ...(payload.enterprise_id ? { enterpriseId: payload.enterprise_id } : {}),
  };
  // Set once the command's access is known, so a failure after that is audited too.
  let audited: Omit<AuditEntry, 'outcome' | 'detail'> | undefined;
  const done = (outcome: Outcome, reply: CommandReply): Attempted => ({ outcome, reply, actor, audited });
  try {
    // Before anything else: a person of another workspace (Slack Connect) is not ours to map.
    if (deps.home !== undefined && !isHomeTeam(await deps.home.get(), actor)) return done('refused', await refuseForeign(deps, actor, command, words, log));
    if (command === undefined) throw new InvalidInput(`Unknown command \`${name}\`. Try \`${deps.slashCommand} help\`.`);
    const parsed = command.args.safeParse(words);
    if (!parsed.success) {
      const reason = parsed.error.issues.map((issue) => issue.message).join('; ');
      throw new InvalidInput(`${reason}\nUsage: \`${usageOf(deps.slashCommand, command)}\``);
    }
    const args: unknown = parsed.data;

    let identity: KubeIdentity | undefined;
    if (command.access) {
      const attributes: ResourceAttributes = await command.access(args, lookup(deps));
      const target = command.target?.(args);
      audited = { action: command.name, actor, attributes, ...(target ? { target } : {}) };
      const refusal = await review(deps, audited, log);
      if (refusal !== undefined) {
        // A denial names the permission; the command may add why it is asked where it is.
        const hint = refusal.outcome === 'denied' ? command.deniedHint?.(args) : undefined;
        return done(refusal.outcome, { text: hint === undefined ? refusal.message : `${refusal.message} ${hint}` });
      }
      identity = audited.identity;
    }

    const reply = await command.run(context(deps, payload, actor, args, log, identity, replanning));
    // A question changes nothing yet: the Confirm click is what gets audited.
    if (reply.confirm === undefined) await recordDone(deps, command, audited, reply);
    return done('ok', reply);
  } catch (error) {
    return done(...(await failed(deps, error, audited, log, requestId)));
  }
}

/** SubjectAccessReview for the person; a refusal is audited and returned with its message. */
async function review(deps: DispatcherDeps, audited: Omit<AuditEntry, 'outcome' | 'detail'>, log: Logger): Promise<{ outcome: Outcome; message: string } | undefined> {
  const authorization = await deps.gate.authorize(audited.actor, audited.attributes);
  if (!authorization.allowed) {
    const identityIfMapped = authorization.reason === 'denied' ? { identity: authorization.identity } : {};
    await deps.audit.record({ ...audited, ...identityIfMapped, outcome: 'denied', detail: authorization.message });
    log.info({ reason: authorization.reason }, 'command refused by the RBAC gate');
    return { outcome: authorization.reason, message: authorization.message };
  }
  audited.identity = authorization.identity;
  return undefined;
}

async function recordDone(deps: DispatcherDeps, command: AnyCommand, audited: Omit<AuditEntry, 'outcome' | 'detail'> | undefined, reply: CommandReply): Promise<void> {
  if (audited === undefined) return;
  await deps.audit.record({
    ...audited,
    // Only run() can tell what some names were (a pod or a Deployment): the Event goes there.
    ...(reply.auditTarget ? { target: reply.auditTarget } : {}),
    outcome: 'allowed',
    detail: reply.auditDetail ?? 'done',
    ...(command.auditReason ? { reason: command.auditReason } : {}),
  });
}

/** One error path: a UserError's own text, anything else a reference to the log line. */
async function failed(deps: DispatcherDeps, error: unknown, audited: Omit<AuditEntry, 'outcome' | 'detail'> | undefined, log: Logger, requestId: string): Promise<[Outcome, CommandReply]> {
  if (error instanceof UserError) {
    log.info({ reason: error.message }, 'command refused');
    if (audited) await deps.audit.record({ ...audited, outcome: 'failed', detail: error.message });
    return [error instanceof InvalidInput ? 'invalid' : 'refused', { text: error.message }];
  }
  log.error({ err: error }, 'command failed');
  if (audited) await deps.audit.record({ ...audited, outcome: 'failed', detail: `internal error (ref ${requestId})` });
  return ['error', { text: `Internal error (ref ${requestId}). The details are in Lookout's log.` }];
}

/** What a follow-up that threw shows as its final state (not audited again: the action was). */
function failureReply(error: unknown, log: Logger, requestId: string): ReplyContent {
  if (error instanceof UserError) return { text: error.message };
  log.error({ err: error }, 'command follow-up failed');
  return { text: `Internal error (ref ${requestId}). The details are in Lookout's log.` };
}

/**
 * The Confirm and Cancel buttons under a command's question. The value is only the pending id:
 * the command and its words come from the stored entry, which only the person who typed the
 * command, in the same channel, can use, once, on any replica. Confirm plans the command again
 * (parse, access review, run as if typed) and acts only if it asks exactly what the person saw.
 */
export function createConfirmationButtons(deps: DispatcherDeps & { interactive: CommandInteractivity }): ButtonHandler[] {
  const { pending, slack } = deps.interactive;
  const tell = async (click: ButtonClick, text: string, replace: boolean): Promise<void> => {
    if (click.responseUrl === undefined) return;
    await slack.respond(click.responseUrl, { response_type: 'ephemeral', replace_original: replace, text }).catch((error: unknown) => deps.log.warn({ err: error }, 'could not answer a confirmation click'));
  };
  /** The clicker's entry, taken out of the store; a store that cannot answer is said, not thrown. */
  const claim = async (click: ButtonClick, action: 'confirm' | 'cancel'): Promise<PendingConfirmation | 'unreadable' | undefined> => {
    if (click.value === undefined) return undefined;
    try {
      return await pending.claim(click.value, confirmationOwner(click.actor.slackUserId, click.channelId));
    } catch (error) {
      deps.log.error({ err: error, action, user: click.actor.slackUserId }, 'could not claim a confirmation from the store; nothing done');
      deps.metrics.buttonActions.inc({ action, outcome: 'error' });
      await tell(click, CONFIRMATION_UNREADABLE, false);
      return 'unreadable';
    }
  };
  return [
    {
      actionId: CONFIRM_ACTION_ID,
      async handle(click) {
        const requestId = randomUUID().slice(0, 8);
        const entry = await claim(click, 'confirm');
        if (entry === 'unreadable') return;
        const log = deps.log.child({ command: entry?.command ?? 'unknown', user: click.actor.slackUserId, requestId, confirmation: true });
        if (entry === undefined) {
          log.warn({ channel: click.channelId }, 'Confirm click matches no pending confirmation of this person in this channel; nothing done');
          deps.metrics.buttonActions.inc({ action: 'confirm', outcome: 'refused' });
          await tell(click, CONFIRMATION_GONE, false);
          return;
        }
        const { outcome, reply } = await confirmed(deps, entry, log, requestId);
        deps.metrics.buttonActions.inc({ action: 'confirm', outcome });
        const channel = click.responseUrl !== undefined ? new ResponseUrlReply({ url: click.responseUrl, post: slack.respond, log, replaceOriginal: true }) : undefined;
        await channel?.show(checkedContent(reply, log), reply.followUp === undefined);
        await continueReply(deps, reply, channel, log, requestId);
      },
    },
    {
      actionId: CANCEL_ACTION_ID,
      async handle(click) {
        const entry = await claim(click, 'cancel');
        if (entry === 'unreadable') return;
        deps.metrics.buttonActions.inc({ action: 'cancel', outcome: entry === undefined ? 'refused' : 'ok' });
        await tell(click, entry === undefined ? CONFIRMATION_GONE : 'Cancelled; nothing was changed.', entry !== undefined);
      },
    },
  ];
}

/**
 * Buttons in command replies that run another command for the clicker, as if they had typed it
 * with the button's value as its arguments (commands/command.ts, commandButtonActionId): the same
 * workspace check, parsing, review, audit and reply path as a slash command. The answer is a new
 * ephemeral reply through the click's response_url; the clicked reply stays.
 */
export function createCommandButtons(deps: DispatcherDeps & { interactive: CommandInteractivity }, names: readonly string[]): ButtonHandler[] {
  const run = createSlashCommandHandler(deps);
  return names.map((name) => ({
    actionId: commandButtonActionId(name),
    async handle(click) {
      const { responseUrl } = click;
      if (responseUrl === undefined) {
        deps.log.warn({ command: name, user: click.actor.slackUserId }, 'command button click without a response_url; nothing done');
        return;
      }
      await run({
        command: {
          command: deps.slashCommand,
          text: `${name} ${click.value ?? ''}`,
          user_id: click.actor.slackUserId,
          user_name: click.actor.slackUserName,
          channel_id: click.channelId,
          response_url: responseUrl,
          ...(click.actor.teamId !== undefined ? { team_id: click.actor.teamId } : {}),
          ...(click.actor.enterpriseId !== undefined ? { enterprise_id: click.actor.enterpriseId } : {}),
        },
        ack: async () => {},
        respond: (reply) => deps.interactive.slack.respond(responseUrl, { ...reply, replace_original: false }),
      });
    },
  }));
}

/**
 * The confirmed command, planned again for the same person and words: the same parse, access
 * review and run as when typed. If it asks exactly what the person saw, the new question's run()
 * acts (audited); if the world changed, nothing is done and the new question is asked instead
 * (with new buttons); a refusal now (permission revoked, target gone) is the answer.
 * Every path ends in a reply.
 */
async function confirmed(deps: DispatcherDeps & { interactive: CommandInteractivity }, entry: PendingConfirmation, log: Logger, requestId: string): Promise<{ outcome: Outcome; reply: CommandReply }> {
  const command = deps.commands.find((candidate) => candidate.name === entry.command);
  const actor: Actor = {
    slackUserId: entry.actor.slackUserId,
    slackUserName: entry.actor.slackUserName,
    ...(entry.actor.teamId !== undefined ? { teamId: entry.actor.teamId } : {}),
    ...(entry.actor.enterpriseId !== undefined ? { enterpriseId: entry.actor.enterpriseId } : {}),
  };
  const payload: SlashCommandPayload = {
    command: deps.slashCommand,
    text: [entry.command, ...entry.words].join(' '),
    user_id: actor.slackUserId,
    user_name: actor.slackUserName,
    channel_id: entry.channelId,
    ...(actor.teamId !== undefined ? { team_id: actor.teamId } : {}),
    ...(actor.enterpriseId !== undefined ? { enterprise_id: actor.enterpriseId } : {}),
  };
  const again = await attempt(deps, { payload, name: entry.command, words: entry.words, command, log, requestId, replanning: true });
  const { reply } = again;
  // No question now: a refusal, an error, or nothing left to do (commands do not act while replanning).
  if (command === undefined || !hasConfirmation(reply)) return { outcome: again.outcome, reply };
  const now = { shown: shownOf(reply), identity: storedIdentity(again.audited?.identity) };
  if (!sameConfirmation(entry, now)) {
    log.info({ confirmation: true }, 'the confirmed command would now do something else; nothing done, asked again');
    const asked = { command: entry.command, words: entry.words, actor, channelId: entry.channelId, identity: again.audited?.identity };
    const heading = `What \`${payload.text}\` would do changed since you asked, so nothing was done. Now:`;
    return { outcome: 'changed', reply: await ask(deps.interactive, asked, reply, log, requestId, heading) };
  }
  const audited = again.audited;
  try {
    const done = await reply.confirm.run();
    if (done.confirm !== undefined) throw new Error('a confirmed command asked for confirmation again');
    await recordDone(deps, command, audited, done);
    return { outcome: 'ok', reply: done };
  } catch (error) {
    const [outcome, failure] = await failed(deps, error, audited, log, requestId);
    return { outcome, reply: failure };
  }
}

/** A reply with a line above it (why a question is asked again). */
function headed(reply: CommandReply & { confirm: Confirmation }, heading: string): CommandReply & { confirm: Confirmation } {
  return {
    ...reply,
    text: `${heading}\n${reply.text}`,
    ...(reply.blocks !== undefined ? { blocks: [{ type: 'section', text: { type: 'mrkdwn', text: heading } }, ...reply.blocks] } : {}),
  };
}

/** Refuses a person of another workspace; a gated command's attempt is audited like any denial. */
async function refuseForeign(deps: DispatcherDeps, actor: Actor, command: AnyCommand | undefined, words: string[], log: Logger): Promise<CommandReply> {
  log.warn({ teamId: actor.teamId, enterpriseId: actor.enterpriseId }, 'command from a person of another Slack workspace refused');
  const parsed = command?.access ? command.args.safeParse(words) : undefined;
  // An `access` that looks something up (a silence by id, an HPA) may fail: the refusal stands,
  // unaudited. No lookups as Lookout for a stranger: `access` gets none.
  const access = command?.access;
  const attributes = access && parsed?.success ? await (async () => access(parsed.data, {}))().catch(() => undefined) : undefined;
  if (command && parsed?.success && attributes) {
    const args: unknown = parsed.data;
    const target = command.target?.(args);
    await deps.audit.record({
      action: command.name,
      actor,
      attributes,
      ...(target ? { target } : {}),
      outcome: 'denied',
      detail: `refused: not a member of this Slack workspace (team ${actor.teamId ?? 'not stated'})`,
    });
  }
  return { text: FOREIGN_WORKSPACE_MESSAGE };
}

function lookup(deps: DispatcherDeps): AccessLookup {
  return deps.kube ? { lookoutReads: new LookoutKubeReads(deps.kube) } : {};
}

function context(deps: DispatcherDeps, payload: SlashCommandPayload, actor: Actor, args: unknown, log: Logger, identity: KubeIdentity | undefined, replanning: boolean): CommandContext<unknown> {
  const access: PersonAccess = {
    identify: () => deps.gate.identify(actor),
    authorize: (attributes) => deps.gate.authorize(actor, attributes),
    kubernetesConfigured: deps.gate.kubernetesConfigured,
  };
  const personIdentity = async (): Promise<KubeIdentity> => {
    if (identity) return identity;
    const identification = await deps.gate.identify(actor);
    if (!identification.mapped) throw new Forbidden(identification.message);
    return identification.identity;
  };
  return {
    args,
    user: { id: payload.user_id, name: payload.user_name },
    channelId: payload.channel_id,
    slashCommand: deps.slashCommand,
    commands: deps.commands,
    log,
    access,
    ...(identity ? { identity } : {}),
    ...(deps.kube ? { kube: new PersonKubeClient({ kube: deps.kube, identity: personIdentity }), lookoutReads: new LookoutKubeReads(deps.kube) } : {}),
    settings: deps.settings ?? DEFAULT_COMMAND_SETTINGS,
    ...(replanning ? { replanning } : {}),
  };
}
