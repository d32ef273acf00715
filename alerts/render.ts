import { createHash } from 'node:crypto';
import type { types as slack } from '@slack/bolt';
import type { GroupChange, GroupState, TrackedAlert } from './group-state.ts';
import { isFiring } from './group-state.ts';
import type { AlertEnrichment, GroupEnrichment } from './enrichers/enrichment.ts';
import { alertButtons, groupWorkload } from './alert-buttons.ts';
import { cleanText, createSecretRedactor, type Redactor } from '../src/redact-secrets.ts';
import { alertSilenceButton, silencedLine } from './silence-control.ts';

/** action_id prefix of URL buttons: clicking one needs only an acknowledgement. */
export const LINK_ACTION_PREFIX = 'link:';

/**
 * What an action button's `value` carries: a short digest of the group key. The handler finds the
 * group from the message the click came from and only checks that this matches it; the value is
 * never trusted to name the group. A digest, because group keys can exceed the 2000 characters
 * Slack allows in a value.
 */
export function groupRef(groupKey: string): string {
  return `g1:${createHash('sha256').update(groupKey).digest('hex').slice(0, 24)}`;
}

/** A Slack message ready for chat.postMessage / chat.update. */
export interface SlackMessage {
  /** Notification and screen-reader fallback; mrkdwn, already escaped. */
  text: string;
  blocks: slack.KnownBlock[];
}

/*
 * Slack documents: 50 blocks per message, 3000 chars of section text, 2000 per section field,
 * 10 fields per section, 150 chars of header text, 3000 chars of button URL, and advises keeping
 * top-level text under 4000. We stay well below, because Slack does not say whether it counts
 * UTF-16 units, code points or bytes, and because it also rejects messages whose blocks are large
 * in total (msg_blocks_too_long) at an undocumented size (reported around 13k characters).
 */
const BUDGET = {
  header: 140,
  section: 2800,
  summary: 300,
  field: 300,
  fields: 10,
  fallback: 3000,
  url: 2900,
  alertLines: 20,
  alertIdentity: 300,
  alertNote: 200,
  labelValue: 120,
  reply: 1500,
  replyAlerts: 5,
  replyIdentity: 120,
} as const;

/*
 * Labels that never help tell alerts apart or decide what to do: prometheus / prometheus_replica
 * name the Prometheus that evaluated the rule (external labels), endpoint is the ServiceMonitor
 * port name, uid is kube-state-metrics' object UID (the pod name says the same, readably).
 * job and instance stay: for TargetDown or node alerts they are the subject of the alert, and we
 * cannot tell those apart from an exporter's address.
 */
const NOISE_LABELS: ReadonlySet<string> = new Set(['prometheus', 'prometheus_replica', 'endpoint', 'uid']);

/** Not listed among the group's labels: noise, plus alertname and severity (in the header). */
const HIDDEN_LABELS: ReadonlySet<string> = new Set([...NOISE_LABELS, 'alertname', 'severity']);

/** Labels an on-call engineer looks for first; the rest follow alphabetically. */
const LABEL_PRIORITY = [
  'cluster',
  'namespace',
  'service',
  'deployment',
  'statefulset',
  'daemonset',
  'job_name',
  'pod',
  'container',
  'node',
  'persistentvolumeclaim',
  'instance',
  'job',
];

/** For callers that pass no redactor: the built-in and the default patterns. */
const DEFAULT_REDACTOR = createSecretRedactor();

/**
 * The group as Lookout may show it: every label and annotation (names and values), the alerts'
 * generator URLs and fingerprints, and Alertmanager's URL, with secrets redacted and control and
 * bidirectional characters removed (src/redact-secrets.ts). Every render function starts here,
 * before anything is cut to length, so a cut can never leave half a secret that no pattern
 * recognises. The group key is not shown (only its digest, groupRef), so it stays as it is.
 * Values repeat across a group's alerts (namespace, job…) and across renders of the same group:
 * each distinct one is cleaned once per render here, and the redactor remembers short texts.
 */
