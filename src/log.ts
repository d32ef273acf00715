import { pino, type Logger, type DestinationStream } from 'pino';

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
}

export function createLogger({ level, destination }: LogOptions): Logger {
  return pino(
    {
      level,
      base: { service: 'lookout' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
