import { describe, expect, it } from 'vitest';
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
