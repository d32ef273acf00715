import { DEFAULT_REDACT_PATTERNS } from '../alerts/enrichers/redact-patterns.ts';
import { REDACT_LINE_MAX, createRedactor, type Redactor } from '../alerts/enrichers/redact.ts';

export { REDACTED, type Redactor } from '../alerts/enrichers/redact.ts';

/*
 * Shapes Lookout redacts whatever the configured patterns (`enrichment.redact`) say: its own
 * credentials (Slack, Vault/OpenBao, Kubernetes service-account JWTs, PEM keys) and passwords in
 * `password=…` form. Each runs in time linear in the text: a lookahead for the secret's first
 * character before any lookbehind, and no pattern that can restart a long scan at every
 * position (test/unit/redact-secrets.test.ts runs each on 300 KB of the worst input for it).
 */
export const BUILT_IN_REDACT_PATTERNS: readonly string[] = [
  // Slack tokens: bot, user, app-level, configuration, refresh. Only where a token can start.
  String.raw`(?<![A-Za-z0-9-])xox[a-z]-[A-Za-z0-9-]+`,
  String.raw`(?<![A-Za-z0-9-])xapp-[A-Za-z0-9-]+`,
  // Slack response_url and webhook paths: whoever has one may post into that conversation
  // (Bolt's Socket Mode client logs whole envelopes at debug level, response_url included, in
  // Slack's JSON with its slashes escaped).
  String.raw`(?=[a-z])(?<=hooks\.slack(?:-gov)?\.com\\?/)(?:commands|actions|services|workflows|triggers)\\?/[A-Za-z0-9_/\\-]+`,
  // Vault / OpenBao service, batch and recovery tokens (hvs.…), and their older s./b. forms.
  String.raw`(?<![A-Za-z0-9_.-])(?:hvs|hvb|hvr|s|b)\.[A-Za-z0-9_-]{20,}`,
  // JWTs (service-account tokens), as in the default patterns: always, even if those are replaced.
  String.raw`(?<![A-Za-z0-9_\-])eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*`,
  String.raw`-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)`,
  // A quoted password, to its closing quote or the end of the line (it may hold spaces and commas).
  String.raw`(?=[^"\\\[])(?<=(?i:passw(?:or)?d|pwd)\\?["']?\s*[:=]\s*\\?")[^"\\\n]+`,
  String.raw`(?=[^'\\\[])(?<=(?i:passw(?:or)?d|pwd)\\?["']?\s*[:=]\s*')[^'\\\n]+`,
  // password=…, passwd: …, "password": "…", PGPASSWORD=… — the value only, up to a quote,
  // backtick, backslash, space, comma, semicolon, ampersand, "<", ">" or "}" (so a code span, a
  // Slack entity or a JSON object around it stays whole); quotes may be JSON-escaped (a log
  // line). An empty value or one already redacted ("[REDACTED]") is left alone.
  String.raw`(?=[^\s"'\x60<>}\\,;&\[])(?<=(?i:passw(?:or)?d|pwd)\\?["']?\s*[:=]\s*\\?["']?)[^\s"'\x60<>}\\,;&]+`,
];

/**
 * Lookout's one redactor for text it did not write — alert labels and annotations, enrichment,
 * command output, audit details — wherever that text goes: Slack (src/slack/clean-outgoing.ts),
 * the audit trail, the log (src/log.ts). The built-in patterns always apply; `patterns` are the
 * configured ones (`enrichment.redact`, by default DEFAULT_REDACT_PATTERNS: bearer tokens, URL
 * passwords, AWS keys, JWTs, PEM keys).
 *
 * Unlike the enrichment redactor, which cuts lines it shows only the start of, this one keeps
 * every character that is not a secret: a long line (a log line's JSON, a 1 MB annotation) is
 * redacted in pieces of at most REDACT_LINE_MAX characters, cut after a space or comma where
 * one is near, so a configured pattern that backtracks still runs on short pieces.
 */
export function createSecretRedactor(patterns: readonly string[] = DEFAULT_REDACT_PATTERNS): Redactor {
  const inner = createRedactor([...BUILT_IN_REDACT_PATTERNS, ...patterns]);
  // Label values and annotations repeat across a group's alerts and each re-render of a group
  // (every edit): short texts are remembered, in a memo emptied whenever it fills.
  const memo = new Map<string, string>();
  return {
    redact(text) {
      if (text.length <= MEMO_TEXT_MAX) {
        let redacted = memo.get(text);
        if (redacted === undefined) {
          if (memo.size >= MEMO_ENTRIES) memo.clear();
          redacted = inner.redact(text);
          memo.set(text, redacted);
        }
        return redacted;
      }
      if (text.length <= REDACT_LINE_MAX) return inner.redact(text);
      const lines = text.split('\n');
      if (lines.every((line) => line.length <= REDACT_LINE_MAX)) return inner.redact(text);
      // The inner redactor keeps the line count, so pieces joined by "\n" map back to their lines.
      const counts: number[] = [];
      const pieces: string[] = [];
      for (const line of lines) {
        const parts = splitLongLine(line);
        counts.push(parts.length);
        pieces.push(...parts);
      }
      const redacted = inner.redact(pieces.join('\n')).split('\n');
      let at = 0;
      return counts
        .map((count) => {
          const line = redacted.slice(at, at + count).join('');
          at += count;
          return line;
        })
        .join('\n');
    },
  };
}

/** Texts this long or shorter are remembered; at most this many (~2 MB at the longest). */
const MEMO_TEXT_MAX = 200;
const MEMO_ENTRIES = 10_000;

/** Pieces of at most REDACT_LINE_MAX characters, each cut after a space or comma in its last 256 if there is one. */
function splitLongLine(line: string): string[] {
  if (line.length <= REDACT_LINE_MAX) return [line];
  const parts: string[] = [];
  let start = 0;
  while (line.length - start > REDACT_LINE_MAX) {
    let end = start + REDACT_LINE_MAX;
    for (let at = end - 1; at > end - 256; at -= 1) {
      const char = line[at];
      if (char === ' ' || char === ',' || char === '\t') {
        end = at + 1;
        break;
      }
    }
    // Never between the halves of a surrogate pair.
    if (/[\uD800-\uDBFF]/.test(line[end - 1] ?? '')) end -= 1;
    parts.push(line.slice(start, end));
    start = end;
  }
  parts.push(line.slice(start));
  return parts;
}

/*
 * C0 controls but tab and newline, DEL, C1 controls, and the invisible characters that reorder
 * text: bidirectional embeddings and overrides (U+202A–U+202E), isolates (U+2066–U+2069), and the
 * marks U+200E, U+200F and U+061C. With them an annotation can make Slack show text other than
 * what it holds ("Trojan Source"); Lookout's own messages never need them.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const INVISIBLE = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

/** Removes control characters and bidirectional formatting characters. One pass, linear. */
export function stripInvisible(text: string): string {
  return text.replace(INVISIBLE, '');
}

/** What every text Lookout shows gets: secrets redacted, invisible characters removed. */
export function cleanText(text: string, redactor: Redactor): string {
  return stripInvisible(redactor.redact(text));
}
