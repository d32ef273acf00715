import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createLookout, type Lookout } from '../../src/lookout.ts';
import { recordingLogger } from '../helpers/fakes.ts';
import type { FakeSlack } from '../support/fake-slack.ts';
import { waitFor } from '../support/free-port.ts';
import { startLookoutTestBed, type LookoutTestBed } from '../support/lookout-test-bed.ts';
import { signedSlackForm, slashCommandBody } from '../support/sign-slack-request.ts';

const WEBHOOK_TOKEN = 'surface-webhook-token-0123456';
const SIGNING_SECRET = 'surface-signing-secret-0123456789';

/** Lookout's HTTP surface, in process, against the fake Slack: what every bad input gets. */
describe('HTTP surface', () => {
  let bed: LookoutTestBed;
  let slack: FakeSlack;
  let lookout: Lookout;
  let url: string;

  beforeAll(async () => {
    bed = await startLookoutTestBed({ webhookToken: WEBHOOK_TOKEN, signingSecret: SIGNING_SECRET });
    slack = bed.slack;
    const config = loadConfig({ ...bed.env, HOST: '127.0.0.1', PORT: '0' });
    lookout = createLookout({ config, log: recordingLogger().log, stdout: new PassThrough() });
    url = `http://127.0.0.1:${(await lookout.start()).port}`;
  });

  afterAll(async () => {
    await lookout.stop();
    await bed.close();
  });

  const validPayload = (groupKey: string) => ({
    version: '4',
    groupKey,
    status: 'firing',
    receiver: 'lookout',
    groupLabels: { alertname: 'Valid' },
    commonLabels: { alertname: 'Valid' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager.example',
    alerts: [{ status: 'firing', labels: { alertname: 'Valid' }, annotations: {}, startsAt: '2026-01-01T00:00:00Z', endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: `fp-${groupKey}` }],
  });

  const postWebhook = (body: string | Buffer, headers: Record<string, string> = { authorization: `Bearer ${WEBHOOK_TOKEN}` }) =>
    fetch(`${url}/alertmanager`, { method: 'POST', headers, body });

  describe('POST /alertmanager refuses bad input, stores nothing, and stays healthy', () => {
    const good = JSON.stringify(validPayload('{}:{alertname="Valid"}'));
    const cases: Array<[string, () => Promise<Response>, number, RegExp]> = [
      ['no token', () => postWebhook(good, {}), 401, /bearer token/],
      ['a wrong token', () => postWebhook(good, { authorization: 'Bearer not-the-token-at-all' }), 401, /bearer token/],
      ['a token in the wrong scheme', () => postWebhook(good, { authorization: `Basic ${WEBHOOK_TOKEN}` }), 401, /bearer token/],
      ['invalid JSON', () => postWebhook('{"version": "4",'), 400, /not valid JSON/],
      ['JSON of the wrong shape', () => postWebhook(JSON.stringify({ ...validPayload('x'), alerts: [{ status: 'burning' }] })), 400, /alerts\.0\.status/],
      ['an unknown version', () => postWebhook(JSON.stringify({ ...validPayload('x'), version: '5' })), 400, /version/],
      ['a 10 MB body', () => postWebhook(Buffer.alloc(10 * 1024 * 1024, 32)), 413, /larger than/],
    ];

    it.each(cases)('%s', async (_name, send, status, message) => {
      const res = await send();
      expect(res.status).toBe(status);
      expect(await res.text()).toMatch(message);
      expect(await lookout.store.pendingNotifications(10)).toEqual([]);
      expect(await lookout.store.latestGroup('{}:{alertname="Valid"}')).toBeUndefined();
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    });

    it('and then still accepts a valid notification and posts it', async () => {
      const res = await postWebhook(good);
      expect(res.status).toBe(200);
      await waitFor('the message in Slack', () => (slack.messages('C0ALERTS').length === 1 ? true : undefined));
      expect(slack.callsTo('chat.postMessage')).toHaveLength(1);
    });

    it('counts the refusals in /metrics', async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      expect(text).toMatch(/lookout_webhook_requests_total\{outcome="unauthorized"\} 3/);
      expect(text).toMatch(/lookout_webhook_requests_total\{outcome="too_large"\} 1/);
      expect(text).toMatch(/lookout_webhook_requests_total\{outcome="invalid"\} 3/);
      expect(text).toMatch(/nodejs_heap_size_used_bytes/);
    });
  });

  describe('POST /slack/events', () => {
    const now = () => Math.floor(Date.now() / 1000);
    const sendCommand = (text: string, timestamp = now(), mutate: (body: string) => string = (body) => body) => {
      const signed = signedSlackForm(SIGNING_SECRET, slashCommandBody({ text, response_url: slack.responseUrl() }), timestamp);
      return fetch(`${url}/slack/events`, { method: 'POST', headers: { ...signed.headers }, body: mutate(signed.body) });
    };
    const lastResponse = () => slack.responseUrlPosts.at(-1)?.body as { text: string; response_type: string } | undefined;

    it('answers /ops help with the command list, privately', async () => {
      const before = slack.responseUrlPosts.length;
      const res = await sendCommand('help');
      expect(res.status).toBe(200);
      await waitFor('the help reply', () => (slack.responseUrlPosts.length > before ? true : undefined));
      expect(lastResponse()).toMatchObject({ response_type: 'ephemeral', text: expect.stringContaining('/ops help [command]') });
    });

    it('answers bad arguments with the usage', async () => {
      const before = slack.responseUrlPosts.length;
      await sendCommand('help one two');
      await waitFor('the usage reply', () => (slack.responseUrlPosts.length > before ? true : undefined));
      expect(lastResponse()?.text).toMatch(/Usage: `\/ops help \[command\]`/);
    });

    it('answers an unknown subcommand by pointing at help', async () => {
      const before = slack.responseUrlPosts.length;
      await sendCommand('frobnicate');
      await waitFor('the reply', () => (slack.responseUrlPosts.length > before ? true : undefined));
      expect(lastResponse()?.text).toMatch(/Unknown command `frobnicate`.*\/ops help/);
    });

    it.each([
      ['a tampered body', () => sendCommand('help', now(), (body) => body.replace('help', 'nope'))],
      ['a stale timestamp', () => sendCommand('help', now() - 6 * 60)],
      ['a future timestamp', () => sendCommand('help', now() + 6 * 60)],
      ['no signature', () => fetch(`${url}/slack/events`, { method: 'POST', body: slashCommandBody({ text: 'help' }) })],
    ])('refuses %s with 401 and runs nothing', async (_name, send) => {
      const before = slack.responseUrlPosts.length;
      const res = await send();
      expect(res.status).toBe(401);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(slack.responseUrlPosts.length).toBe(before);
    });

    it('refuses a replay of a request it already accepted', async () => {
      const signed = signedSlackForm(SIGNING_SECRET, slashCommandBody({ text: 'help', response_url: slack.responseUrl() }), now());
      const first = await fetch(`${url}/slack/events`, { method: 'POST', headers: { ...signed.headers }, body: signed.body });
      const replay = await fetch(`${url}/slack/events`, { method: 'POST', headers: { ...signed.headers }, body: signed.body });
      expect(first.status).toBe(200);
      expect(replay.status).toBe(401);
    });
  });

  it('answers 404 for unknown paths and serves /readyz', async () => {
    expect((await fetch(`${url}/nope`)).status).toBe(404);
    expect(await (await fetch(`${url}/readyz`)).text()).toBe('ready\n');
  });
});
