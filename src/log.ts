import { pino, type Logger, type DestinationStream } from 'pino';
import type { Redactor } from './redact-secrets.ts';

export type { Logger };

/**
 * Paths pino replaces with "[redacted]". Secrets must never reach logs, whatever
 * object a caller happens to log: tokens, signing secrets, authorization headers.
 */
const REDACTED_PATHS = [
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'headers.cookie',
  '*.headers.cookie',
  'slackBotToken',
  '*.slackBotToken',
  'slackSigningSecret',
  '*.slackSigningSecret',
  'webhookToken',
  '*.webhookToken',
  'vaultToken',
  '*.vaultToken',
];

export interface LogOptions {
  level: string;
  /** Where JSON lines go; stdout when absent. Tests pass a stream to read them back. */
  destination?: DestinationStream;
  /**
   * Lookout's redactor (src/redact-secrets.ts), applied to each whole line: alert text reaches the
   * log in group keys (label values), error messages and Slack's answers, under any field name.
   */
  redactor?: Redactor;
}

export function createLogger({ level, destination, redactor }: LogOptions): Logger {
  return pino(
    {
      level,
      ...(redactor ? { hooks: { streamWrite: (line: string) => redactLine(line, redactor) } } : {}),
      base: { service: 'lookout' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/**
 * A JSON log line with secrets redacted. The patterns run on the JSON text, where a match can
 * only start and end inside strings; should one still leave a line that is not JSON, a line
 * saying so is written instead, as a line a log pipeline cannot parse is a line lost.
 */
export function redactLine(line: string, redactor: Redactor): string {
  const body = line.endsWith('\n') ? line.slice(0, -1) : line;
  const redacted = redactor.redact(body);
  if (redacted === body) return line;
  try {
    JSON.parse(redacted);
    return `${redacted}\n`;
  } catch {
    const level = /"level":"([a-z]+)"/.exec(body)?.[1] ?? 'error';
    return `${JSON.stringify({ level, time: new Date().toISOString(), service: 'lookout', msg: 'a log line held a secret and could not be redacted in place; it was dropped' })}\n`;
  }
}
