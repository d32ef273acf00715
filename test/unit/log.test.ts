import { describe, expect, it } from 'vitest';
import { createLogger, redactLine } from '../../src/log.ts';
import { createSecretRedactor } from '../../src/redact-secrets.ts';
import { recordingLogger } from '../helpers/fakes.ts';

describe('logger', () => {
  it('redacts tokens and authorization headers wherever they appear', () => {
    const { log, lines } = recordingLogger();
    log.info({ req: { headers: { authorization: 'Bearer s3cret-a' } }, token: 's3cret-b', config: { slackBotToken: 'xoxb-s3cret-c' } }, 'hello');
    const [line] = lines();
    expect(JSON.stringify(line)).not.toMatch(/s3cret/);
    expect(line).toMatchObject({ msg: 'hello', token: '[redacted]', level: 'info' });
  });
});

describe('logger with Lookout\'s redactor', () => {
  function logger() {
    const chunks: string[] = [];
    const destination = { write: (chunk: string) => void chunks.push(chunk) };
    const log = createLogger({ level: 'debug', destination, redactor: createSecretRedactor() });
    return { log, raw: () => chunks.join(''), lines: () => chunks.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>) };
  }

  it('redacts alert text under any field: group keys, messages, errors, bindings', () => {
    const { log, raw, lines } = logger();
    const group = log.child({ groupKey: '{}:{dsn="postgres://shop:S3cr3tPassw0rd@db:5432/shop"}' });
    group.info({ annotation: 'retry with password=hunter2x' }, 'new alert group');
    group.error({ err: new Error('POST failed: Authorization: Bearer abc123def456ghi789') }, 'could not post AKIAIOSFODNN7EXAMPLE');
    for (const secret of ['S3cr3tPassw0rd', 'hunter2x', 'abc123def456ghi789', 'AKIAIOSFODNN7EXAMPLE']) expect(raw()).not.toContain(secret);
    const [first, second] = lines();
    expect(first).toMatchObject({ groupKey: '{}:{dsn="postgres://shop:[REDACTED]@db:5432/shop"}', annotation: 'retry with password=[REDACTED]', msg: 'new alert group' });
    expect(second).toMatchObject({ msg: 'could not post [REDACTED]', err: { message: 'POST failed: Authorization: Bearer [REDACTED]' } });
  });

  it('leaves lines without secrets byte for byte', () => {
    const { log, lines } = logger();
    log.info({ channel: 'C0ALERTS', alerts: 3 }, 'alert group changed');
    expect(lines()).toEqual([expect.objectContaining({ channel: 'C0ALERTS', alerts: 3, msg: 'alert group changed' })]);
  });

  it('never writes a line that is not JSON: one a redaction would break is replaced by a notice', () => {
    // A URL password runs up to the next "@": here across two fields, taking the quotes between.
    const broken = redactLine('{"level":"warn","a":"x://u:p\\"q","b":"@"}\n', { redact: (text) => text.replace('p\\"q', '[REDACTED]"') });
    expect(JSON.parse(broken)).toMatchObject({ level: 'warn', msg: 'a log line held a secret and could not be redacted in place; it was dropped' });
  });
});
