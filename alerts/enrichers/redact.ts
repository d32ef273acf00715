import { compilePattern } from './redact-patterns.ts';

export const REDACTED = '[REDACTED]';

/**
 * Lines are cut to this length before any pattern runs. Callers show at most a few hundred
 * characters of a line, while a regex can take time quadratic in a line's length: Loki keeps
 * lines of 256 KB, and one crafted line must not hold the event loop (webhooks, Slack acks).
 */
export const REDACT_LINE_MAX = 4096;

/** Removes secrets from text that Lookout shows but did not write: log lines, event and status messages. */
export interface Redactor {
  redact(text: string): string;
}

/**
 * @param patterns regex sources (enrichment config `redact`, validated there); each match is
 * replaced by [REDACTED]. Patterns run in order over the whole text, so a PEM block that spans
 * several log lines is caught when the lines are redacted together. A match that spans lines
 * becomes one [REDACTED] per line: the text keeps its line count, so callers can redact many
 * lines at once and still pair each with its timestamp.
 */
export function createRedactor(patterns: readonly string[]): Redactor {
  const compiled = patterns.map(compilePattern);
  return {
    redact(text) {
      let out = text.split('\n').map(capLine).join('\n');
      for (const pattern of compiled) {
        pattern.lastIndex = 0;
        out = out.replace(pattern, (match) => match.split('\n').map(() => REDACTED).join('\n'));
      }
      return out;
    },
  };
}

function capLine(line: string): string {
  if (line.length <= REDACT_LINE_MAX) return line;
  let cut = line.slice(0, REDACT_LINE_MAX - 1);
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}
