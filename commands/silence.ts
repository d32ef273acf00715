import { formatMatcher, overBroadReason, parseMatchers, type Matcher } from '../src/integrations/silence-matchers.ts';
import type { CommandDefinition } from './command.ts';
import { wordsArgs } from './words-args.ts';
import {
  alertmanagerFailure,
  checkDuration,
  CLUSTER_WIDE_HINT,
  formatDuration,
  matcherList,
  requireAlertmanager,
  silenceAttributes,
  slackTime,
  type SilenceCommandDeps,
} from './silence-support.ts';

export interface SilenceArgs {
  matchers: Matcher[];
  durationMs: number;
  /** What follows `--`; absent: a comment saying who silenced from Slack. */
  comment?: string;
}

/** `<matcher>… <duration> [-- comment]` → the silence to create, or what is wrong with the words. */
export function parseSilenceArgs(words: readonly string[], maxDurationMs: number): SilenceArgs | { error: string } {
  const separator = words.indexOf('--');
  const before = separator === -1 ? words : words.slice(0, separator);
  const comment = separator === -1 ? '' : words.slice(separator + 1).join(' ').trim();
  const durationText = before.at(-1);
  if (durationText === undefined) return { error: 'needs matchers and a duration, e.g. `alertname=KubePodCrashLooping namespace=shop 2h`' };
  const durationMs = checkDuration(durationText, maxDurationMs);
  if (typeof durationMs !== 'number') {
    return /[=~]/.test(durationText) ? { error: 'needs a duration after the matchers, e.g. `2h`' } : durationMs;
  }
  const matchers = parseMatchers(before.slice(0, -1));
  if ('error' in matchers) return matchers;
  const broad = overBroadReason(matchers);
  if (broad !== undefined) return { error: broad };
  return { matchers, durationMs, ...(comment === '' ? {} : { comment }) };
}

export const SILENCE_REASON = 'AlertsSilencedBySlackUser';

/**
 * `/ops silence`: creates an Alertmanager silence for the person, after RBAC allows `create` on
 * `silences.lookout.dev` in the namespace the matchers name (cluster-wide when they name none).
 */
export function createSilenceCommand(deps: SilenceCommandDeps): CommandDefinition<SilenceArgs> {
  return {
    name: 'silence',
    summary: "Silence alerts in Alertmanager for a while (matchers in Alertmanager's syntax)",
    usage: '<matcher>… <duration> [-- comment]',
    args: wordsArgs((words) => parseSilenceArgs(words, deps.maxDurationMs)),
    access: (args) => silenceAttributes('create', args.matchers),
    deniedHint: (args) => (silenceAttributes('create', args.matchers).namespace === undefined ? CLUSTER_WIDE_HINT : undefined),
    auditReason: SILENCE_REASON,
    async run({ args, identity, user, slashCommand }) {
      const alertmanager = requireAlertmanager(deps);
      const startsAt = new Date(deps.now());
      const endsAt = new Date(startsAt.getTime() + args.durationMs);
      const username = identity?.username ?? 'unknown';
      let id: string;
      try {
        id = await alertmanager.createSilence({
          matchers: args.matchers,
          startsAt,
          endsAt,
          createdBy: silenceCreator(username, user.id),
          comment: args.comment ?? `silenced from Slack by ${user.name}`,
        });
      } catch (error) {
        alertmanagerFailure(error, 'Nothing was silenced.');
      }
      return {
        text: `🔕 Silenced ${matcherList(args.matchers)} for ${formatDuration(args.durationMs)}, until ${slackTime(endsAt.toISOString())}.\nSilence \`${id}\`; end it early with \`${slashCommand} unsilence ${id}\`.`,
        auditDetail: `silence ${id} until ${endsAt.toISOString()}: ${args.matchers.map(formatMatcher).join(' ')}`,
      };
    },
  };
}

/** Alertmanager's createdBy: the Kubernetes username Lookout acted as, and the Slack user id. */
export function silenceCreator(username: string, slackUserId: string): string {
  return `${username} (Slack ${slackUserId})`;
}
