import { z } from 'zod';
import type { Silence } from '../src/integrations/alertmanager.ts';
import { formatMatcher, parseMatchers, silenceNamespace, type Matcher } from '../src/integrations/silence-matchers.ts';
import type { CommandDefinition } from './command.ts';
import { alertmanagerFailure, CLUSTER_WIDE_HINT, requireAlertmanager, silenceAttributes, silenceLine, type SilenceCommandDeps } from './silence-support.ts';

export interface SilencesArgs {
  filter: Matcher[];
}

/** Lines listed at most; the rest are counted. */
const MAX_LISTED = 20;

/**
 * `/ops silences [matcher…]`: the active silences, filtered as `amtool silence query` filters.
 * Reviewed as `list` on `silences.lookout.dev` in the filter's `namespace=` (then only silences
 * confined to that namespace are shown), or cluster-wide.
 */
export function createSilencesCommand(deps: SilenceCommandDeps): CommandDefinition<SilencesArgs> {
  return {
    name: 'silences',
    summary: 'List the active Alertmanager silences (optionally only those matching some matchers)',
    usage: '[matcher…]',
    args: z.array(z.string()).transform((words, ctx) => {
      const filter = parseMatchers(words);
      if ('error' in filter) {
        ctx.addIssue({ code: 'custom', message: filter.error, input: words });
        return z.NEVER;
      }
      return { filter };
    }),
    access: (args) => silenceAttributes('list', args.filter),
    deniedHint: (args) =>
      silenceNamespace(args.filter) === undefined ? `${CLUSTER_WIDE_HINT.replace('this permission', 'the permission to list silences')}` : undefined,
    async run({ args, slashCommand }) {
      const alertmanager = requireAlertmanager(deps);
      let silences: Silence[];
      try {
        silences = await alertmanager.listSilences(args.filter.map(formatMatcher));
      } catch (error) {
        alertmanagerFailure(error, 'No silences could be listed.');
      }
      const namespace = silenceNamespace(args.filter);
      const active = silences
        .filter((silence) => silence.state === 'active')
        // Reviewed for one namespace: only silences confined to it, whatever Alertmanager's filter let through.
        .filter((silence) => namespace === undefined || silenceNamespace(silence.matchers) === namespace)
        .sort((a, b) => a.endsAt.localeCompare(b.endsAt));
      const where = args.filter.length > 0 ? ` matching ${args.filter.map((matcher) => `\`${formatMatcher(matcher)}\``).join(' ')}` : '';
      if (active.length === 0) return { text: `No active silences${where}.`, auditDetail: 'listed 0 silences' };
      const lines = active.slice(0, MAX_LISTED).map((silence) => `• ${silenceLine(silence)}`);
      if (active.length > MAX_LISTED) lines.push(`…and ${active.length - MAX_LISTED} more; narrow the list with matchers.`);
      return {
        text: `*${active.length} active silence${active.length === 1 ? '' : 's'}${where}* (end one with \`${slashCommand} unsilence <id>\`)\n${lines.join('\n')}`,
        auditDetail: `listed ${active.length} silences`,
      };
    },
  };
}
