import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/free-port.ts';
import { startLookout, type LookoutProcess } from '../support/lookout-process.ts';
import { startLookoutTestBed, type LookoutTestBed } from '../support/lookout-test-bed.ts';
import { signedSlackForm, slashCommandBody } from '../support/sign-slack-request.ts';

/*
 * Secrets and invisible characters in alert labels and annotations, as Alertmanager forwards
 * them, through Lookout as `npm start` runs it: nothing Lookout sends to Slack (the group
 * message, thread replies, command replies) nor its log holds them.
 */

const SECRETS = [
  'S3cr3tPassw0rd',
  'hunter2',
  'wikipass',
  'abc123def456ghi789',
  'AKIAIOSFODNN7EXAMPLE',
  'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  'eyJhbGciOiJIUzI1NiJ9',
  'xoxb-1234-5678-abcdefghijkl',
];
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const INVISIBLE = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/;

const fixture = JSON.parse(readFileSync(new URL('../fixtures/alertmanager/secrets.json', import.meta.url), 'utf8')) as {
  groupKey: string;
  alerts: Array<{ status: string; endsAt: string; annotations: Record<string, string> }>;
};

/** Every string in a value (Slack call parameters), parsed so that escapes do not hide characters. */
function stringsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsOf);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(stringsOf);
  return [];
}

describe('redaction of alert text everywhere Lookout sends or logs it', () => {
  let bed: LookoutTestBed;
  let lookout: LookoutProcess;

  beforeAll(async () => {
    bed = await startLookoutTestBed();
    lookout = await startLookout(bed.env);
  });
  afterAll(async () => {
    await lookout?.stop();
    await bed?.close();
  });

  const post = (body: unknown) =>
    fetch(`${lookout.url}/alertmanager`, { method: 'POST', headers: { authorization: `Bearer ${bed.webhookToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('the group message and the thread reply carry no secret and no control or bidi character', async () => {
    // The group key names the labels it groups by, here one holding a password: it is logged.
    const groupKey = '{}:{dsn="postgres://shop:S3cr3tPassw0rd@db.internal:5432/shop"}';
    expect((await post({ ...fixture, groupKey })).status).toBe(200);
    const [message] = await waitFor('the group message', () => (bed.slack.messages(bed.channel).length === 1 ? bed.slack.messages(bed.channel) : undefined));

    // One alert resolves, with its own secret-laden annotations: a thread reply and an edit.
    const [first, second] = fixture.alerts;
    const resolved = { ...fixture, groupKey, status: 'firing', alerts: [{ ...first, status: 'resolved', endsAt: '2025-03-16T19:00:00Z', annotations: { ...first!.annotations, summary: 'resolved; password=hunter2 was wrong' } }, second] };
    expect((await post(resolved)).status).toBe(200);
    await waitFor('the thread reply', () => (bed.slack.replies(bed.channel, message!.ts).length >= 1 ? true : undefined));

    const sent = bed.slack.calls.filter((call) => call.method.startsWith('chat.'));
    expect(sent.map((call) => call.method)).toEqual(expect.arrayContaining(['chat.postMessage', 'chat.update']));
    const strings = sent.flatMap((call) => stringsOf(call.params));
    for (const secret of SECRETS) expect(strings.join('\n')).not.toContain(secret);
    for (const string of strings) expect(string).not.toMatch(INVISIBLE);
    expect(strings.join('\n')).toContain('[REDACTED]');
  });

  it('a command reply quoting what was typed carries no secret', async () => {
    const before = bed.slack.responseUrlPosts.length;
    const form = signedSlackForm(bed.signingSecret, slashCommandBody({ text: 'password=hunter2\u202e', response_url: bed.slack.responseUrl() }), Math.floor(Date.now() / 1000));
    expect((await fetch(`${lookout.url}/slack/events`, { method: 'POST', headers: { ...form.headers }, body: form.body })).status).toBe(200);
    const reply = await waitFor('the reply', () => bed.slack.responseUrlPosts[before]);
    const text = (reply.body as { text: string }).text;
    expect(text).toMatch(/Unknown command `password=\[REDACTED\]`/);
    expect(text).not.toMatch(INVISIBLE);
  });

  it('the log holds none of them either', () => {
    const output = lookout.output();
    expect(output).toMatch(/"groupKey":"\{\}:\{dsn=\\"postgres:\/\/shop:\[REDACTED\]@db\.internal:5432\/shop\\"\}"/);
    for (const secret of SECRETS) expect(output).not.toContain(secret);
  });
});
