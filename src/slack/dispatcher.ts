import { randomUUID } from 'node:crypto';
import type { AnyCommand, CommandReply } from '../../commands/command.ts';
import { usageOf } from '../../commands/command.ts';
import { InvalidInput, UserError } from '../errors.ts';
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
}

export interface DispatcherDeps {
  commands: readonly AnyCommand[];
  slashCommand: string;
  log: Logger;
  metrics: Metrics;
}

export interface SlashCommandArgs {
  command: SlashCommandPayload;
  ack: () => Promise<void>;
  respond: (reply: { response_type: 'ephemeral'; text: string }) => Promise<unknown>;
}

/**
 * Handles `/ops …`: acknowledge Slack at once (it allows 3 s), then parse, run and reply.
 * Only UserErrors reach Slack with their own text; anything else becomes a reference id
 * that points at the log line holding the details.
 */
export function createSlashCommandHandler(deps: DispatcherDeps) {
  return async ({ command, ack, respond }: SlashCommandArgs): Promise<void> => {
    await ack();
    const requestId = randomUUID().slice(0, 8);
    const [name = 'help', ...words] = splitWords(command.text);
    const log = deps.log.child({ command: name, user: command.user_id, requestId });
    let outcome = 'ok';
    let reply: CommandReply;
    try {
      reply = await run(deps, command, name, words, log);
    } catch (error) {
      if (error instanceof UserError) {
        outcome = error instanceof InvalidInput ? 'invalid' : 'refused';
        reply = { text: error.message };
        log.info({ reason: error.message }, 'command refused');
      } else {
        outcome = 'error';
        reply = { text: `Internal error (ref ${requestId}). The details are in Lookout's log.` };
        log.error({ err: error }, 'command failed');
      }
    }
    deps.metrics.slashCommands.inc({ command: knownName(deps, name), outcome });
    await respond({ response_type: 'ephemeral', text: reply.text });
  };
}

async function run(deps: DispatcherDeps, payload: SlashCommandPayload, name: string, words: string[], log: Logger): Promise<CommandReply> {
  const command = deps.commands.find((candidate) => candidate.name === name);
  if (command === undefined) {
    throw new InvalidInput(`Unknown command \`${name}\`. Try \`${deps.slashCommand} help\`.`);
  }
  const parsed = command.args.safeParse(words);
  if (!parsed.success) {
    const reason = parsed.error.issues.map((issue) => issue.message).join('; ');
    throw new InvalidInput(`${reason}\nUsage: \`${usageOf(deps.slashCommand, command)}\``);
  }
  return command.run({
    args: parsed.data,
    user: { id: payload.user_id, name: payload.user_name },
    channelId: payload.channel_id,
    slashCommand: deps.slashCommand,
    commands: deps.commands,
    log,
  });
}

/** Metric label: the command name, or "unknown" so typos cannot grow the label set. */
function knownName(deps: DispatcherDeps, name: string): string {
  return deps.commands.some((command) => command.name === name) ? name : 'unknown';
}
