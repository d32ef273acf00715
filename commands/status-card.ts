import type { KnownBlock } from '@slack/types';
import { ago, code, dotted, text as oneLineText } from '../alerts/enrichers/format.ts';
import { clipLines, escapeMrkdwn, plural } from '../alerts/render.ts';
import type { Silence } from '../src/integrations/alertmanager.ts';
import type { Redactor } from '../src/redact-secrets.ts';
import { BLOCK_LIMITS, button } from '../src/slack/reply-limits.ts';
import { describeRollout, type RolloutStatus } from '../src/workloads/rollout-progress.ts';
import type { ScalingHpa } from '../src/workloads/scale-workload.ts';
import type { Seen, UnreadyPod } from '../src/workloads/workload-reads.ts';
import { describeWorkload, type WorkloadRef } from '../src/workloads/workload-ref.ts';
import { commandButtonActionId, type ReplyContent } from './command.ts';
import { silenceLine } from './silence-support.ts';
import type { WorkloadAlerts } from './status-alerts.ts';

/** Where the rollout stands, as `/ops status` names it. */
export type RolloutState = { state: 'complete' | 'progressing' | 'paused' } | { state: 'stalled'; why: string };

/** A Warning event about the workload, its ReplicaSets or its pods. */
export interface WarningLine {
  object: string;
  reason: string;
  message: string;
  count: number;
  /** RFC 3339. */
  at: string;
}

/** A button the person may use: runs `/ops <command> <value>` for whoever clicks. */
export interface StatusButton {
  label: string;
  command: string;
  value: string;
}

/** Everything the card shows, read before rendering (commands/status.ts). */
export interface StatusView {
  ref: WorkloadRef;
  images: Array<{ container: string; image: string }>;
  rollout: RolloutStatus;
  state: RolloutState;
  hpa: Seen<ScalingHpa | undefined>;
  /** The pods that are not ready (of `total` pods). */
  pods: Seen<{ total: number; unready: UnreadyPod[] }>;
  warnings: Seen<WarningLine[]>;
  alerts: WorkloadAlerts;
  buttons: StatusButton[];
  /** The workspace's address for message links, when known. */
  workspaceUrl?: string;
}

/** A section's mrkdwn stays within Slack's 3,000 characters; lines beyond it are counted, not cut mid-way. */
const SECTION_MAX = 3000;
/** Lines shown per list: the card stays a card. */
const MAX_PODS = 10;
const MAX_WARNINGS = 5;
const MAX_ALERTS = 10;
const LINE_MAX = 300;

const STATE_LINE = {
  complete: '✅ rollout complete',
  progressing: '⏳ rolling out',
  paused: '⏸️ rollout paused',
  stalled: '⚠️ rollout stalled',
} as const;

/**
 * The status card: one section per part, each within Slack's limits, and the actions the person
 * may take. `text` holds the same sections (for notifications and screen readers).
 */
export function renderStatusCard(view: StatusView, redactor: Redactor, now: number): ReplyContent {
  const sections = [
    headline(view),
    `*Images*\n${view.images.map(({ container, image }) => `${code(container, 60)} ${code(image, 200)}`).join('\n') || '_none_'}`,
    `*Replicas* ${describeRollout(view.rollout)}\n*HPA* ${hpaLine(view.hpa)}`,
    podsSection(view.pods),
    warningsSection(view.warnings, redactor, now),
    ...alertSections(view.alerts, redactor, now, view.workspaceUrl),
  ].map((section) => clipLines(section, SECTION_MAX));
  const blocks: KnownBlock[] = sections.map((section) => ({ type: 'section', text: { type: 'mrkdwn', text: section } }));
  const buttons = view.buttons.slice(0, BLOCK_LIMITS.elementsPerActions).map(({ label, command, value }) => button({ actionId: commandButtonActionId(command), text: label, value }));
  // One action_id per command: Slack refuses two elements with the same action_id in one block.
  const rows = splitByActionId(buttons);
  for (const row of rows) blocks.push({ type: 'actions', elements: row });
  return { text: sections.join('\n'), blocks };
}

function headline({ ref, state }: StatusView): string {
  const why = state.state === 'stalled' ? ` (${oneLineText(state.why, LINE_MAX)})` : '';
  return `*${escapeMrkdwn(describeWorkload(ref))}* · ${ref.kind} · ${STATE_LINE[state.state]}${why}`;
}

function hpaLine(hpa: StatusView['hpa']): string {
  const shown = hidden(hpa, 'HorizontalPodAutoscalers');
  if (shown !== undefined) return shown;
  const value = (hpa as { value: ScalingHpa | undefined }).value;
  if (value === undefined) return 'none';
  return `${code(value.name, 80)} min ${value.minReplicas} · max ${value.maxReplicas} · current ${value.currentReplicas ?? 'unknown'}`;
}

