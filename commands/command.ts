import type { z } from 'zod';
import type { Logger } from '../src/log.ts';

/**
 * The contract of a slash subcommand (`/ops <name> …`). Commands hold only their own logic:
 * the dispatcher (src/slack/dispatcher.ts) acknowledges Slack, parses arguments with `args`,
 * runs, replies, and maps errors. Commands never import Bolt or the Kubernetes client.
 */
export interface CommandDefinition<Args = unknown> {
  /** The subcommand word, e.g. `help`. */
  name: string;
  /** One line for the help listing. */
  summary: string;
  /** Argument synopsis after the subcommand, e.g. `<deployment> <replicas> [-n namespace]`. */
  usage: string;
  /** Parses the words after the subcommand; a failure shows the usage. */
  args: z.ZodType<Args, string[]>;
  run(ctx: CommandContext<Args>): Promise<CommandReply>;
}

export interface CommandContext<Args> {
  args: Args;
  /** The Slack user who typed the command. */
  user: { id: string; name: string };
  channelId: string;
  /** The slash command as configured, e.g. `/ops`, for help texts. */
  slashCommand: string;
  /** Every registered command, so `help` can list them. */
  commands: readonly AnyCommand[];
  log: Logger;
}

export interface CommandReply {
  /** mrkdwn text shown only to the person who typed the command. */
  text: string;
}

// Definitions are stored side by side whatever their argument types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the registry is heterogeneous by design
export type AnyCommand = CommandDefinition<any>;

/** The usage line of a command, e.g. "/ops help [command]". */
export function usageOf(slashCommand: string, command: AnyCommand): string {
  return `${slashCommand} ${command.name}${command.usage ? ` ${command.usage}` : ''}`;
}
