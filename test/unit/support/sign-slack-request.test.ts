import { describe, expect, it } from 'vitest';
import { interactivityBody, signedSlackForm, signSlackRequest, slashCommandBody } from '../../support/sign-slack-request.ts';

// The worked example in Slack's "Verifying requests from Slack" documentation.
const DOC_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const DOC_TIMESTAMP = 1531420618;
const DOC_BODY =
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V' +
  '&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=' +
  '&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN' +
  '&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
const DOC_SIGNATURE = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';

describe('signSlackRequest', () => {
  it("reproduces Slack's documented signature", () => {
    expect(signSlackRequest(DOC_SECRET, DOC_BODY, DOC_TIMESTAMP)).toEqual({
      'x-slack-request-timestamp': '1531420618',
      'x-slack-signature': DOC_SIGNATURE,
    });
  });

  it('signs the timestamp as well as the body', () => {
    const later = signSlackRequest(DOC_SECRET, DOC_BODY, DOC_TIMESTAMP + 1)['x-slack-signature'];
    expect(later).not.toBe(DOC_SIGNATURE);
    expect(later).toMatch(/^v0=[0-9a-f]{64}$/);
  });
});

describe('slashCommandBody', () => {
  it("builds Slack's example body byte for byte from its field values", () => {
    const body = slashCommandBody({
      token: 'xyzz0WbapA4vBCDEFasx0q6G',
      team_id: 'T1DC2JH3J',
      team_domain: 'testteamnow',
      channel_id: 'G8PSS9T3V',
      channel_name: 'foobar',
      user_id: 'U2CERLKJA',
      user_name: 'roadrunner',
      command: '/webhook-collect',
      text: '',
      response_url: 'https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN',
      trigger_id: '398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
      api_app_id: null,
    });
    expect(body).toBe(DOC_BODY);
  });

  it('sends every field Slack sends, in order, with defaults', () => {
    const fields = [...new URLSearchParams(slashCommandBody({ text: 'scale web --replicas 3' })).entries()];
    expect(fields.map(([name]) => name)).toEqual([
      'token',
      'team_id',
      'team_domain',
      'channel_id',
      'channel_name',
      'user_id',
      'user_name',
      'command',
      'text',
      'response_url',
      'trigger_id',
      'api_app_id',
    ]);
    expect(Object.fromEntries(fields)).toMatchObject({ command: '/ops', text: 'scale web --replicas 3' });
  });

  it('adds enterprise fields only when given', () => {
    const form = new URLSearchParams(slashCommandBody({ enterprise_id: 'E0001', enterprise_name: 'Globular Construct' }));
    expect(form.get('enterprise_id')).toBe('E0001');
    expect([...form.keys()].indexOf('enterprise_name')).toBe([...form.keys()].indexOf('team_domain') + 2);
  });
});

describe('interactivityBody', () => {
  it('form-encodes the JSON under a single payload field', () => {
    const payload = { type: 'block_actions', user: { id: 'U024BE7LH' }, actions: [{ action_id: 'silence', value: 'a&b=c' }] };
    const body = interactivityBody(payload);
    expect(body.startsWith('payload=%7B%22type%22%3A%22block_actions%22')).toBe(true);
    const form = new URLSearchParams(body);
    expect([...form.keys()]).toEqual(['payload']);
    expect(JSON.parse(form.get('payload') ?? '')).toEqual(payload);
  });
});

describe('signedSlackForm', () => {
  it('carries the body, its signature and the form content type', () => {
    const body = slashCommandBody();
    const request = signedSlackForm('secret', body, 1_700_000_000);
    expect(request.body).toBe(body);
    expect(request.headers).toEqual({
      ...signSlackRequest('secret', body, 1_700_000_000),
      'content-type': 'application/x-www-form-urlencoded',
    });
  });
});
