import type { Silence } from '../src/integrations/alertmanager.ts';
import { formatMatcher, parseMatchers, silenceNamespace, type Matcher } from '../src/integrations/silence-matchers.ts';
import type { Button, KnownBlock } from '@slack/types';
import { commandButtonActionId, type CommandDefinition } from './command.ts';
import { wordsArgs } from './words-args.ts';
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
    args: wordsArgs((words) => {
      const filter = parseMatchers(words);
      return 'error' in filter ? filter : { filter };
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
      const shown = active.slice(0, MAX_LISTED);
      const more = active.length > MAX_LISTED ? `…and ${active.length - MAX_LISTED} more; narrow the list with matchers.` : undefined;
      const heading = `*${active.length} active silence${active.length === 1 ? '' : 's'}${where}* (end one with its Expire button or \`${slashCommand} unsilence <id>\`)`;
      return {
        text: [heading, ...shown.map((silence) => `• ${silenceLine(silence)}`), ...(more ? [more] : [])].join('\n'),
        // One section a silence with its Expire button: 1 + 20 + 1 blocks, within Slack's 50.
        blocks: [
          { type: 'section', text: { type: 'mrkdwn', text: heading } },
          ...shown.map((silence): KnownBlock => ({ type: 'section', text: { type: 'mrkdwn', text: clipText(silenceLine(silence), 2900) }, accessory: expireButton(silence) })),
          ...(more ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: more }] } satisfies KnownBlock] : []),
        ],
        auditDetail: `listed ${active.length} silences`,
      };
    },
  };
}

/**
 * Runs `unsilence <id>` for whoever clicks it, reviewed and audited as if typed: the id names the
 * silence, and the permission is checked on the silence Alertmanager has under that id.
 */
function expireButton(silence: Silence): Button {
  return {
    type: 'button',
    action_id: commandButtonActionId('unsilence'),
    text: { type: 'plain_text', text: 'Expire' },
    value: silence.id,
    style: 'danger',
    confirm: {
      title: { type: 'plain_text', text: 'End this silence?' },
      text: { type: 'plain_text', text: clipText(`The alerts it hides (${silence.matchers.map(formatMatcher).join(' ')}) will notify again.`, 300) },
      confirm: { type: 'plain_text', text: 'Expire' },
      deny: { type: 'plain_text', text: 'Keep it' },
    },
  };
}

function clipText(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}
