/**
 * Alertmanager's label matchers as people type them for amtool (`name=value`, `name!="value"`,
 * `name=~"regex"`, `name!~regex`), and what a set of them means for a silence: which namespace's
 * permission it needs, and whether it would hide (nearly) every alert.
 */

/** One matcher in Alertmanager API v2's terms. */
export interface Matcher {
  name: string;
  value: string;
  isRegex: boolean;
  /** false for `!=` and `!~`. */
  isEqual: boolean;
}

// Alertmanager 0.25 validates silence matcher names as classic Prometheus label names.
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
// Longest operator first, so `=~` is not read as `=` followed by a value starting with `~`.
const MATCHER = /^([^=!~]+?)\s*(=~|!~|!=|=)\s*(.*)$/s;
const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Slack turns typed quotes into curly ones on phones and in some desktop settings. */
function straightQuotes(text: string): string {
  return text.replace(/[“”]/g, '"');
}

/**
 * Parses one matcher. Values may be double-quoted, with `\"`, `\\` and `\n` escapes, as amtool
 * reads them; an unquoted value stands for itself. Regex values must compile (Alertmanager
 * anchors them: `pay.*` matches `payments`, `pay` only `pay`).
 * @returns the matcher, or a message naming what is wrong.
 */
export function parseMatcher(raw: string): Matcher | { error: string } {
  const text = straightQuotes(raw.trim());
  const match = MATCHER.exec(text);
  if (match === null) return { error: `\`${raw}\` is not a matcher (write \`name=value\`, \`name!=value\`, \`name=~regex\` or \`name!~regex\`)` };
  const [, rawName = '', operator = '=', rawValue = ''] = match;
  const name = rawName.trim();
  if (!LABEL_NAME.test(name)) return { error: `\`${name}\` is not a label name (letters, digits and _, not starting with a digit)` };
  const value = unquote(rawValue.trim());
  if (value === undefined) return { error: `the value of \`${raw}\` has an unmatched quote or a bad escape` };
  const isRegex = operator === '=~' || operator === '!~';
  if (isRegex) {
    try {
      anchored(value);
    } catch {
      return { error: `\`${value}\` in \`${raw}\` is not a valid regular expression` };
    }
  }
  return { name, value, isRegex, isEqual: operator === '=' || operator === '=~' };
}

function unquote(value: string): string | undefined {
  if (!value.startsWith('"')) return value.includes('"') ? undefined : value;
  if (value.length < 2 || !value.endsWith('"')) return undefined;
  let out = '';
  const body = value.slice(1, -1);
  for (let i = 0; i < body.length; i++) {
    const char = body[i];
    if (char === '"') return undefined;
    if (char !== '\\') {
      out += char;
      continue;
    }
    const next = body[++i];
    if (next === '"' || next === '\\') out += next;
    else if (next === 'n') out += '\n';
    else return undefined;
  }
  return out;
}

/**
 * Matchers from command words. Slack's text is split on spaces, so a quoted value with spaces
 * arrives in pieces (`team="web` `shop"`): pieces are joined again until the quote closes.
 * Braces and commas (`{a="b",c=~"d"}`), as amtool also accepts, are read too.
 */
export function parseMatchers(words: readonly string[]): Matcher[] | { error: string } {
  const matchers: Matcher[] = [];
  for (const piece of joinQuoted(words)) {
    for (const raw of splitOutsideQuotes(piece.replace(/^\{/, '').replace(/\}$/, ''))) {
      if (raw.trim() === '') continue;
      const parsed = parseMatcher(raw);
      if ('error' in parsed) return parsed;
      matchers.push(parsed);
    }
  }
  return matchers;
}

function joinQuoted(words: readonly string[]): string[] {
  const joined: string[] = [];
  let open: string | undefined;
  for (const word of words) {
    const current: string = open === undefined ? word : `${open} ${word}`;
    open = quotesBalanced(current) ? undefined : current;
    if (open === undefined) joined.push(current);
  }
  if (open !== undefined) joined.push(open);
  return joined;
}

