import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseOpenFileLimit } from '../../src/http/connection-limits.ts';
import { payload } from '../helpers/fakes.ts';
import { waitFor } from '../support/free-port.ts';
import { startLookout, type LookoutProcess } from '../support/lookout-process.ts';
import { startLookoutTestBed, type LookoutTestBed } from '../support/lookout-test-bed.ts';
import { openIdleSockets, rawHttp, stillOpen } from '../support/raw-http.ts';
import { interactivityBody, signSlackRequest, signedSlackForm, slashCommandBody } from '../support/sign-slack-request.ts';

/*
 * Lookout as a child process (as `npm start` runs it) under hostile HTTP: odd requests to
 * /slack/events, signed or not, must never end the process; idle connections beyond the
 * open-file limit must not take /healthz and the webhook down with them.
 */

const now = () => Math.floor(Date.now() / 1000);

const webhook = (lookout: LookoutProcess, bed: LookoutTestBed, groupKey: string) =>
  fetch(`${lookout.url}/alertmanager`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bed.webhookToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(payload(groupKey, [{ fingerprint: `fp-${groupKey}` }])),
    signal: AbortSignal.timeout(5000),
  });

async function metric(lookout: LookoutProcess, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${lookout.url}/metrics`)).text();
  const lines = text.split('\n').filter((line) => line.startsWith(name) && !line.startsWith('#'));
  if (lines.length === 0) return undefined;
  return lines.reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

describe('odd requests to /slack/events never end the process', () => {
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

  // Each request signed at another second: equal bodies would otherwise be refused as replays.
  let age = 0;
  /** A signed POST of `body` with `contentType`, as Slack would sign it. */
  const signed = (body: string, contentType: string | undefined) => ({
    ...signSlackRequest(bed.signingSecret, body, now() - (age++ % 200)),
    ...(contentType !== undefined ? { 'content-type': contentType } : {}),
  });
  const post = (body: string, headers: Record<string, string>) =>
    fetch(`${lookout.url}/slack/events`, { method: 'POST', headers, body, signal: AbortSignal.timeout(5000) });

  const FORM = 'application/x-www-form-urlencoded';
  const JSON_TYPE = 'application/json';

  // Each was a body Bolt would parse to something other than an object it can read: the first two
  // ended the process before this fix (Bolt reads `body.ssl_check` of null outside its try).
  const badShapes: Array<[string, string, string]> = [
    ['form payload=null', 'payload=null', FORM],
    ['JSON null', 'null', JSON_TYPE],
    ['JSON null without a content type', 'null', ''],
    ['JSON array', '[]', JSON_TYPE],
    ['JSON number', '42', JSON_TYPE],
    ['JSON string', '"hello"', JSON_TYPE],
    ['JSON true', 'true', JSON_TYPE],
    ['form payload=[]', 'payload=%5B%5D', FORM],
    ['form payload=1', 'payload=1', FORM],
    ['form payload="x"', 'payload=%22x%22', FORM],
    ['form payload not JSON', 'payload=%7Bnope', FORM],
    ['form payload twice', `${interactivityBody({ type: 'block_actions' })}&${interactivityBody({ type: 'block_actions' })}`, FORM],
    ['form payload without type', interactivityBody({ actions: [] }), FORM],
    ['form payload with a numeric type', interactivityBody({ type: 7 }), FORM],
    ['JSON object without type', '{"event":null}', JSON_TYPE],
    ['invalid JSON', '{"type":', JSON_TYPE],
    ['empty body', '', JSON_TYPE],
    ['form body labelled JSON', slashCommandBody({ text: 'help' }), JSON_TYPE],
    ['form with a charset', 'payload=null', `${FORM}; charset=utf-8`],
    ['text/plain null', 'null', 'text/plain'],
    ['multipart', '--x\r\nContent-Disposition: form-data; name="payload"\r\n\r\nnull\r\n--x--\r\n', 'multipart/form-data; boundary=x'],
    ['a slash command without command', 'text=help&user_id=U1', FORM],
    ['a slash command with an array command', 'command=%2Fops&command=%2Fops&text=help', FORM],
  ];

  it.each(badShapes)('a signed %s gets 400 naming the problem', async (_name, body, contentType) => {
    const res = await post(body, signed(body, contentType === '' ? undefined : contentType));
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/^bad Slack request: .+/);
  });

  it.each(badShapes)('an unsigned %s gets 401', async (_name, body, contentType) => {
    const res = await post(body, contentType === '' ? {} : { 'content-type': contentType });
    expect(res.status).toBe(401);
  });

  it('Bolt-shaped but odd signed events are answered, not thrown', async () => {
    const odd: unknown[] = [
      { type: 'block_actions' },
      { type: 'block_actions', actions: null, user: null, team: null, container: null },
      { type: 'block_actions', actions: [null], user: { id: 7 } },
      { type: 'view_submission', view: null },
      { type: 'shortcut', callback_id: null },
      { type: 'event_callback', event: null },
      { type: 'event_callback', event: { type: null } },
      { type: 'url_verification' },
      { type: 'x'.repeat(100_000) },
      { type: 'block_actions', user: { id: 'U024BE7LH' }, team: null, actions: [{}] },
      { type: 'block_actions', user: { id: 'U024BE7LH' }, team: { id: 'T0LOOKOUT' }, actions: [{ action_id: 'ack', value: null }], container: {} },
      { type: 'view_submission', user: { id: 'U024BE7LH' }, view: { state: null } },
      { type: 'block_actions', __proto__: { polluted: true }, constructor: { prototype: { polluted: true } } },
    ];
    for (const event of odd) {
      const form = interactivityBody(event);
      const res = await post(form, signed(form, FORM));
      const answer = await res.text();
      expect(res.status, `${JSON.stringify(event).slice(0, 80)}: ${answer}`).toBeLessThan(500);
      const json = JSON.stringify(event);
      const res2 = await post(json, signed(json, JSON_TYPE));
      const answer2 = await res2.text();
      expect(res2.status, `${json.slice(0, 80)}: ${answer2}`).toBeLessThan(500);
    }
  });

  it('odd methods, URLs and headers are answered (raw requests)', async () => {
    const huge = 'a'.repeat(64 * 1024);
    const requests = [
      'GET /slack/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      'PUT /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnull',
      'DELETE /slack/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      'PATCH /alertmanager HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      'BREW /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      'GET http://[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      'POST http://[::1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
      'GET http://user:pw@[/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      'GET //healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      'GET /%ZZ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      'GET /slack/events?%ZZ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      'POST /slack/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n',
      'POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nContent-Length: 20\r\nConnection: close\r\n\r\n',
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Huge: ${huge}\r\nConnection: close\r\n\r\n`,
      `POST /slack/events HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 3000 }, (_, index) => `X-H${index}: v`).join('\r\n')}\r\nConnection: close\r\n\r\n`,
      'POST /slack/events HTTP/1.1\r\nHost: x\r\nX-Slack-Signature: v0=00\r\nX-Slack-Signature: v0=11\r\nX-Slack-Request-Timestamp: 1\r\nX-Slack-Request-Timestamp: 2\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnull',
      'POST /slack/events HTTP/1.1\r\nHost: x\r\nX-Slack-Signature: \u00ff\u00fe\r\nX-Slack-Request-Timestamp: NaN\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnull',
      'GARBAGE\r\n\r\n',
      '\u0000\u0001\u0002\r\n\r\n',
    ];
    for (const request of requests) {
      const answer = await rawHttp(lookout.port, Buffer.from(request, 'latin1'));
      expect(answer.status, JSON.stringify(request.slice(0, 60))).toBeDefined();
      expect(answer.status!, JSON.stringify(request.slice(0, 60))).toBeLessThan(500);
    }
  });

  it('every spelling of the events URL goes through the signature check: an unsigned command never runs', async () => {
    // Bolt's own signature check is off (src/slack/slack-app.ts): the guard in front of it is the
    // only one, so no request line Bolt would take for /slack/events may reach it unchecked.
    const responseUrl = bed.slack.responseUrl();
    const replies = () => bed.slack.responseUrlPosts.filter((reply) => responseUrl.endsWith(`/${reply.id}`));
    const body = slashCommandBody({ text: 'whoami', response_url: responseUrl });
    const targets = ['/slack/events', '/slack/events?x=1', '/slack/events?', '/slack/events#top', 'http://lookout/slack/events', 'http://lookout:80/slack/events?retry=1', '/slack/./events', '/slack/x/../events', '/slack/events/', '//slack/events', '/slack/%65vents', '/Slack/events'];
    for (const target of targets) {
      const request = `POST ${target} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
      const answer = await rawHttp(lookout.port, Buffer.from(request, 'latin1'));
      expect([401, 404], target).toContain(answer.status);
    }
    // A signed one on the plain path runs (the check above can fail), and only it replies.
    const signedBody = slashCommandBody({ text: 'help', response_url: responseUrl });
    expect((await post(signedBody, signed(signedBody, FORM))).status).toBe(200);
    await waitFor('the signed command to reply', async () => (replies().length > 0 ? true : undefined), 5000);
    expect(replies()).toHaveLength(1);
  });

  it('a signed request with a huge body or headers is refused, not fatal', async () => {
    const big = `payload=${'x'.repeat(2 * 1024 * 1024)}`;
    const res = await post(big, signed(big, FORM)).catch(() => undefined);
    if (res) expect([400, 413]).toContain(res.status);
  });

  it('is still up, answers, and no rejection went unhandled', async () => {
    expect((await fetch(`${lookout.url}/healthz`)).status).toBe(200);
    const form = signedSlackForm(bed.signingSecret, slashCommandBody({ text: 'help', response_url: bed.slack.responseUrl() }), now());
    const before = bed.slack.responseUrlPosts.length;
    expect((await post(form.body, { ...form.headers })).status).toBe(200);
    await waitFor('the help reply', () => (bed.slack.responseUrlPosts.length > before ? true : undefined));
    expect(await metric(lookout, 'lookout_unhandled_rejections_total')).toBe(0);
    expect(lookout.output()).not.toMatch(/unhandled rejection/);
  });
});

describe('idle connections beyond the open-file limit', () => {
  let bed: LookoutTestBed;
  let lookout: LookoutProcess;
  let sockets: Socket[] = [];

  afterEach(async () => {
    for (const socket of sockets) socket.destroy();
    sockets = [];
    await lookout?.stop();
    await bed?.close();
  });

  it('1,100 idle sockets with `ulimit -n 1024`: the webhook and /healthz still answer', async () => {
    // The test's own end of the 1,100 sockets needs the files too.
    const ownLimit = parseOpenFileLimit(readFileSync('/proc/self/limits', 'utf8')) ?? Infinity;
    expect(ownLimit, 'the test process needs `ulimit -n` of at least 1500 to open 1,100 sockets').toBeGreaterThanOrEqual(1500);
    bed = await startLookoutTestBed();
    lookout = await startLookout(bed.env, undefined, { openFileLimit: 1024 });
    sockets = await openIdleSockets(lookout.port, 1100);

    const health = await fetch(`${lookout.url}/healthz`, { signal: AbortSignal.timeout(5000) });
    expect(health.status).toBe(200);
    const res = await webhook(lookout, bed, '{}:{alertname="UnderSiege"}');
    expect(res.status).toBe(200);
    await waitFor('the alert in Slack', () => (bed.slack.messages(bed.channel).length === 1 ? true : undefined));
    // The cap (open-file limit − reserve) is what stays open; the oldest idle ones made room.
    expect(stillOpen(sockets)).toBeLessThan(1024 - 64);
    expect(await metric(lookout, 'lookout_http_connections_closed_total{reason="evicted_idle"}')).toBeGreaterThan(100);
  });

  it('connections that never send a request, and idle keep-alive ones, are closed', async () => {
    bed = await startLookoutTestBed({ config: { http: { headersTimeoutMs: 1000, keepAliveTimeoutMs: 500 } } });
    lookout = await startLookout(bed.env);
    sockets = await openIdleSockets(lookout.port, 50);
    expect(stillOpen(sockets)).toBe(50);
    await waitFor('the silent connections to be closed', () => (stillOpen(sockets) === 0 ? true : undefined), 10_000);
    expect(await metric(lookout, 'lookout_http_connections_closed_total{reason="no_request"}')).toBe(50);

    // A keep-alive connection after its answer: closed by the keep-alive timeout.
    const answer = await new Promise<{ closedAfterMs: number }>((resolve, reject) => {
      void import('node:net').then(({ connect }) => {
        const socket = connect(lookout.port, '127.0.0.1');
        let answeredAt = 0;
        socket.on('data', () => (answeredAt ||= Date.now()));
        socket.on('close', () => resolve({ closedAfterMs: Date.now() - answeredAt }));
        socket.on('error', reject);
        socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      });
    });
    expect(answer.closedAfterMs).toBeLessThan(3000);
  });
});