export function cleanGroupState(group: GroupState, redactor: Redactor = DEFAULT_REDACTOR): GroupState {
  const memo = new Map<string, string>();
  const clean = (text: string): string => {
    let cleaned = memo.get(text);
    if (cleaned === undefined) {
      cleaned = cleanText(text, redactor);
      memo.set(text, cleaned);
    }
    return cleaned;
  };
  const cleanRecord = (record: Readonly<Record<string, string>>): Record<string, string> =>
    Object.fromEntries(Object.entries(record).map(([name, value]) => [clean(name), clean(value)]));
  return {
    ...group,
    externalURL: clean(group.externalURL),
    groupLabels: cleanRecord(group.groupLabels),
    commonLabels: cleanRecord(group.commonLabels),
    commonAnnotations: cleanRecord(group.commonAnnotations),
    alerts: group.alerts.map((alert) => cleanAlert(alert, clean, cleanRecord)),
  };
}

function cleanAlert(
  alert: TrackedAlert,
  clean: (text: string) => string,
  cleanRecord: (record: Readonly<Record<string, string>>) => Record<string, string>,
): TrackedAlert {
  return {
    ...alert,
    labels: cleanRecord(alert.labels),
    annotations: cleanRecord(alert.annotations),
    generatorURL: clean(alert.generatorURL),
    fingerprint: clean(alert.fingerprint),
  };
}

/**
 * Renders the one Slack message that stands for an Alertmanager group. Pure: the same state gives
 * byte-identical output (label maps are sorted, no clock is read), so callers detect duplicates by
 * comparing renders. Buttons that act come from alerts/alert-buttons.ts; the rest are URL buttons. Alert text
 * is cleaned first (cleanGroupState).
 */
export function renderGroupMessage(rawGroup: GroupState, enrichment: GroupEnrichment = {}, redactor: Redactor = DEFAULT_REDACTOR): SlackMessage {
  const group = cleanGroupState(rawGroup, redactor);
  const blocks: slack.KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: clipPlain(headerText(group), BUDGET.header) } },
  ];
  const summary = summarySection(group);
  if (summary !== '') blocks.push(mrkdwnSection(summary));
  for (const text of alertsSections(group, enrichment, summary.length)) blocks.push(mrkdwnSection(text));
  const fields = labelFields(group);
  if (fields.length > 0) {
    blocks.push({ type: 'section', fields: fields.map((text) => ({ type: 'mrkdwn', text, verbatim: true })) });
  }
  const acknowledgement = acknowledgedLine(group);
  if (acknowledgement !== undefined) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: acknowledgement }] });
  // While a silence made from Slack lasts, the message says so instead of looking forgotten.
  const silenced = silencedLine(group);
  if (silenced !== undefined) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: silenced }] });
  const buttons = [...alertButtons({ state: group, enrichment, workload: groupWorkload(group, enrichment), ref: groupRef(group.groupKey) }), ...linkButtons(group)];
  if (buttons.length > 0) blocks.push({ type: 'actions', elements: buttons });
  return { text: fallbackText(group), blocks };
}

/**
 * The short thread reply that says what a notification changed, e.g. "🔴 2 alerts firing: `pod=a`,
 * `pod=b`" or "✅ 1 resolved: `pod=a`" followed by "All alerts resolved ✅" once nothing fires.
 * Returns "" for an empty change. At most five alerts are named per line, then "and N more".
 */
export function renderChangeReply(rawGroup: GroupState, rawChange: GroupChange, redactor: Redactor = DEFAULT_REDACTOR): string {
  // Runs for every notification that changes a posted group, so only what a reply can show is
  // cleaned: the changed alerts and the group's common labels. Of the group's own alerts only
  // their statuses are read here (isFiring), so they stay as they are.
  const { alerts, ...cleaned } = cleanGroupState({ ...rawGroup, alerts: [...rawChange.firing, ...rawChange.resolved] }, redactor);
  const group: GroupState = { ...cleaned, alerts: rawGroup.alerts };
  const change: GroupChange = { firing: alerts.slice(0, rawChange.firing.length), resolved: alerts.slice(rawChange.firing.length) };
  const lines: string[] = [];
  if (change.firing.length > 0) {
    lines.push(`🔴 ${plural(change.firing.length, 'alert')} firing: ${alertList(change.firing, group)}`);
  }
  if (change.resolved.length > 0) {
    lines.push(`✅ ${change.resolved.length} resolved: ${alertList(change.resolved, group)}`);
    // Alerts Alertmanager left out may still fire, so only claim "all" when it left none out.
    if (!isFiring(group) && group.truncatedAlerts === 0) lines.push('All alerts resolved ✅');
  }
  // Bounded by construction (names and counts are capped); the clip is a last guard.
  return clipAtLine(lines.join('\n'), BUDGET.reply);
}

