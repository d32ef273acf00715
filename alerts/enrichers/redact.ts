import { compilePattern } from './enrichment-config.ts';

export const REDACTED = '[REDACTED]';

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
      let out = text;
      for (const pattern of compiled) {
        pattern.lastIndex = 0;
        out = out.replace(pattern, (match) => match.split('\n').map(() => REDACTED).join('\n'));
      }
      return out;
    },
  };
}
