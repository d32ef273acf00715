import type { Button } from '@slack/types';
import { commandButtonActionId } from '../commands/command.ts';
import { parseSilenceArgs } from '../commands/silence.ts';
import { splitWords } from '../src/slack/split-words.ts';
import { formatMatcher, overBroadReason, type Matcher } from '../src/integrations/silence-matchers.ts';
import { isFiring, type GroupState } from './group-state.ts';

/** The Silence buttons on alert messages: a duration each, and `custom` opens a modal (src/slack/silence-actions.ts). */
export const SILENCE_CHOICES = { '1h': 3_600_000, '4h': 4 * 3_600_000, '24h': 24 * 3_600_000, custom: undefined } as const;
export type SilenceChoice = keyof typeof SILENCE_CHOICES;

/** The action_id of a Silence button. */
export function silenceActionId(choice: SilenceChoice): string {
  return `silence-${choice}`;
}

/**
 * What a silence of this group matches: its groupLabels as equality matchers, i.e. exactly the
 * alerts Alertmanager puts in this group. With `group_by: []` there are none; then the group's
 * commonLabels (which include the groupLabels whenever there are some), as the Alertmanager link does.
 */
export function groupSilenceMatchers(group: GroupState): Matcher[] {
  const labels = Object.keys(group.groupLabels).length > 0 ? group.groupLabels : group.commonLabels;
  return Object.entries(labels)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => ({ name, value, isRegex: false, isEqual: true }));
}

/**
 * The Silence buttons for a firing group that is not silenced yet and whose labels can name it
 * (not a silence of nearly everything). Each carries the group's reference only; the handler
 * finds the group from the message clicked, never from the value.
 */
export function silenceButtons(group: GroupState, ref: string): Button[] {
  if (!isFiring(group) || group.silenced !== undefined) return [];
  if (overBroadReason(groupSilenceMatchers(group)) !== undefined) return [];
  const button = (choice: SilenceChoice, text: string): Button => ({ type: 'button', action_id: silenceActionId(choice), text: { type: 'plain_text', text }, value: ref });
  return [button('1h', 'Silence 1h'), button('4h', 'Silence 4h'), button('24h', 'Silence 24h'), button('custom', 'Silence for…')];
}

/** "🔕 Silenced by <@U…> until <date>", while the group fires and the silence lasts. */
export function silencedLine(group: GroupState): string | undefined {
  const mark = group.silenced;
  // by is empty for a silence made outside Slack (found by the reconciler): nobody to name.
  if (mark === undefined || !isFiring(group) || (mark.by !== '' && !/^[UW][A-Z0-9]{2,}$/.test(mark.by))) return undefined;
  const ms = Date.parse(mark.until);
  if (!(ms > 0)) return undefined;
  const fallback = `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  const who = mark.by === '' ? 'in Alertmanager' : `by <@${mark.by}>`;
  return `🔕 Silenced ${who} until <!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time}|${fallback}>`;
}

/**
 * "Silence this alert 1h" in the thread detail: a button that runs `/ops silence <its labels> 1h`
 * for whoever clicks it, reviewed and audited as if typed (commands/command.ts,
 * commandButtonActionId). All of the alert's labels, as equality matchers, name exactly this alert
 * (they are what Alertmanager fingerprints). None when they would not fit a button's value.
 */
export function alertSilenceButton(labels: Readonly<Record<string, string>>): Button | undefined {
  const matchers = Object.entries(labels)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]): Matcher => ({ name, value, isRegex: false, isEqual: true }));
  if (overBroadReason(matchers) !== undefined) return undefined;
  const value = `${matchers.map(formatMatcher).join(' ')} 1h`;
  // Slack's limit for a button value.
  if (value.length > 2000) return undefined;
  // The value is read back as typed words: a label value that the word splitting changes
  // (quotes with spaces, runs of blanks, a ` -- `) would make a silence of something else.
  const typed = parseSilenceArgs(splitWords(value), Number.MAX_SAFE_INTEGER);
  if ('error' in typed || typed.matchers.length !== matchers.length || typed.matchers.some((matcher, i) => formatMatcher(matcher) !== formatMatcher(matchers[i]!))) return undefined;
  return { type: 'button', action_id: commandButtonActionId('silence'), text: { type: 'plain_text', text: 'Silence this alert 1h' }, value };
}
