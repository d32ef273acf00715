import { z } from 'zod';
import { InvalidInput } from '../src/errors.ts';
import { usageOf, type CommandDefinition } from './command.ts';

const help: CommandDefinition<{ topic?: string }> = {
  name: 'help',
  summary: 'List the commands, or show how to use one',
  usage: '[command]',
  args: z
    .array(z.string())
    .max(1, 'takes at most one command name')
    .transform(([topic]) => (topic === undefined ? {} : { topic })),
  async run({ args, commands, slashCommand }) {
    if (args.topic !== undefined) {
      const command = commands.find((candidate) => candidate.name === args.topic);
      if (command === undefined) throw new InvalidInput(`There is no \`${args.topic}\` command. Try \`${slashCommand} help\`.`);
      return { text: `*${command.summary}*\n\`${usageOf(slashCommand, command)}\`` };
    }
    const lines = commands.map((command) => `• \`${usageOf(slashCommand, command)}\` — ${command.summary}`);
    return { text: `*Lookout commands*\n${lines.join('\n')}` };
  },
};

export default help;