function headerText(group: GroupState): string {
  const firing = group.alerts.filter((alert) => alert.status === 'firing').length;
  const more = group.truncatedAlerts > 0 ? '+' : '';
  const parts = [firing > 0 ? `🔥 FIRING (${firing}${more})` : '✅ RESOLVED'];
  const severity = own(group.commonLabels, 'severity');
  if (severity !== undefined && severity !== '') parts.push(severity);
  parts.push(alertName(group));
  return parts.join(' · ');
}

/** The common alertname, or the distinct names when a group mixes several rules. */
function alertName(group: GroupState): string {
  const common = own(group.commonLabels, 'alertname');
  if (common !== undefined && common !== '') return common;
  const names = [...new Set(group.alerts.map((alert) => own(alert.labels, 'alertname') ?? ''))]
    .filter((name) => name !== '')
    .sort(byCodeUnit);
  return names.length > 0 ? names.join(', ') : 'alerts';
}

function summarySection(group: GroupState): string {
  const summary = own(group.commonAnnotations, 'summary') ?? '';
  const description = own(group.commonAnnotations, 'description') ?? '';
  const parts: string[] = [];
  if (summary !== '') parts.push(`*${clipMrkdwn(oneLine(summary), BUDGET.summary)}*`);
  if (description !== '') {
    const used = parts.reduce((total, part) => total + part.length + 1, 0);
    parts.push(clipMrkdwn(description, BUDGET.section - used));
  }
  return parts.join('\n');
}

/**
 * One compact line per alert, as many as fit, then "…and N more". Enrichment only adds room: the
 * alerts listed are the same as without it, and the first enriched firing alerts get their
 * enrichment lines underneath while the extra room lasts. The list may then span several sections
 * (Slack's limit is per section) within a total well below Slack's message size.
 */
function alertsSections(group: GroupState, enrichment: GroupEnrichment, summaryLength: number): string[] {
  const reserve = 80; // room for the "…and N more" line
  const lines: string[] = [];
  let length = 0;
  for (const alert of group.alerts) {
    if (lines.length === BUDGET.alertLines) break;
    const line = alertLine(alert, group);
    if (length + line.length + 1 > BUDGET.section - reserve) break;
    lines.push(line);
    length += line.length + 1;
  }
  const enrichedLines = withEnrichment(group, enrichment, lines, Math.max(BUDGET.section, ENRICHMENT_BUDGET.alertsTotal - summaryLength) - reserve - length);
  const hidden = group.alerts.length - lines.length + group.truncatedAlerts;
  if (hidden > 0) {
    const leftOut = group.truncatedAlerts > 0 ? ` (Alertmanager left out ${group.truncatedAlerts})` : '';
    enrichedLines.push(`…and ${hidden} more${leftOut}`);
  }
  return enrichedLines.length > 0 ? packSections(enrichedLines, BUDGET.section) : ['No alerts.'];
}

/** `lines[i]` stands for `group.alerts[i]`; enriched firing alerts get their lines while `room` lasts. */
function withEnrichment(group: GroupState, enrichment: GroupEnrichment, lines: readonly string[], room: number): string[] {
  let left = room;
  let enriched = 0;
  return lines.map((line, index) => {
    const alert = group.alerts[index]!;
    if (left <= 0 || enriched === ENRICHMENT_BUDGET.enrichedAlerts || alert.status !== 'firing' || !Object.hasOwn(enrichment, alert.fingerprint)) return line;
    const extra = enrichmentLines(enrichment[alert.fingerprint]!);
    if (extra.length === 0) return line;
    const text = extra.join('\n');
    if (text.length + 1 > left) {
      left = 0; // the first ones enriched, not a scattered few
      return line;
    }
    left -= text.length + 1;
    enriched += 1;
    return `${line}\n${text}`;
  });
}

