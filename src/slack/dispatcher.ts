import { randomUUID } from 'node:crypto';
import type { AnyCommand, CommandContext, CommandReply, PersonAccess } from '../../commands/command.ts';
import { usageOf } from '../../commands/command.ts';
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
import { splitWords } from './split-words.ts';

/** What Slack sends with a slash command (the fields Lookout uses). */
export interface SlashCommandPayload {
  command: string;
  text: string;
  user_id: string;
  user_name: string;
  channel_id: string;
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
}

export interface SlashCommandArgs {
  command: SlashCommandPayload;
  ack: () => Promise<void>;
  respond: (reply: { response_type: 'ephemeral'; text: string }) => Promise<unknown>;
}

type Outcome = 'ok' | 'invalid' | 'refused' | 'denied' | 'unmapped' | 'error';

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
    const { outcome, reply } = await attempt(deps, { payload, name, words, command, log, requestId });
    deps.metrics.slashCommands.inc({ command: command ? command.name : 'unknown', outcome });
    await respond({ response_type: 'ephemeral', text: reply.text });
  };
}

interface Attempt {
  payload: SlashCommandPayload;
  name: string;
  words: string[];
  command: AnyCommand | undefined;
  log: Logger;
  requestId: string;
}

/** Parse, gate, run; every path ends in a reply, and every gated attempt in one audit record. */
async function attempt(deps: DispatcherDeps, { payload, name, words, command, log, requestId }: Attempt): Promise<{ outcome: Outcome; reply: CommandReply }> {
  const actor: Actor = {
    slackUserId: payload.user_id,
    slackUserName: payload.user_name,
    ...(payload.team_id ? { teamId: payload.team_id } : {}),
    ...(payload.enterprise_id ? { enterpriseId: payload.enterprise_id } : {}),
  };
  // Set once the command's access is known, so a failure after that is audited too.
  let audited: Omit<AuditEntry, 'outcome' | 'detail'> | undefined;
  try {
    // Before anything else: a person of another workspace (Slack Connect) is not ours to map.
    if (deps.home !== undefined && !isHomeTeam(await deps.home.get(), actor)) return await refuseForeign(deps, actor, command, words, log);
    if (command === undefined) throw new InvalidInput(`Unknown command \`${name}\`. Try \`${deps.slashCommand} help\`.`);
    const parsed = command.args.safeParse(words);
    if (!parsed.success) {
      const reason = parsed.error.issues.map((issue) => issue.message).join('; ');
      throw new InvalidInput(`${reason}\nUsage: \`${usageOf(deps.slashCommand, command)}\``);
    }
    const args: unknown = parsed.data;

    let identity: KubeIdentity | undefined;
    if (command.access) {
      const attributes: ResourceAttributes = command.access(args);
      const target = command.target?.(args);
      audited = { action: command.name, actor, attributes, ...(target ? { target } : {}) };
      const authorization = await deps.gate.authorize(actor, attributes);
      if (!authorization.allowed) {
        const identityIfMapped = authorization.reason === 'denied' ? { identity: authorization.identity } : {};
        await deps.audit.record({ ...audited, ...identityIfMapped, outcome: 'denied', detail: authorization.message });
        log.info({ reason: authorization.reason }, 'command refused by the RBAC gate');
        return { outcome: authorization.reason, reply: { text: authorization.message } };
      }
      identity = authorization.identity;
      audited.identity = identity;
    }

    const reply = await command.run(context(deps, payload, actor, args, log, identity));
    if (audited) {
      await deps.audit.record({
        ...audited,
        outcome: 'allowed',
        detail: reply.auditDetail ?? 'done',
        ...(command.auditReason ? { reason: command.auditReason } : {}),
      });
    }
    return { outcome: 'ok', reply };
  } catch (error) {
    if (error instanceof UserError) {
      log.info({ reason: error.message }, 'command refused');
      if (audited) await deps.audit.record({ ...audited, outcome: 'failed', detail: error.message });
      return { outcome: error instanceof InvalidInput ? 'invalid' : 'refused', reply: { text: error.message } };
    }
    log.error({ err: error }, 'command failed');
    if (audited) await deps.audit.record({ ...audited, outcome: 'failed', detail: `internal error (ref ${requestId})` });
    return { outcome: 'error', reply: { text: `Internal error (ref ${requestId}). The details are in Lookout's log.` } };
  }
}

/** Refuses a person of another workspace; a gated command's attempt is audited like any denial. */
async function refuseForeign(deps: DispatcherDeps, actor: Actor, command: AnyCommand | undefined, words: string[], log: Logger): Promise<{ outcome: Outcome; reply: CommandReply }> {
  log.warn({ teamId: actor.teamId, enterpriseId: actor.enterpriseId }, 'command from a person of another Slack workspace refused');
  const parsed = command?.access ? command.args.safeParse(words) : undefined;
  if (command?.access && parsed?.success) {
    const args: unknown = parsed.data;
    const target = command.target?.(args);
    await deps.audit.record({
      action: command.name,
      actor,
      attributes: command.access(args),
      ...(target ? { target } : {}),
      outcome: 'denied',
      detail: `refused: not a member of this Slack workspace (team ${actor.teamId ?? 'not stated'})`,
    });
  }
  return { outcome: 'refused', reply: { text: FOREIGN_WORKSPACE_MESSAGE } };
}

function context(deps: DispatcherDeps, payload: SlashCommandPayload, actor: Actor, args: unknown, log: Logger, identity: KubeIdentity | undefined): CommandContext<unknown> {
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
    ...(deps.kube ? { kube: new PersonKubeClient({ kube: deps.kube, identity: personIdentity }) } : {}),
  };
}