function podsSection(pods: StatusView['pods']): string {
  const shown = hidden(pods, 'pods');
  if (shown !== undefined) return `*Pods* ${shown}`;
  const { total, unready } = (pods as { value: { total: number; unready: UnreadyPod[] } }).value;
  if (unready.length === 0) return `*Pods* ${plural(total, 'pod')}, all ready`;
  const lines = unready.slice(0, MAX_PODS).map((pod) => `• ${code(pod.name, 120)} ${oneLineText(pod.reason, 200)}${pod.restarts > 0 ? ` · ${plural(pod.restarts, 'restart')}` : ''}`);
  return [`*Pods not ready* ${unready.length} of ${total}`, ...lines, ...more(unready.length, MAX_PODS)].join('\n');
}

function warningsSection(warnings: StatusView['warnings'], redactor: Redactor, now: number): string {
  const shown = hidden(warnings, 'events');
  if (shown !== undefined) return `*Warning events* ${shown}`;
  const list = (warnings as { value: WarningLine[] }).value;
  if (list.length === 0) return '*Warning events* none';
  const lines = list
    .slice(0, MAX_WARNINGS)
    .map((event) => `• ${dotted([`*${oneLineText(event.reason, 80)}*${event.count > 1 ? ` ×${event.count}` : ''}`, code(event.object, 120), ago(event.at, now)])}: ${oneLineText(redactor.redact(event.message), LINE_MAX)}`);
  return [`*Warning events* ${list.length > MAX_WARNINGS ? `newest ${MAX_WARNINGS} of ${list.length}` : list.length}`, ...lines].join('\n');
}

function alertSections(alerts: WorkloadAlerts, redactor: Redactor, now: number, workspaceUrl: string | undefined): string[] {
  if ('unconfigured' in alerts) return ['*Alerts* _Alertmanager is not configured (`ALERTMANAGER_URL`)_'];
  if ('failed' in alerts) return [`*Alerts* _Alertmanager did not answer (${escapeMrkdwn(alerts.failed)})_`];
  if (alerts.alerts.length === 0) return ['*Alerts* none firing'];
  const lines = alerts.alerts.slice(0, MAX_ALERTS).map(({ alert, message }) => {
    const summary = alert.annotations['summary'] ?? alert.annotations['description'];
    const link = message === undefined ? undefined : `<${messageLink(message.channel, message.messageTs, workspaceUrl)}|message>`;
    const icon = alert.state === 'suppressed' ? '🔕' : '🔥';
    const parts = dotted([`${icon} *${oneLineText(alert.labels['alertname'] ?? alert.fingerprint, 120)}*`, alert.labels['severity'] && oneLineText(alert.labels['severity'], 40), ago(alert.startsAt, now) && `since ${ago(alert.startsAt, now)}`, alert.state === 'suppressed' ? 'silenced' : undefined, link]);
    return `• ${parts}${summary ? `\n   ${oneLineText(redactor.redact(summary), LINE_MAX)}` : ''}`;
  });
  const sections = [[`*Alerts* ${alerts.alerts.length} firing`, ...lines, ...more(alerts.alerts.length, MAX_ALERTS)].join('\n')];
  const silences = alerts.silences;
  if ('hidden' in silences) sections.push('*Silences* _not allowed to see silences_');
  else if ('failed' in silences) sections.push(`*Silences* _could not be read (${escapeMrkdwn(silences.failed)})_`);
  else if (silences.value.length > 0) sections.push([`*Silences* ${silences.value.length} active`, ...silences.value.map((silence: Silence) => `• ${silenceLine(silence)}`)].join('\n'));
  return sections;
}

/**
 * A link to the alert's message, as Slack's own "Copy link" makes it:
 * `<workspace url>archives/<channel>/p<ts without the dot>`. Without the workspace's address
 * (auth.test not answered yet), `https://slack.com/archives/…`, which Slack resolves for the
 * workspace the reader is signed in to.
 */
export function messageLink(channel: string, messageTs: string, workspaceUrl = 'https://slack.com/'): string {
  const base = workspaceUrl.endsWith('/') ? workspaceUrl : `${workspaceUrl}/`;
  return `${base}archives/${encodeURIComponent(channel)}/p${messageTs.replace('.', '')}`;
}

/** "not allowed to see pods" / "could not be read (…)", or undefined when the part was read. */
function hidden<T>(part: Seen<T>, what: string): string | undefined {
  if ('hidden' in part) return `_not allowed to see ${what}_`;
  if ('failed' in part) return `_could not be read (${escapeMrkdwn(part.failed)})_`;
  return undefined;
}

function more(count: number, shown: number): string[] {
  return count > shown ? [`_… and ${count - shown} more_`] : [];
}

function splitByActionId<T extends { action_id?: string }>(elements: readonly T[]): T[][] {
  const rows: T[][] = [];
  for (const element of elements) {
    const row = rows.find((candidate) => !candidate.some((other) => other.action_id === element.action_id));
    if (row) row.push(element);
    else rows.push([element]);
  }
  return rows;
}