/** Joins entries (each shorter than `max`) into as few sections of at most `max` chars as possible. */
function packSections(entries: readonly string[], max: number): string[] {
  const sections: string[] = [];
  let current = '';
  for (const entry of entries) {
    if (current !== '' && current.length + 1 + entry.length > max) {
      sections.push(current);
      current = '';
    }
    current = current === '' ? entry : `${current}\n${entry}`;
  }
  if (current !== '') sections.push(current);
  return sections;
}

function alertLine(alert: TrackedAlert, group: GroupState): string {
  const firing = alert.status === 'firing';
  const identity = labelCodes(identityLabels(alert, group), BUDGET.alertIdentity);
  const when = firing ? slackDate(alert.startsAt) : slackDate(alert.endsAt);
  const state = firing ? `firing since ${when ?? 'unknown'}` : when === undefined ? 'resolved' : `resolved ${when}`;
  const note = alertNote(alert, group);
  return [
    firing ? '🔴' : '✅',
    identity === '' ? '' : `${identity} ·`,
    state,
    note === undefined ? '' : `— ${clipMrkdwn(oneLine(note), BUDGET.alertNote)}`,
  ]
    .filter((part) => part !== '')
    .join(' ');
}

/** The labels that tell this alert apart from the rest of its group. */
function identityLabels(alert: TrackedAlert, group: GroupState): Array<[string, string]> {
  return sortedEntries(alert.labels).filter(
    ([name, value]) => own(group.commonLabels, name) !== value && !NOISE_LABELS.has(name),
  );
}

/** Per-alert summary (or description) when the group does not share it. */
function alertNote(alert: TrackedAlert, group: GroupState): string | undefined {
  for (const key of ['summary', 'description']) {
    const value = own(alert.annotations, key);
    if (value !== undefined && value !== '' && own(group.commonAnnotations, key) !== value) return value;
  }
  return undefined;
}

function labelFields(group: GroupState): string[] {
  const labels = sortedEntries(group.commonLabels)
    .filter(([name]) => !HIDDEN_LABELS.has(name))
    .sort(([a], [b]) => priority(a) - priority(b));
  const field = ([name, value]: [string, string]): string =>
    `*${clipMrkdwn(name, 60)}*\n${labelValue(value, BUDGET.field - 70)}`;
  if (labels.length <= BUDGET.fields) return labels.map(field);
  const shown = labels.slice(0, BUDGET.fields - 1);
  const rest = labels.slice(BUDGET.fields - 1).map(([name]) => name);
  return [...shown.map(field), `*+${rest.length} more*\n${clipMrkdwn(rest.join(', '), BUDGET.field - 20)}`];
}

/** "✋ Acknowledged by <@U…> <date>": a mention of the Slack user id stored server-side. */
function acknowledgedLine(group: GroupState): string | undefined {
  const ack = group.acknowledged;
  if (ack === undefined || !/^[UW][A-Z0-9]{2,}$/.test(ack.by)) return undefined;
  const when = slackDate(ack.at);
  return `✋ Acknowledged by <@${ack.by}>${when === undefined ? '' : ` ${when}`}`;
}

function linkButtons(group: GroupState): slack.Button[] {
  const links: Array<[string, string | undefined]> = [
    // Alerts are ordered firing first, so this is the rule behind what is on fire now.
    ['Source', group.alerts.find((alert) => alert.generatorURL !== '')?.generatorURL],
    ['Runbook', annotation(group, 'runbook_url')],
    ['Dashboard', annotation(group, 'dashboard_url')],
    ['Silence', isFiring(group) ? silenceUrl(group) : undefined],
  ];
  return links
    .filter((link): link is [string, string] => link[1] !== undefined && isButtonUrl(link[1]))
    // Slack sends block_actions even for link buttons; the shared action_id prefix lets the app ack them.
    .map(([label, url]) => ({ type: 'button', action_id: `${LINK_ACTION_PREFIX}${label.toLowerCase()}`, text: { type: 'plain_text', text: label }, url }));
}

