import { describe, expect, it } from 'vitest';
import { parseButtonClick, parseViewSubmission } from '../../../src/slack/interaction-payloads.ts';

// Shaped like the block_actions and view_submission examples in Slack's interactivity docs.
const click = {
  type: 'block_actions',
  user: { id: 'U024BE7LH', username: 'alice', name: 'alice', team_id: 'T0LOOKOUT' },
  api_app_id: 'A0LOOKOUT',
  token: 'deprecated-verification-token',
  container: { type: 'message', message_ts: '1700000000.000100', channel_id: 'C0ALERTS', is_ephemeral: false },
  trigger_id: '13345224609.738474920.8088930838d88f008e0',
  team: { id: 'T0LOOKOUT', domain: 'lookout' },
  channel: { id: 'C0OTHER', name: 'other' },
  message: { ts: '1700000000.999999' },
  response_url: 'https://hooks.slack.com/actions/T0LOOKOUT/1/abc',
  actions: [{ action_id: 'ack', block_id: 'forged', type: 'button', value: 'g1:abc', action_ts: '1700000001.000000' }],
};

describe('parseButtonClick', () => {
  it('reads the clicked message from container, not from channel or message fields', () => {
    expect(parseButtonClick(click, 'ack')).toEqual({
      actor: { slackUserId: 'U024BE7LH', slackUserName: 'alice', teamId: 'T0LOOKOUT' },
      actionId: 'ack',
      value: 'g1:abc',
      channelId: 'C0ALERTS',
      messageTs: '1700000000.000100',
      ephemeral: false,
      triggerId: '13345224609.738474920.8088930838d88f008e0',
      responseUrl: 'https://hooks.slack.com/actions/T0LOOKOUT/1/abc',
    });
  });

  it('says when the click was in an ephemeral reply', () => {
    expect(parseButtonClick({ ...click, container: { ...click.container, is_ephemeral: true } }, 'ack')?.ephemeral).toBe(true);
  });

  it("takes the clicker's team from user.team_id, not from the team the click happened in", () => {
    const shared = { ...click, user: { ...click.user, team_id: 'T0ELSEWHERE' } };
    expect(parseButtonClick(shared, 'ack')?.actor).toEqual({ slackUserId: 'U024BE7LH', slackUserName: 'alice', teamId: 'T0ELSEWHERE' });
  });

  it('falls back to team.id without user.team_id, and reads the Enterprise Grid organisation', () => {
    const { team_id: _omitted, ...user } = click.user;
    const grid = { ...click, user, team: { id: 'T0SISTER', domain: 'sister', enterprise_id: 'E0ORG', enterprise_name: 'Org' }, enterprise: { id: 'E0ORG', name: 'Org' } };
    expect(parseButtonClick(grid, 'ack')?.actor).toEqual({ slackUserId: 'U024BE7LH', slackUserName: 'alice', teamId: 'T0SISTER', enterpriseId: 'E0ORG' });
    expect(parseButtonClick({ ...click, user, team: null }, 'ack')?.actor).toEqual({ slackUserId: 'U024BE7LH', slackUserName: 'alice' });
  });

  it('ignores clicks from views and payloads without the action or a user', () => {
    expect(parseButtonClick({ ...click, container: { type: 'view', view_id: 'V1' } }, 'ack')).toBeUndefined();
    expect(parseButtonClick(click, 'other')).toBeUndefined();
    expect(parseButtonClick({ ...click, user: { id: 'not a user' } }, 'ack')).toBeUndefined();
  });
});

describe('parseViewSubmission', () => {
  const submission = {
    type: 'view_submission',
    team: { id: 'T0LOOKOUT', domain: 'lookout' },
    user: { id: 'U024BE7LH', username: 'alice', name: 'alice', team_id: 'T0LOOKOUT' },
    api_app_id: 'A0LOOKOUT',
    token: 'deprecated-verification-token',
    trigger_id: '12345.98765.abcd2358fdea',
    view: {
      id: 'V0SCALE',
      team_id: 'T0LOOKOUT',
      type: 'modal',
      blocks: [],
      private_metadata: 'pending-id',
      callback_id: 'alert-action:scale',
      state: { values: { replicas: { value: { type: 'plain_text_input', value: '5' } } } },
      hash: '156772938.1827394',
      title: { type: 'plain_text', text: 'Scale' },
    },
    response_urls: [],
  };

  it('reads the person, the callback, the reference and the values', () => {
    expect(parseViewSubmission(submission)).toEqual({
      actor: { slackUserId: 'U024BE7LH', slackUserName: 'alice', teamId: 'T0LOOKOUT' },
      callbackId: 'alert-action:scale',
      privateMetadata: 'pending-id',
      values: { replicas: { value: { type: 'plain_text_input', value: '5' } } },
    });
  });

  it('ignores other payloads', () => {
    expect(parseViewSubmission(click)).toBeUndefined();
    expect(parseViewSubmission({ ...submission, view: { ...submission.view, state: undefined } })).toBeUndefined();
  });
});
