import canI from './can-i.ts';
import type { AnyCommand } from './command.ts';
import help from './help.ts';
import whoami from './whoami.ts';

/** Every subcommand of the slash command, in the order help lists them. */
export const commands: readonly AnyCommand[] = [help, whoami, canI];