/** A common annotation, else the first alert's (a runbook link rarely differs between alerts). */
function annotation(group: GroupState, key: string): string | undefined {
  const common = own(group.commonAnnotations, key);
  if (common !== undefined && common !== '') return common;
  for (const alert of group.alerts) {
    const value = own(alert.annotations, key);
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

/** Slack rejects the whole message for one bad button URL, so only absolute http(s) URLs pass. */
function isButtonUrl(url: string): boolean {
  if (url.length > BUDGET.url) return false;
  const parsed = URL.parse(url);
  return parsed !== null && (parsed.protocol === 'https:' || parsed.protocol === 'http:');
}

/**
 * Alertmanager UI link that pre-fills a new silence for this group. Built from groupLabels, so it
 * silences what this message stands for and keeps matching when volatile labels (an exporter's
 * pod IP in `instance`) change. With `group_by: []` groupLabels are empty; then commonLabels,
 * and no link at all rather than a form that would silence everything.
 */
function silenceUrl(group: GroupState): string | undefined {
  if (group.externalURL === '') return undefined;
  let labels = sortedEntries(group.groupLabels);
  if (labels.length === 0) labels = sortedEntries(group.commonLabels);
  if (labels.length === 0) return undefined;
  const filter = `{${labels.map(([name, value]) => `${matcherName(name)}=${quoted(value)}`).join(',')}}`;
  return `${group.externalURL.replace(/\/+$/, '')}/#/silences/new?filter=${encodeURIComponent(filter)}`;
}

/** Classic label names go bare; UTF-8 names (Alertmanager ≥ 0.27) must be quoted. */
function matcherName(name: string): string {
  return /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name) ? name : quoted(name);
}

function quoted(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

function fallbackText(group: GroupState): string {
  const firing = group.alerts.filter((alert) => alert.status === 'firing').length;
  const status = firing > 0 ? `[FIRING:${firing}${group.truncatedAlerts > 0 ? '+' : ''}]` : '[RESOLVED]';
  const severity = own(group.commonLabels, 'severity');
  // The first alert's summary that is not empty; read one alert at a time, as each read cleans it.
  const summary = own(group.commonAnnotations, 'summary') ?? firstNonEmpty(group.alerts, 'summary');
  const text = [
    status,
    alertName(group),
    severity ? `(${severity})` : '',
    summary ? `— ${oneLine(summary)}` : '',
  ]
    .filter((part) => part !== '')
    .join(' ');
  return clipMrkdwn(text, BUDGET.fallback);
}

function firstNonEmpty(alerts: readonly TrackedAlert[], key: string): string | undefined {
  for (const alert of alerts) {
    const value = own(alert.annotations, key);
    if (value) return value;
  }
  return undefined;
}

function alertList(alerts: readonly TrackedAlert[], group: GroupState): string {
  const names = alerts.slice(0, BUDGET.replyAlerts).map((alert) => {
    const identity = labelCodes(identityLabels(alert, group), BUDGET.replyIdentity);
    return identity !== '' ? identity : labelValue(own(alert.labels, 'alertname') ?? alert.fingerprint, BUDGET.replyIdentity);
  });
  const more = alerts.length - names.length;
  return more > 0 ? `${names.join(', ')} and ${more} more` : names.join(', ');
}

/** `name=value` code spans, as many as fit in `max`, then "+N". */
function labelCodes(labels: ReadonlyArray<[string, string]>, max: number): string {
  const parts: string[] = [];
  let length = 0;
  for (const [index, [name, value]] of labels.entries()) {
    const part = labelValue(`${name}=${value}`, BUDGET.labelValue);
    const rest = labels.length - index - 1;
    const reserve = rest > 0 ? 8 : 0; // " +NNNNN"
    if (length + part.length + 1 + reserve > max) {
      parts.push(`+${labels.length - index}`);
      break;
    }
    parts.push(part);
    length += part.length + 1;
  }
  return parts.join(' ');
}

/** A label value as inline code; plain text when a backtick would end the code span early. */
function labelValue(value: string, max: number): string {
  const text = oneLine(value);
  if (text.includes('`') || text === '') return clipMrkdwn(text === '' ? '""' : text, max);
  return `\`${clipMrkdwn(text, max - 2)}\``;
}

function mrkdwnSection(text: string): slack.SectionBlock {
  // verbatim: Slack must not turn alert text into links or mentions (an annotation saying
  // "@channel" must not page a whole channel); our own <!date^…> tokens still render.
  return { type: 'section', text: { type: 'mrkdwn', text, verbatim: true } };
}

/**
 * Slack's <!date^…> token: each reader sees their own time zone. The fallback is UTC for clients
 * that cannot format it. Go's zero time ("0001-01-01T00:00:00Z") means "not set".
 */
function slackDate(timestamp: string): string | undefined {
  const ms = Date.parse(timestamp);
  if (!(ms > 0)) return undefined;
  const fallback = `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time}|${fallback}>`;
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && a[key] === b[key]);
}

/** Slack's control characters; everything else is shown as typed. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Escapes, then cuts to `max` without splitting an entity or a surrogate pair. */
export function clipMrkdwn(raw: string, max: number): string {
  const escaped = escapeMrkdwn(raw);
  if (escaped.length <= max) return escaped;
  let out = '';
  for (const char of raw) {
    const piece = escapeMrkdwn(char);
    if (out.length + piece.length > max - 1) break;
    out += piece;
  }
  return `${out}…`;
}

/** Cuts plain text to `max` UTF-16 units without splitting a surrogate pair. */
function clipPlain(text: string, max: number): string {
  if (text.length <= max) return text;
  let out = '';
  for (const char of text) {
    if (out.length + char.length > max - 1) break;
    out += char;
  }
  return `${out}…`;
}

/** Cuts already-rendered mrkdwn at a line break, so no code span or entity is split. */
function clipAtLine(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.lastIndexOf('\n', max - 1);
  return cut > 0 ? `${text.slice(0, cut)}\n…` : '…';
}

/** Each line break, with the whitespace around it, becomes one space. */
export function oneLine(text: string): string {
  // Not /\s*\n\s*/g: on a long run of spaces without a break that regex backtracks over the
  // whole run at every position (quadratic: minutes for the 1 MB a webhook may carry).
  return text
    .split('\n')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .join(' ');
}

/** "1 alert", "3 alerts". */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function priority(name: string): number {
  const index = LABEL_PRIORITY.indexOf(name);
  return index === -1 ? LABEL_PRIORITY.length : index;
}

/** Sorted by name so that equal label sets render identically whatever their JSON key order. */
function sortedEntries(record: Readonly<Record<string, string>>): Array<[string, string]> {
  return Object.entries(record).sort(([a], [b]) => byCodeUnit(a, b));
}

/** Locale-independent ordering: localeCompare would make output depend on the host's ICU. */
function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Own properties only: a label called "constructor" must not read Object.prototype. */
function own(record: Readonly<Record<string, string>>, key: string): string | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/*
 * Enrichment. Sources hand over mrkdwn that is already escaped and redacted (enrichment.ts), so
 * it is never escaped again here, only cut where a cut cannot break an entity or a code span.
 */
const ENRICHMENT_BUDGET = {
  /** Alert list with enrichment lines: total chars across its sections. */
  alertsTotal: 6000,
  /** Alerts that get enrichment lines in the main message; the thread has all. */
  enrichedAlerts: 10,
  /** Slack wraps it; several sources' summaries (up to 300 each) share it. */
  summaryLine: 700,
  noteLine: 200,
  detailTotal: 11_000,
  detailBlocks: 45,
} as const;

/**
 * Under an alert in the main message: one line of the sources' summaries and one line of notes
 * for sources that could not answer ("logs unavailable: timeout"); nothing while still waiting.
 */
function enrichmentLines(entry: AlertEnrichment): string[] {
  const lines: string[] = [];
  const summaries = entry.facts.map((fact) => oneLine(fact.summary)).filter((summary) => summary !== '');
  if (summaries.length > 0) lines.push(`↳ ${joinWithin(summaries, ' · ', ENRICHMENT_BUDGET.summaryLine - 2)}`);
  const notes = entry.failures.map((failure) => `${failure.source} unavailable: ${escapeMrkdwn(failure.reason)}`);
  if (notes.length > 0) lines.push(`⚠️ _${joinWithin(notes, ' · ', ENRICHMENT_BUDGET.noteLine - 5)}_`);
  return lines;
}

/** Joins whole parts while they fit in `max`, then "+N more"; a first part too long is cut. */
function joinWithin(parts: readonly string[], separator: string, max: number): string {
  const shown: string[] = [];
  let length = 0;
  for (const [index, part] of parts.entries()) {
    const rest = parts.length - index - 1;
    const reserve = rest > 0 ? 12 : 0; // " · +NN more"
    const cost = (shown.length > 0 ? separator.length : 0) + part.length;
    if (length + cost + reserve > max) {
      if (shown.length === 0) shown.push(clipRenderedLine(part, max - 12));
      const left = parts.length - shown.length;
      if (left > 0) shown.push(`+${left} more`);
      break;
    }
    shown.push(part);
    length += cost;
  }
  return shown.join(separator);
}

/**
 * The group's thread detail message: for each enriched alert, each source's detail (recent
 * events, the log excerpt in a code block). Posted once and edited in place as it changes.
 * Undefined when no source has detail to show.
 */
export function renderGroupDetail(rawGroup: GroupState, enrichment: GroupEnrichment, redactor: Redactor = DEFAULT_REDACTOR): SlackMessage | undefined {
  const group = cleanGroupState(rawGroup, redactor);
  const blocks: slack.KnownBlock[] = [];
  let total = 0;
  let omitted = 0;
  for (const [index, alert] of group.alerts.entries()) {
    const entry = Object.hasOwn(enrichment, alert.fingerprint) ? enrichment[alert.fingerprint] : undefined;
    const details = (entry?.facts ?? []).filter((fact) => fact.detail !== undefined && fact.detail.trim() !== '');
    if (details.length === 0) continue;
    // From the labels as Alertmanager sent them, and only when cleaning changed none (a redacted
    // value would make a silence that matches nothing).
    const raw = rawGroup.alerts[index];
    const silence = alert.status === 'firing' && raw !== undefined && sameLabels(raw.labels, alert.labels) ? alertSilenceButton(raw.labels) : undefined;
    const identity = labelCodes(identityLabels(alert, group), BUDGET.alertIdentity);
    const title = `${alert.status === 'firing' ? '🔴' : '✅'} ${identity !== '' ? identity : labelValue(own(alert.labels, 'alertname') ?? alert.fingerprint, 120)}`;
    // Each source's detail opens with its own bold title ("*Pod* …", "*Logs* …").
    const sections = details.map((fact) => clipLines(fact.detail!.trim(), BUDGET.section));
    const size = title.length + sections.reduce((sum, text) => sum + text.length, 0);
    if (omitted > 0 || blocks.length + 1 + sections.length + (silence ? 1 : 0) > ENRICHMENT_BUDGET.detailBlocks || total + size > ENRICHMENT_BUDGET.detailTotal) {
      omitted += 1;
      continue;
    }
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: title, verbatim: true }] });
    for (const text of sections) blocks.push(mrkdwnSection(text));
    if (silence) blocks.push({ type: 'actions', elements: [silence] });
    total += size;
  }
  if (blocks.length === 0) return undefined;
  if (omitted > 0) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `…details of ${plural(omitted, 'more alert')} not shown`, verbatim: true }] });
  const text = clipPlain(`Details: ${alertName(group)}`, BUDGET.header);
  return { text: escapeMrkdwn(text), blocks: [{ type: 'header', text: { type: 'plain_text', text: clipPlain(`🔎 Details · ${alertName(group)}`, BUDGET.header) } }, ...blocks] };
}

