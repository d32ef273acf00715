import { InvalidInput, Unavailable } from '../src/errors.ts';
import { AlertmanagerError, type AlertmanagerPort, type Silence } from '../src/integrations/alertmanager.ts';
import { formatMatcher, silenceNamespace, type Matcher } from '../src/integrations/silence-matchers.ts';
import type { ResourceAttributes } from '../src/kube/access-review.ts';
import { LOOKOUT_GROUP } from '../src/kube/resource-names.ts';

/** What the silence commands need; built once in src/lookout.ts. */
export interface SilenceCommandDeps {
  /** Undefined without ALERTMANAGER_URL: the commands are listed but say how to enable them. */
  alertmanager: AlertmanagerPort | undefined;
  /** The `silences.maxDuration` setting. */
  maxDurationMs: number;
  now: () => number;
  /** A silence was ended through Lookout: alert messages that show it stop saying so. */
  onExpired?: (silenceId: string) => void;
}

export const NO_ALERTMANAGER_MESSAGE =
  'Lookout is not connected to Alertmanager (ALERTMANAGER_URL is not set), so it cannot manage silences. Ask a Lookout admin to set it (see docs/configuration.md).';

export function requireAlertmanager(deps: SilenceCommandDeps): AlertmanagerPort {
  if (deps.alertmanager === undefined) throw new Unavailable(NO_ALERTMANAGER_MESSAGE);
  return deps.alertmanager;
}

/**
 * `<verb> silences.lookout.dev` in the namespace the matchers confine the silence to, or
 * cluster-wide when they confine it to none (see silenceNamespace).
 */
export function silenceAttributes(verb: 'create' | 'list' | 'delete', matchers: readonly Matcher[]): ResourceAttributes {
  const namespace = silenceNamespace(matchers);
  return { verb, group: LOOKOUT_GROUP, resource: 'silences', ...(namespace === undefined ? {} : { namespace }) };
}

/** Said with a refusal of a cluster-wide review, so the person knows how to ask for less. */
export const CLUSTER_WIDE_HINT =
  'A silence without an equality `namespace=` matcher can hide every team\'s alerts, so it needs this permission cluster-wide. To silence one namespace\'s alerts, add e.g. `namespace=shop`.';

/**
 * An Alertmanager failure as the person reads it: what happened and that nothing changed.
 * Anything else is rethrown (the dispatcher logs it and answers "internal error (ref …)").
 */
export function alertmanagerFailure(error: unknown, nothingDone: string): never {
  if (!(error instanceof AlertmanagerError)) throw error;
  if (error.refusal !== undefined) throw new InvalidInput(`Alertmanager refused: ${error.refusal}. ${nothingDone}`, { cause: error });
  throw new Unavailable(`Alertmanager could not be reached (${error.reason}). ${nothingDone} Try again in a moment.`, { cause: error });
}

export function matcherList(matchers: readonly Matcher[]): string {
  return matchers.map((matcher) => `\`${formatMatcher(matcher)}\``).join(' ');
}

/** A time Slack shows in each reader's own time zone, e.g. "Tuesday 14:00". */
export function slackTime(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time}|${new Date(ms).toISOString().replace('.000Z', 'Z')}>`;
}

/** One line of `/ops silences`. */
export function silenceLine(silence: Silence): string {
  const comment = silence.comment === '' ? '' : ` — ${oneLine(silence.comment, 120)}`;
  return `\`${silence.id}\` ${matcherList(silence.matchers)} until ${slackTime(silence.endsAt)}, by ${oneLine(silence.createdBy, 80)}${comment}`;
}

function oneLine(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

const DURATION_PART = /(\d+)(w|d|h|m|s)/gy;
const UNIT_MS = { w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 } as const;

/** `2h`, `90m`, `1h30m`, `7d`, `1w` → milliseconds; undefined when it is not a duration. */
export function parseDuration(text: string): number | undefined {
  if (!/^(\d+(w|d|h|m|s))+$/.test(text)) return undefined;
  let total = 0;
  DURATION_PART.lastIndex = 0;
  for (const [, amount, unit] of text.matchAll(DURATION_PART)) total += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
  return total;
}

/** 7200000 → "2h", 5400000 → "1h30m", 604800000 → "7d". */
export function formatDuration(ms: number): string {
  const parts: string[] = [];
  let rest = ms;
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const amount = Math.floor(rest / UNIT_MS[unit]);
    if (amount > 0) parts.push(`${amount}${unit}`);
    rest -= amount * UNIT_MS[unit];
  }
  return parts.join('') || '0s';
}

/** A silence's length, checked against the configured maximum; a message says what is wrong. */
export function checkDuration(text: string, maxDurationMs: number): number | { error: string } {
  const ms = parseDuration(text);
  if (ms === undefined) return { error: `\`${text}\` is not a duration (e.g. 30m, 2h, 1h30m, 1d)` };
  if (ms < 60_000) return { error: 'a silence lasts at least 1m' };
  if (ms > maxDurationMs) return { error: `a silence from Slack lasts at most ${formatDuration(maxDurationMs)} (the \`silences.maxDuration\` setting); ${formatDuration(ms)} is longer` };
  return ms;
}
