import { describe, expect, it } from 'vitest';
import { CleanOutgoingSlackApi } from '../../../src/slack/clean-outgoing.ts';
import type { OutgoingMessage, SlackApi } from '../../../src/slack/slack-api.ts';
import { createSecretRedactor } from '../../../src/redact-secrets.ts';

/** The SlackApi every post and edit goes through: what reaches the inner API is clean. */
describe('CleanOutgoingSlackApi', () => {
  const sent: Array<OutgoingMessage & { threadTs?: string; ts?: string }> = [];
  const inner: SlackApi = {
    postMessage: async (message) => {
      sent.push(message);
      return { ts: '1.1' };
    },
    updateMessage: async (message) => void sent.push(message),
    history: async () => ({ messages: [] }),
    authTest: async () => undefined,
  };
  const slack = new CleanOutgoingSlackApi(inner, createSecretRedactor());

  it('cleans text and every text, field and URL of the blocks, and leaves identifiers alone', async () => {
    await slack.postMessage({
      channel: 'C0AUDIT',
      threadTs: '9.9',
      text: '✅ *rotate* allowed — rotated secret/db: password=hunter2x\u202e',
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: 'Bearer abc123def456ghi789' }, fields: [{ type: 'mrkdwn', text: '*dsn*\nredis://:pw123456@r:6379' }] },
        { type: 'actions', block_id: 'password=keep-id', elements: [{ type: 'button', action_id: 'ack', value: 'g1:abc', text: { type: 'plain_text', text: 'Ack\u0007' }, url: 'https://u:pw@x.example' }] },
      ],
    });
    await slack.updateMessage({ channel: 'C1', ts: '1.1', text: 'xoxb-1-2-abc' });
    expect(sent).toEqual([
      {
        channel: 'C0AUDIT',
        threadTs: '9.9',
        text: '✅ *rotate* allowed — rotated secret/db: password=[REDACTED]',
        blocks: [
          { type: 'section', text: { type: 'mrkdwn', text: 'Bearer [REDACTED]' }, fields: [{ type: 'mrkdwn', text: '*dsn*\nredis://:[REDACTED]@r:6379' }] },
          { type: 'actions', block_id: 'password=keep-id', elements: [{ type: 'button', action_id: 'ack', value: 'g1:abc', text: { type: 'plain_text', text: 'Ack' }, url: 'https://u:[REDACTED]@x.example' }] },
        ],
      },
      { channel: 'C1', ts: '1.1', text: '[REDACTED]' },
    ]);
  });
});