/** Cuts rendered mrkdwn to `max` on one line without leaving half an entity, token, link or code span. */
function clipRenderedLine(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, Math.max(0, max - 1));
  cut = cut.replace(/&[a-z]{0,4}$/, '');
  // A <!date^…|…> token or a <url|label> link cut open would show as raw text.
  if (cut.lastIndexOf('<') > cut.lastIndexOf('>')) cut = cut.slice(0, cut.lastIndexOf('<'));
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  if ((cut.match(/`/g) ?? []).length % 2 === 1) cut = cut.slice(0, cut.lastIndexOf('`'));
  return `${cut}…`;
}

/**
 * Cuts rendered mrkdwn at a line break so no code span, entity or date token is split; a cut
 * inside an open ``` block closes it. Used by the sources (enrichers/format.ts) and, for a source
 * that overran its limit, by the thread detail.
 */
export function clipLines(rendered: string, max: number): string {
  if (rendered.length <= max) return rendered;
  const marker = '\n…';
  let cut = rendered.lastIndexOf('\n', max - marker.length - 4);
  if (cut <= 0) cut = 0;
  let head = rendered.slice(0, cut);
  const fences = head.split('```').length - 1;
  if (fences % 2 === 1) head += '\n```';
  return `${head}${marker}`;
}