/** Whether every opening `"` is closed (escaped quotes inside a value do not count). */
function quotesBalanced(text: string): boolean {
  let inside = false;
  const normalized = straightQuotes(text);
  for (let i = 0; i < normalized.length; i++) {
    const char = normalized[i];
    if (inside && char === '\\') i++;
    else if (char === '"') inside = !inside;
  }
  return !inside;
}

function splitOutsideQuotes(text: string): string[] {
  const parts: string[] = [];
  let inside = false;
  let current = '';
  const normalized = straightQuotes(text);
  for (let i = 0; i < normalized.length; i++) {
    const char = normalized[i] ?? '';
    if (inside && char === '\\') {
      current += char + (normalized[++i] ?? '');
      continue;
    }
    if (char === '"') inside = !inside;
    if (char === ',' && !inside) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  parts.push(current);
  return parts;
}

/** amtool's form: `name="value"`, `name=~"regex"`; values quoted and escaped. */
export function formatMatcher(matcher: Matcher): string {
  const operator = matcher.isEqual ? (matcher.isRegex ? '=~' : '=') : matcher.isRegex ? '!~' : '!=';
  return `${matcher.name}${operator}"${matcher.value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/**
 * Alertmanager compiles regex matchers as Go RE2, anchored. JavaScript's syntax agrees on the
 * common subset; a regex only Go accepts is refused here, and one only JavaScript accepts is
 * refused by Alertmanager with its own message.
 */
function anchored(source: string): RegExp {
  return new RegExp(`^(?:${source})$`);
}

/** Whether the matcher holds for a label with this value (a missing label reads as ""). */
export function matcherHolds(matcher: Matcher, value: string): boolean {
  const equal = matcher.isRegex ? anchored(matcher.value).test(value) : matcher.value === value;
  return matcher.isEqual ? equal : !equal;
}

/*
 * Non-empty label values a selective matcher rejects at least one of. A matcher that holds for every one of
 * them (`.+`, `.*`, `[^x]*`, `!=Watchdog`) does not pick out a set of alerts: with only such
 * matchers a silence hides every alert that has the label, i.e. nearly all of them.
 */
const PROBE_VALUES = ['a', 'Z', '0', '-', '_', 'x y', 'lookout-probe-value', 'KubePodCrashLooping', 'kube-system', 'é'];

/**
 * Why these matchers would silence (nearly) everything, or undefined when they pick out a set of
 * alerts. Alertmanager itself only refuses a silence whose every matcher matches the empty
 * string; Lookout also wants at least one matcher that says what to silence: an `=` with a
 * non-empty value, or an `=~` that rejects the empty string and some ordinary value. Negative
 * matchers (`!=`, `!~`) only narrow such a set; on their own they silence everything else.
 */
export function overBroadReason(matchers: readonly Matcher[]): string | undefined {
  if (matchers.length === 0) return 'a silence needs at least one matcher, e.g. `alertname=KubePodCrashLooping namespace=shop`';
  if (matchers.some(selects)) return undefined;
  return (
    `${matchers.map((matcher) => `\`${formatMatcher(matcher)}\``).join(' ')} would silence nearly every alert. ` +
    'Name what to silence with at least one `=` matcher with a value (or an `=~` regex that does not match every value), e.g. `alertname=KubePodCrashLooping`'
  );
}

function selects(matcher: Matcher): boolean {
  if (!matcher.isEqual) return false;
  if (!matcher.isRegex) return matcher.value !== '';
  return !matcherHolds(matcher, '') && !PROBE_VALUES.every((value) => matcherHolds(matcher, value));
}

/**
 * The namespace a silence is confined to: the value of its one equality `namespace=` matcher,
 * when that is a namespace name. Anything else (no such matcher, a regex, a negation, two
 * different values) confines it to no namespace, so its permission is reviewed cluster-wide.
 */
export function silenceNamespace(matchers: readonly Matcher[]): string | undefined {
  const values = new Set(matchers.filter((matcher) => matcher.name === 'namespace' && matcher.isEqual && !matcher.isRegex).map((matcher) => matcher.value));
  if (values.size !== 1) return undefined;
  const [value] = values;
  return value !== undefined && NAMESPACE_NAME.test(value) ? value : undefined;
}
