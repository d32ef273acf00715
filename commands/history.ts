import type { KnownBlock } from '@slack/types';
import { at, code, text as oneLineText } from '../alerts/enrichers/format.ts';
import { clipLines, escapeMrkdwn } from '../alerts/render.ts';
import { InvalidInput, UserError } from '../src/errors.ts';
import { button } from '../src/slack/reply-limits.ts';
import { gitOpsHints, readLookoutActions, readRevisions, type GitOpsHint, type LookoutAction, type Revision } from '../src/workloads/workload-history.ts';
import { readWorkloadObject, seen, type Seen } from '../src/workloads/workload-reads.ts';
import { count, parseOneWorkload } from '../src/workloads/workload-words.ts';
import { describeWorkload, type WorkloadRef } from '../src/workloads/workload-ref.ts';
import { commandButtonActionId, type CommandDefinition, type ReplyContent } from './command.ts';
import { wordsArgs } from './words-args.ts';

export interface HistoryArgs {
  target: WorkloadRef;
  /** 1-based; the "More" button asks for the next one. */
  page: number;
}

/** Entries per page: each is a section, so a page stays well within Slack's 50 blocks. */
export const HISTORY_PAGE_SIZE = 10;
const SECTION_MAX = 3000;
const NOTE_MAX = 400;

/** Words → the workload and page, or what is wrong. */
export function parseHistory(words: readonly string[]): HistoryArgs | { error: string } {
  const parsed = parseOneWorkload(words, ['--page']);
  if ('error' in parsed) return parsed;
  const pageText = parsed.options.get('--page');
  const page = pageText === undefined ? 1 : count(pageText);
  if (page === undefined || page < 1) return { error: '`--page` must be a whole number, 1 or more' };
  return { target: parsed.target, page };
}

/** One line of the timeline: a rollout revision or an action taken through Lookout. */
export type HistoryEntry = ({ type: 'revision' } & Revision) | ({ type: 'action' } & LookoutAction);

/**
 * `/ops history`: rollout revisions and Lookout's own actions on one timeline, newest first, read
 * as the person (as `/ops status`, `get` on the workload is the check); which GitOps tool
 * manages the workload, when it says so.
 */
export function createHistoryCommand(): CommandDefinition<HistoryArgs> {
  return {
    name: 'history',
    summary: 'Who changed a workload and when: rollout revisions and actions taken through Lookout',
    usage: '<namespace>/<name> [--page N]  ·  <namespace>/statefulset/<name>  ·  <namespace>/daemonset/<name>',
    args: wordsArgs(parseHistory),
    async run({ args, kube }) {
      if (kube === undefined) throw new UserError('Lookout is not connected to Kubernetes, so it cannot show a history.');
      const object = await readWorkloadObject(kube, args.target);
      const [revisions, actions] = await Promise.all([seen(() => readRevisions(kube, args.target, object)), seen(() => readLookoutActions(kube, args.target))]);
      const current = Number(object.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? Number.NaN);
      return renderHistory({ ...args, revisions, actions, gitOps: gitOpsHints(object), ...(Number.isInteger(current) ? { currentRevision: current } : {}) });
    },
  };
}

export interface HistoryView extends HistoryArgs {
  revisions: Seen<Revision[]>;
  actions: Seen<LookoutAction[]>;
  gitOps: GitOpsHint[];
  /** The Deployment's own revision annotation: the revision it runs now. */
  currentRevision?: number;
}

/** Newest first; a revision before an action of the same instant (the action caused it). */
export function timeline(revisions: readonly Revision[], actions: readonly LookoutAction[]): HistoryEntry[] {
  const entries: HistoryEntry[] = [...revisions.map((revision) => ({ type: 'revision' as const, ...revision })), ...actions.map((action) => ({ type: 'action' as const, ...action }))];
  return entries.sort((a, b) => b.at - a.at || (a.type === b.type ? (a.type === 'revision' && b.type === 'revision' ? b.revision - a.revision : 0) : a.type === 'revision' ? -1 : 1));
}

/** The page asked for, with the GitOps warning on top and a "More" button while older entries remain. */
export function renderHistory(view: HistoryView): ReplyContent {
  const name = describeWorkload(view.target);
  const entries = timeline('value' in view.revisions ? view.revisions.value : [], 'value' in view.actions ? view.actions.value : []);
  const pages = Math.max(1, Math.ceil(entries.length / HISTORY_PAGE_SIZE));
  if (view.page > pages) throw new InvalidInput(`${name} has ${pages === 1 ? 'one page' : `${pages} pages`} of history; there is no page ${view.page}.`);
  const shown = entries.slice((view.page - 1) * HISTORY_PAGE_SIZE, view.page * HISTORY_PAGE_SIZE);
  const notes = [...gitOpsLines(view.gitOps), ...hiddenLines(view)];
  const sections = [
    [`*History of ${escapeMrkdwn(name)}* · newest first · page ${view.page} of ${pages}`, ...notes].join('\n'),
    ...(shown.length === 0 ? ['_No rollout revisions or Lookout actions found._'] : shown.map((entry) => entryLine(entry, view.currentRevision))),
  ].map((section) => clipLines(section, SECTION_MAX));
  const blocks: KnownBlock[] = sections.map((section) => ({ type: 'section', text: { type: 'mrkdwn', text: section } }));
  if (view.page < pages) {
    blocks.push({ type: 'actions', elements: [button({ actionId: commandButtonActionId('history'), text: `More (page ${view.page + 1} of ${pages})`, value: `${name} --page ${view.page + 1}` })] });
  }
  return { text: sections.join('\n'), blocks };
}

function entryLine(entry: HistoryEntry, currentRevision: number | undefined): string {
  const when = at(new Date(entry.at).toISOString()) ?? 'unknown time';
  if (entry.type === 'action') {
    const who = entry.slackUserId ? ` by <@${entry.slackUserId}>` : '';
    return `${when} *${oneLineText(entry.reason, 120)}*${who}\n${oneLineText(entry.note, NOTE_MAX)}`;
  }
  const images = entry.images.map(({ container, image }) => `${code(container, 60)} ${code(image, 200)}`).join(', ');
  const cause = entry.changeCause ? `\nchange-cause: ${oneLineText(entry.changeCause, NOTE_MAX)}` : '';
  return `${when} *revision ${entry.revision}*${entry.revision === currentRevision ? ' (current)' : ''} ${code(entry.name, 120)}\n${images || '_no containers_'}${cause}`;
}

function gitOpsLines(hints: readonly GitOpsHint[]): string[] {
  return hints.map((hint) => `⚠️ Managed by ${hint.tool} ${hint.kind} ${code(hint.name, 120)} (${escapeMrkdwn(hint.source)}): a change made by hand is reverted at its next sync; change it in Git.`);
}

function hiddenLines(view: HistoryView): string[] {
  const note = (part: Seen<unknown>, what: string): string[] => ('hidden' in part ? [`_not allowed to see ${what}_`] : 'failed' in part ? [`_${what} could not be read (${escapeMrkdwn(part.failed)})_`] : []);
  return [...note(view.revisions, view.target.kind === 'Deployment' ? 'ReplicaSets' : 'ControllerRevisions'), ...note(view.actions, 'events')];
}
