import { LogLevel, WebAPIHTTPError, WebAPIPlatformError, WebAPIRateLimitedError, WebAPIRequestError, WebClient } from '@slack/web-api';
import { afterEach, describe, expect, it } from 'vitest';
import { SLACK_LIMITS, startFakeSlack } from '../../support/fake-slack.ts';
import type { Logger } from '@slack/web-api';
import type { FakeSlack, FakeSlackOptions } from '../../support/fake-slack.ts';

// Driven by the real @slack/web-api client, configured as Lookout's tests will be: no retries, and
// 429s surfaced as errors rather than waited out.

let fake: FakeSlack | undefined;

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

/** A manual clock, so rate-limit tests move time instead of sleeping. */
function manualClock(startMs = 1_700_000_000_000): { now: () => number; advance: (ms: number) => void } {
  let ms = startMs;
  return { now: () => ms, advance: (by) => void (ms += by) };
}

async function start(options: FakeSlackOptions = {}): Promise<{ fake: FakeSlack; slack: WebClient }> {
  fake = await startFakeSlack(options);
  return { fake, slack: client(fake, fake.token) };
}

// WebClient logs Slack's response_metadata messages at error level; the tests assert on them instead.
const silent: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  setLevel: () => {},
  getLevel: () => LogLevel.ERROR,
  setName: () => {},
};

function client(target: FakeSlack, token: string | undefined, extra: { timeout?: number } = {}): WebClient {
  return new WebClient(token, {
    slackApiUrl: target.url,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    logger: silent,
    ...extra,
  });
}

/** The error a promise rejects with; fails the test if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

/** The `ok:false` body behind a platform error; fails the test for any other kind of failure. */
async function platformError(promise: Promise<unknown>): Promise<WebAPIPlatformError['data']> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(WebAPIPlatformError);
  return (error as WebAPIPlatformError).data;
}

const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });
const header = (text: string) => ({ type: 'header', text: { type: 'plain_text', text } });

describe('fake Slack: transport and auth', () => {
  it('serves auth.test over loopback at a URL ending in /api/', async () => {
    const { fake, slack } = await start({ teamId: 'T0TEST', botUserId: 'U0BOT' });
    expect(fake.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/$/);
    const result = await slack.auth.test();
    expect(result).toMatchObject({ ok: true, team_id: 'T0TEST', user_id: 'U0BOT' });
    expect(fake.calls).toHaveLength(1);
    expect(fake.calls[0]).toMatchObject({ method: 'auth.test', auth: 'header', status: 200, injected: false });
  });

  it('answers not_authed without a token and invalid_auth for a wrong one, both with HTTP 200', async () => {
    const { fake } = await start();
    expect(await platformError(client(fake, undefined).auth.test())).toMatchObject({ ok: false, error: 'not_authed' });
    expect(await platformError(client(fake, 'xoxb-wrong').chat.postMessage({ channel: 'C0ALERTS', text: 'x' }))).toMatchObject({
      error: 'invalid_auth',
    });
    expect(fake.calls.map((c) => c.status)).toEqual([200, 200]);
    expect(fake.messages('C0ALERTS')).toEqual([]);
  });

  it('accepts the token as a form parameter but never records it', async () => {
    const { fake } = await start();
    const response = await fetch(`${fake.url}auth.test`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: fake.token }).toString(),
    });
    expect(await response.json()).toMatchObject({ ok: true });
    expect(fake.calls[0]?.auth).toBe('param');
    expect(JSON.stringify(fake.calls)).not.toContain(fake.token);
  });

  it('accepts JSON bodies with a bearer header, but ignores a token inside JSON as Slack does', async () => {
    const { fake } = await start();
    const post = (headers: Record<string, string>, body: unknown) =>
      fetch(`${fake.url}chat.postMessage`, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
        body: JSON.stringify(body),
      }).then((r) => r.json());
    const blocks = [section('*from JSON*')];
    expect(await post({ authorization: `Bearer ${fake.token}` }, { channel: 'C0ALERTS', text: 'json', blocks })).toMatchObject({ ok: true });
    expect(fake.messages('C0ALERTS')[0]).toMatchObject({ text: 'json', blocks });
    expect(await post({}, { token: fake.token, channel: 'C0AUDIT', text: 'json' })).toEqual({ ok: false, error: 'not_authed' });
  });

  it('answers unknown_method with the method echoed, as Slack does', async () => {
    const { slack } = await start();
    expect(await platformError(slack.apiCall('chat.postMessageV9'))).toMatchObject({
      ok: false,
      error: 'unknown_method',
      req_method: 'chat.postMessageV9',
    });
  });
});

describe('fake Slack: messages', () => {
  it('stores a post with its blocks decoded from the form body, and answers like Slack', async () => {
    const { fake, slack } = await start({ botUserId: 'U0BOT', botId: 'B0BOT' });
    const blocks = [header('KubePodCrashLooping'), section('pod *web-1* restarted 5 times')];
    const result = await slack.chat.postMessage({ channel: 'C0ALERTS', text: 'KubePodCrashLooping', blocks });
    expect(result).toMatchObject({ ok: true, channel: 'C0ALERTS', message: { text: 'KubePodCrashLooping', user: 'U0BOT', bot_id: 'B0BOT' } });
    expect(result.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(fake.messages('C0ALERTS')).toEqual([
      expect.objectContaining({ ts: result.ts, text: 'KubePodCrashLooping', blocks, history: [], replyCount: 0, threadTs: undefined }),
    ]);
    expect(fake.calls[0]?.params).toMatchObject({ channel: 'C0ALERTS', blocks });
  });

  it('keeps thread replies out of the channel listing and under their parent', async () => {
    const clock = manualClock();
    const { fake, slack } = await start({ now: clock.now });
    const parent = await slack.chat.postMessage({ channel: 'C0ALERTS', text: 'alert' });
    clock.advance(1000);
    const reply = await slack.chat.postMessage({ channel: 'C0ALERTS', text: 'details', thread_ts: parent.ts ?? '' });
    clock.advance(1000);
    // A reply to a reply lands in the original thread.
    await slack.chat.postMessage({ channel: 'C0ALERTS', text: 'more', thread_ts: reply.ts ?? '' });
    expect(reply.message?.thread_ts).toBe(parent.ts);
    expect(fake.messages('C0ALERTS').map((m) => [m.text, m.replyCount])).toEqual([['alert', 2]]);
    expect(fake.replies('C0ALERTS', parent.ts ?? '').map((m) => [m.text, m.threadTs])).toEqual([
      ['details', parent.ts],
      ['more', parent.ts],
    ]);
  });

  it('answers thread_not_found for a thread_ts it never issued', async () => {
    const { fake, slack } = await start();
    expect(await platformError(slack.chat.postMessage({ channel: 'C0ALERTS', text: 'x', thread_ts: '1700000000.000001' }))).toMatchObject({
      error: 'thread_not_found',
    });
    expect(fake.messages('C0ALERTS')).toEqual([]);
  });

  it('edits in place, keeps the history, keeps blocks when omitted and drops them for []', async () => {
    const clock = manualClock();
    const { fake, slack } = await start({ now: clock.now });
    const posted = await slack.chat.postMessage({ channel: 'C0ALERTS', text: 'firing', blocks: [section('firing')] });
    const ts = posted.ts ?? '';
    clock.advance(10);
    const updated = await slack.chat.update({ channel: 'C0ALERTS', ts, text: 'resolved', blocks: [section('resolved')] });
    expect(updated).toMatchObject({ ok: true, channel: 'C0ALERTS', ts, text: 'resolved' });
    clock.advance(10);
    await slack.chat.update({ channel: 'C0ALERTS', ts, text: 'resolved (acked)' });

    const [message] = fake.messages('C0ALERTS');
    expect(fake.messages('C0ALERTS')).toHaveLength(1);
    expect(message).toMatchObject({ ts, text: 'resolved (acked)', blocks: [section('resolved')] });
    expect(message?.history).toEqual([
      { text: 'firing', blocks: [section('firing')], at: 1_700_000_000_000 + 10 },
      { text: 'resolved', blocks: [section('resolved')], at: 1_700_000_000_000 + 20 },
    ]);

    await slack.chat.update({ channel: 'C0ALERTS', ts, text: 'plain', blocks: [] });
    expect(fake.messages('C0ALERTS')[0]?.blocks).toBeUndefined();
  });

  it('answers message_not_found for an unknown ts and cant_update_message for a human message', async () => {
    const { fake, slack } = await start();
    expect(await platformError(slack.chat.update({ channel: 'C0ALERTS', ts: '1700000000.000001', text: 'x' }))).toMatchObject({
      error: 'message_not_found',
    });
    const humanTs = fake.postAsUser('C0ALERTS', 'U024BE7LH', 'hello');
    expect(await platformError(slack.chat.update({ channel: 'C0ALERTS', ts: humanTs, text: 'x' }))).toMatchObject({
      error: 'cant_update_message',
    });
    expect(fake.messages('C0ALERTS')[0]).toMatchObject({ text: 'hello', history: [] });
  });

  it('issues unique, increasing ts values even when the clock stands still', async () => {
    const clock = manualClock();
    const channels = ['C1', 'C2', 'C3', 'C4', 'C5'];
    const { slack } = await start({ now: clock.now, channels });
    const tss: string[] = [];
    for (const channel of channels) tss.push((await slack.chat.postMessage({ channel, text: 'x' })).ts ?? '');
    expect(new Set(tss).size).toBe(tss.length);
    expect([...tss].sort((a, b) => Number(a) - Number(b))).toEqual(tss);
    expect(tss[0]).toBe('1700000000.000000');
    expect(tss[1]).toBe('1700000000.000001');
  });

  it('answers channel_not_found for a channel it does not know, until it is added', async () => {
    const { fake, slack } = await start({ channels: ['C0ALERTS'] });
    expect(await platformError(slack.chat.postMessage({ channel: 'C0NOPE', text: 'x' }))).toMatchObject({ error: 'channel_not_found' });
    expect(await platformError(slack.chat.update({ channel: 'C0NOPE', ts: '1.2', text: 'x' }))).toMatchObject({ error: 'channel_not_found' });
    fake.addChannel('C0NOPE');
    expect(await slack.chat.postMessage({ channel: 'C0NOPE', text: 'x' })).toMatchObject({ ok: true });
  });

  it('delivers ephemerals to known users only', async () => {
    const { fake, slack } = await start({ users: [{ id: 'U024BE7LH', name: 'alice' }] });
    const result = await slack.chat.postEphemeral({ channel: 'C0ALERTS', user: 'U024BE7LH', text: 'only you' });
    expect(result.message_ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(fake.ephemerals('C0ALERTS')).toEqual([expect.objectContaining({ user: 'U024BE7LH', text: 'only you' })]);
    expect(fake.messages('C0ALERTS')).toEqual([]);
    expect(await platformError(slack.chat.postEphemeral({ channel: 'C0ALERTS', user: 'U0STRANGER', text: 'x' }))).toMatchObject({
      error: 'user_not_in_channel',
    });
  });
});

describe('fake Slack: validation', () => {
  const tooMany = Array.from({ length: SLACK_LIMITS.blocksPerMessage + 1 }, (_, i) => section(`block ${i}`));

  it('refuses more than 50 blocks with invalid_blocks and a json-pointer, and accepts exactly 50', async () => {
    const { fake, slack } = await start();
    const data = await platformError(slack.chat.postMessage({ channel: 'C0ALERTS', text: 'x', blocks: tooMany }));
    expect(data).toMatchObject({
      error: 'invalid_blocks',
      errors: ['no more than 50 items allowed [json-pointer:/blocks]'],
      response_metadata: { messages: ['[ERROR] no more than 50 items allowed [json-pointer:/blocks]'] },
    });
    expect(fake.messages('C0ALERTS')).toEqual([]);
    fake.addChannel('C0MORE');
    await expect(slack.chat.postMessage({ channel: 'C0MORE', text: 'x', blocks: tooMany.slice(1) })).resolves.toMatchObject({ ok: true });
  });

  it('refuses section text over 3000 characters, pointing at the block', async () => {
    const { slack } = await start({ channels: ['C1', 'C2'] });
    const data = await platformError(
      slack.chat.postMessage({ channel: 'C1', text: 'x', blocks: [section('ok'), section('a'.repeat(3001))] }),
    );
    expect(data).toMatchObject({ error: 'invalid_blocks', errors: ['must be less than 3001 characters [json-pointer:/blocks/1/text/text]'] });
    await expect(slack.chat.postMessage({ channel: 'C2', text: 'x', blocks: [section('a'.repeat(3000))] })).resolves.toMatchObject({ ok: true });
  });

  it('refuses header text over 150 characters and accepts 150', async () => {
    const { slack } = await start({ channels: ['C1', 'C2'] });
    expect(await platformError(slack.chat.postMessage({ channel: 'C1', text: 'x', blocks: [header('h'.repeat(151))] }))).toMatchObject({
      error: 'invalid_blocks',
      errors: ['must be less than 151 characters [json-pointer:/blocks/0/text/text]'],
    });
    await expect(slack.chat.postMessage({ channel: 'C2', text: 'x', blocks: [header('h'.repeat(150))] })).resolves.toMatchObject({ ok: true });
  });

  it('refuses too many section fields and an over-long field', async () => {
    const { slack } = await start();
    const field = (text: string) => ({ type: 'mrkdwn', text });
    const eleven = { type: 'section', fields: Array.from({ length: 11 }, () => field('f')) };
    expect(await platformError(slack.chat.postMessage({ channel: 'C0ALERTS', text: 'x', blocks: [eleven] }))).toMatchObject({
      error: 'invalid_blocks',
    });
    const long = { type: 'section', fields: [field('f'.repeat(2001))] };
    expect(await platformError(slack.chat.postMessage({ channel: 'C0ALERTS', text: 'x', blocks: [long] }))).toMatchObject({
      errors: ['must be less than 2001 characters [json-pointer:/blocks/0/fields/0/text]'],
    });
  });

  it('validates blocks on chat.update as well', async () => {
    const clock = manualClock();
    const { fake, slack } = await start({ now: clock.now });
    const { ts } = await slack.chat.postMessage({ channel: 'C0ALERTS', text: 'x' });
    expect(await platformError(slack.chat.update({ channel: 'C0ALERTS', ts: ts ?? '', text: 'y', blocks: tooMany }))).toMatchObject({
      error: 'invalid_blocks',
    });
    expect(fake.messages('C0ALERTS')[0]).toMatchObject({ text: 'x', history: [] });
  });

  it('answers msg_too_long over 40,000 characters of text and accepts 40,000', async () => {
    const { slack } = await start({ channels: ['C1', 'C2'] });
    expect(await platformError(slack.chat.postMessage({ channel: 'C1', text: 'a'.repeat(40_001) }))).toMatchObject({ error: 'msg_too_long' });
    await expect(slack.chat.postMessage({ channel: 'C2', text: 'a'.repeat(40_000) })).resolves.toMatchObject({ ok: true });
  });

  it("can instead truncate with Slack's message_truncated warning", async () => {
    const { fake, slack } = await start({ textOverLimit: 'truncate' });
    const result = await slack.chat.postMessage({ channel: 'C0ALERTS', text: 'a'.repeat(40_005) });
    expect(result.response_metadata?.warnings).toEqual(['message_truncated']);
    expect(fake.messages('C0ALERTS')[0]?.text).toHaveLength(40_000);
  });

  it('answers no_text when there is neither text nor blocks', async () => {
    const { fake, slack } = await start();
    expect(await platformError(slack.apiCall('chat.postMessage', { channel: 'C0ALERTS' }))).toMatchObject({ error: 'no_text' });
    expect(await platformError(slack.apiCall('chat.postMessage', { channel: 'C0ALERTS', text: '', blocks: [] }))).toMatchObject({
      error: 'no_text',
    });
    expect(fake.messages('C0ALERTS')).toEqual([]);
  });

  it('answers invalid_blocks_format for blocks that are not a JSON array', async () => {
    const { slack } = await start();
    expect(await platformError(slack.apiCall('chat.postMessage', { channel: 'C0ALERTS', text: 'x', blocks: '[{"type":' }))).toMatchObject({
      error: 'invalid_blocks_format',
    });
  });
});

describe('fake Slack: rate limits', () => {
  it('answers 429 + Retry-After for a second post to a channel within a second, and records it', async () => {
    const clock = manualClock();
    const { fake, slack } = await start({ now: clock.now });
    await slack.chat.postMessage({ channel: 'C0ALERTS', text: 'one' });
    clock.advance(400);
    const error = await rejection(slack.chat.postMessage({ channel: 'C0ALERTS', text: 'two' }));
    expect(error).toBeInstanceOf(WebAPIRateLimitedError);
    expect((error as WebAPIRateLimitedError).retryAfter).toBe(1);
    expect(fake.calls.at(-1)).toMatchObject({ status: 429, response: { ok: false, error: 'ratelimited' }, injected: false });
    expect(fake.messages('C0ALERTS').map((m) => m.text)).toEqual(['one']);

    // Another channel has its own budget; the first one recovers once the second is up.
    await expect(slack.chat.postMessage({ channel: 'C0AUDIT', text: 'elsewhere' })).resolves.toMatchObject({ ok: true });
    clock.advance(600);
    await expect(slack.chat.postMessage({ channel: 'C0ALERTS', text: 'three' })).resolves.toMatchObject({ ok: true });
    expect(fake.calls.filter((c) => c.status === 429)).toHaveLength(1);
  });

  it('counts thread replies against their channel', async () => {
    const clock = manualClock();
    const { slack } = await start({ now: clock.now });
    const parent = await slack.chat.postMessage({ channel: 'C0ALERTS', text: 'alert' });
    clock.advance(500);
    await expect(rejection(slack.chat.postMessage({ channel: 'C0ALERTS', text: 'r', thread_ts: parent.ts ?? '' }))).resolves.toBeInstanceOf(
      WebAPIRateLimitedError,
    );
  });

  it('rounds Retry-After up to whole seconds of the remaining wait, and allows the tolerance', async () => {
    const clock = manualClock();
    const { slack } = await start({ now: clock.now, minIntervalMs: 5000, toleranceMs: 20 });
    await slack.chat.postMessage({ channel: 'C0ALERTS', text: 'one' });
    clock.advance(1500);
    expect(((await rejection(slack.chat.postMessage({ channel: 'C0ALERTS', text: 'x' }))) as WebAPIRateLimitedError).retryAfter).toBe(4);
    clock.advance(3485);
    await expect(slack.chat.postMessage({ channel: 'C0ALERTS', text: 'two' })).resolves.toMatchObject({ ok: true });
  });

  it('only an accepted post starts the interval: a refused one does not', async () => {
    const clock = manualClock();
    const { slack } = await start({ now: clock.now });
    await platformError(slack.chat.postMessage({ channel: 'C0ALERTS', text: '' }));
    await expect(slack.chat.postMessage({ channel: 'C0ALERTS', text: 'first real' })).resolves.toMatchObject({ ok: true });
  });

  it('limits chat.update to a per-minute budget for the workspace', async () => {
    const clock = manualClock();
    const { fake, slack } = await start({ now: clock.now, updatesPerMinute: 3 });
    const { ts } = await slack.chat.postMessage({ channel: 'C0ALERTS', text: 'v0' });
    for (const v of ['v1', 'v2', 'v3']) {
      await slack.chat.update({ channel: 'C0ALERTS', ts: ts ?? '', text: v });
      clock.advance(10_000);
    }
    const error = await rejection(slack.chat.update({ channel: 'C0ALERTS', ts: ts ?? '', text: 'v4' }));
    expect(error).toBeInstanceOf(WebAPIRateLimitedError);
    // The oldest update was 30 s ago, so it leaves the window in 30 s.
    expect((error as WebAPIRateLimitedError).retryAfter).toBe(30);
    expect(fake.messages('C0ALERTS')[0]?.text).toBe('v3');
    clock.advance(30_000);
    await expect(slack.chat.update({ channel: 'C0ALERTS', ts: ts ?? '', text: 'v4' })).resolves.toMatchObject({ ok: true });
  });
});

describe('fake Slack: failure injection', () => {
  it('fails the next n calls with HTTP 500, then behaves again, without changing state', async () => {
    const { fake, slack } = await start({ channels: ['C1', 'C2', 'C3'] });
    fake.failNext('chat.postMessage', 2, 'http500');
    for (const channel of ['C1', 'C2']) {
      const error = await rejection(slack.chat.postMessage({ channel, text: 'x' }));
      expect(error).toBeInstanceOf(WebAPIHTTPError);
      expect((error as WebAPIHTTPError).statusCode).toBe(500);
    }
    expect(fake.messages('C1')).toEqual([]);
    await expect(slack.chat.postMessage({ channel: 'C3', text: 'x' })).resolves.toMatchObject({ ok: true });
    expect(fake.calls.map((c) => [c.status, c.injected])).toEqual([
      [500, true],
      [500, true],
      [200, false],
    ]);
  });

  it('injects a 429 with the chosen Retry-After', async () => {
    const { slack, fake } = await start();
    fake.failNext('chat.update', 1, 'ratelimited', { retryAfterSeconds: 7 });
    const error = await rejection(slack.chat.update({ channel: 'C0ALERTS', ts: '1.1', text: 'x' }));
    expect(error).toBeInstanceOf(WebAPIRateLimitedError);
    expect((error as WebAPIRateLimitedError).retryAfter).toBe(7);
  });

  it('injects an ok:false error by name, only for the named method', async () => {
    const { slack, fake } = await start();
    fake.failNext('chat.postMessage', 1, 'is_archived');
    await expect(slack.auth.test()).resolves.toMatchObject({ ok: true });
    expect(await platformError(slack.chat.postMessage({ channel: 'C0ALERTS', text: 'x' }))).toEqual(
      expect.objectContaining({ ok: false, error: 'is_archived' }),
    );
  });

  it('hangs until the client gives up, and close() still returns', async () => {
    const { fake } = await start();
    fake.failNext('chat.postMessage', 1, 'hang');
    const impatient = client(fake, fake.token, { timeout: 200 });
    await expect(rejection(impatient.chat.postMessage({ channel: 'C0ALERTS', text: 'x' }))).resolves.toBeInstanceOf(WebAPIRequestError);
    expect(fake.calls[0]).toMatchObject({ status: null, injected: true });

    fake.failNext('auth.test', 1, 'hang');
    const pending = fetch(`${fake.url}auth.test`, { method: 'POST', headers: { authorization: `Bearer ${fake.token}` } });
    await waitFor(() => fake.calls.length === 2);
    await fake.close();
    await expect(pending).rejects.toThrow();
  });
});

describe('fake Slack: metadata, history and per-channel faults', () => {
  const marker = { event_type: 'lookout_alert_group', event_payload: { group: 'abc', episode: 7 } };

  it('stores metadata on a post and returns it from conversations.history only with include_all_metadata', async () => {
    const { slack } = await start();
    const { ts } = await slack.chat.postMessage({ channel: 'C0ALERTS', text: 'x', metadata: marker });
    const plain = await slack.conversations.history({ channel: 'C0ALERTS' });
    expect(plain.messages?.[0]).toMatchObject({ ts });
    expect(plain.messages?.[0]?.metadata).toBeUndefined();
    const full = await slack.conversations.history({ channel: 'C0ALERTS', include_all_metadata: true });
    expect(full.messages?.[0]?.metadata).toEqual(marker);
  });

  it('refuses malformed metadata with invalid_metadata_format', async () => {
    const { slack } = await start();
    const bad = { event_type: '', event_payload: {} };
    expect(await platformError(slack.chat.postMessage({ channel: 'C0ALERTS', text: 'x', metadata: bad }))).toMatchObject({ error: 'invalid_metadata_format' });
  });

  it('lists history newest first within oldest/latest, paginated by cursor, top-level only', async () => {
    const clock = manualClock();
    const { slack, fake } = await start({ now: clock.now, minIntervalMs: 0 });
    const posted: string[] = [];
    for (let i = 0; i < 5; i++) {
      posted.push((await slack.chat.postMessage({ channel: 'C0ALERTS', text: `m${i}` })).ts!);
      clock.advance(1000);
    }
    fake.postAsUser('C0ALERTS', 'U1', 'reply', posted[0]);
    const first = await slack.conversations.history({ channel: 'C0ALERTS', oldest: posted[0]!, limit: 2 });
    expect(first.messages?.map((m) => m.text)).toEqual(['m4', 'm3']);
    expect(first.has_more).toBe(true);
    const second = await slack.conversations.history({ channel: 'C0ALERTS', oldest: posted[0]!, limit: 2, cursor: first.response_metadata!.next_cursor! });
    expect(second.messages?.map((m) => m.text)).toEqual(['m2', 'm1']);
    expect(second.has_more).toBe(false);
    expect(second.response_metadata?.next_cursor).toBeUndefined();
    const windowed = await slack.conversations.history({ channel: 'C0ALERTS', oldest: posted[1]!, latest: posted[3]!, inclusive: true });
    expect(windowed.messages?.map((m) => m.text)).toEqual(['m3', 'm2', 'm1']);
  });

  it('answers conversations.replies with the parent first, then replies with their metadata', async () => {
    const { slack } = await start({ minIntervalMs: 0 });
    const { ts } = await slack.chat.postMessage({ channel: 'C0ALERTS', text: 'parent' });
    await slack.chat.postMessage({ channel: 'C0ALERTS', text: 'detail', thread_ts: ts!, metadata: marker });
    const thread = await slack.conversations.replies({ channel: 'C0ALERTS', ts: ts!, include_all_metadata: true });
    expect(thread.messages?.map((m) => [m.text, m.metadata?.event_type])).toEqual([
      ['parent', undefined],
      ['detail', 'lookout_alert_group'],
    ]);
    expect(await platformError(slack.conversations.replies({ channel: 'C0ALERTS', ts: '1.000001' }))).toMatchObject({ error: 'thread_not_found' });
  });

  it('limits history reads per minute for the workspace (Tier 3)', async () => {
    const clock = manualClock();
    const { slack } = await start({ now: clock.now, historyPerMinute: 2 });
    await slack.conversations.history({ channel: 'C0ALERTS' });
    await slack.conversations.history({ channel: 'C0ALERTS' });
    const error = await rejection(slack.conversations.history({ channel: 'C0ALERTS' }));
    expect(error).toBeInstanceOf(WebAPIRateLimitedError);
    clock.advance(60_000);
    await expect(slack.conversations.history({ channel: 'C0ALERTS' })).resolves.toMatchObject({ ok: true });
  });

  it('answers not_in_channel for an uninvited channel until invite(), and is_archived after archive()', async () => {
    const { slack, fake } = await start({ uninvitedChannels: ['C0SECRET'] });
    expect(await platformError(slack.chat.postMessage({ channel: 'C0SECRET', text: 'x' }))).toMatchObject({ error: 'not_in_channel' });
    expect(await platformError(slack.conversations.history({ channel: 'C0SECRET' }))).toMatchObject({ error: 'not_in_channel' });
    fake.invite('C0SECRET');
    await expect(slack.chat.postMessage({ channel: 'C0SECRET', text: 'x' })).resolves.toMatchObject({ ok: true });
    fake.archive('C0SECRET');
    expect(await platformError(slack.chat.postMessage({ channel: 'C0SECRET', text: 'y' }))).toMatchObject({ error: 'is_archived' });
  });

  it('applies an ok:false fault to one channel only, for its time window', async () => {
    const clock = manualClock();
    const { slack, fake } = await start({ now: clock.now });
    fake.fault({ mode: 'error', error: 'channel_not_found', channel: 'C0ALERTS', method: 'chat.postMessage', forMs: 5000 });
    expect(await platformError(slack.chat.postMessage({ channel: 'C0ALERTS', text: 'x' }))).toMatchObject({ error: 'channel_not_found' });
    await expect(slack.chat.postMessage({ channel: 'C0AUDIT', text: 'x' })).resolves.toMatchObject({ ok: true });
    clock.advance(5000);
    await expect(slack.chat.postMessage({ channel: 'C0ALERTS', text: 'x' })).resolves.toMatchObject({ ok: true });
  });

  it('refuses the token everywhere while an invalid_auth fault lasts (a rotated token), then accepts it again', async () => {
    const { slack, fake } = await start();
    const lift = fake.fault({ mode: 'error', error: 'invalid_auth' });
    expect(await platformError(slack.auth.test())).toMatchObject({ error: 'invalid_auth' });
    expect(await platformError(slack.chat.postMessage({ channel: 'C0ALERTS', text: 'x' }))).toMatchObject({ error: 'invalid_auth' });
    lift();
    await expect(slack.auth.test()).resolves.toMatchObject({ ok: true });
  });

  it('answers 500 and 429 for one channel as faults', async () => {
    const { slack, fake } = await start();
    fake.fault({ mode: 'http500', channel: 'C0ALERTS' });
    fake.fault({ mode: 'ratelimited', channel: 'C0AUDIT', retryAfterSeconds: 7 });
    expect(await rejection(slack.chat.postMessage({ channel: 'C0ALERTS', text: 'x' }))).toBeInstanceOf(WebAPIHTTPError);
    const limited = await rejection(slack.chat.postMessage({ channel: 'C0AUDIT', text: 'x' }));
    expect((limited as WebAPIRateLimitedError).retryAfter).toBe(7);
    expect(fake.messages('C0ALERTS')).toHaveLength(0);
  });

  it('slow accept: the post is in history at once, the answer comes after the client gave up', async () => {
    const { fake } = await start();
    fake.fault({ mode: 'slowAccept', channel: 'C0ALERTS', delayMs: 500 });
    const impatient = client(fake, fake.token, { timeout: 100 });
    await expect(rejection(impatient.chat.postMessage({ channel: 'C0ALERTS', text: 'x', metadata: marker }))).resolves.toBeInstanceOf(WebAPIRequestError);
    expect(fake.messages('C0ALERTS').map((m) => m.metadata)).toEqual([marker]);
  });

  it('slow: the post is stored only when it is answered; hang: never', async () => {
    const { fake, slack } = await start({ minIntervalMs: 0 });
    fake.fault({ mode: 'slow', channel: 'C0ALERTS', delayMs: 300 });
    const slow = slack.chat.postMessage({ channel: 'C0ALERTS', text: 'x' });
    await waitFor(() => fake.calls.length === 1);
    expect(fake.messages('C0ALERTS')).toHaveLength(0);
    await expect(slow).resolves.toMatchObject({ ok: true });
    expect(fake.messages('C0ALERTS')).toHaveLength(1);

    fake.fault({ mode: 'hang', channel: 'C0AUDIT' });
    const impatient = client(fake, fake.token, { timeout: 100 });
    await expect(rejection(impatient.chat.postMessage({ channel: 'C0AUDIT', text: 'x' }))).resolves.toBeInstanceOf(WebAPIRequestError);
    expect(fake.messages('C0AUDIT')).toHaveLength(0);
  });
});

describe('fake Slack: users, user groups, views, response URLs', () => {
  it('answers users.info with configured users, including email, deleted and bot flags', async () => {
    const { slack } = await start({
      users: [
        { id: 'U024BE7LH', name: 'alice', email: 'alice@example.com' },
        { id: 'U0GONE', name: 'bob', deleted: true },
        { id: 'U0ROBOT', name: 'ci', isBot: true },
      ],
    });
    expect(await slack.users.info({ user: 'U024BE7LH' })).toMatchObject({
      ok: true,
      user: { id: 'U024BE7LH', name: 'alice', deleted: false, is_bot: false, profile: { email: 'alice@example.com' } },
    });
    expect((await slack.users.info({ user: 'U0GONE' })).user).toMatchObject({ deleted: true });
    const robot = (await slack.users.info({ user: 'U0ROBOT' })).user;
    expect(robot).toMatchObject({ is_bot: true });
    expect(robot?.profile).not.toHaveProperty('email');
    expect(await platformError(slack.users.info({ user: 'U0NOBODY' }))).toMatchObject({ error: 'user_not_found' });
  });

  it('lists user group members and answers no_such_subteam otherwise', async () => {
    const { slack } = await start({ usergroups: { S0614TZR7: ['U024BE7LH', 'W0CAROL'] } });
    expect(await slack.usergroups.users.list({ usergroup: 'S0614TZR7' })).toMatchObject({ ok: true, users: ['U024BE7LH', 'W0CAROL'] });
    expect(await platformError(slack.usergroups.users.list({ usergroup: 'S0NONE' }))).toMatchObject({ error: 'no_such_subteam' });
  });

  it('opens a view once per trigger and refuses unknown, reused, expired and malformed triggers', async () => {
    const clock = manualClock();
    const { fake, slack } = await start({ now: clock.now, triggerIds: ['1.2.abc'] });
    const view = { type: 'modal' as const, title: { type: 'plain_text' as const, text: 'Scale web' }, blocks: [section('Replicas?')] };
    expect(await slack.views.open({ trigger_id: '1.2.abc', view })).toMatchObject({ ok: true, view: { type: 'modal' } });
    expect(fake.views()).toEqual([view]);
    expect(await platformError(slack.views.open({ trigger_id: '1.2.abc', view }))).toMatchObject({ error: 'exchanged_trigger_id' });
    expect(await platformError(slack.views.open({ trigger_id: '9.9.def', view }))).toMatchObject({ error: 'expired_trigger_id' });
    expect(await platformError(slack.views.open({ trigger_id: 'not-a-trigger', view }))).toMatchObject({ error: 'invalid_trigger_id' });

    const fresh = fake.issueTriggerId();
    clock.advance(3001);
    expect(await platformError(slack.views.open({ trigger_id: fresh, view }))).toMatchObject({ error: 'expired_trigger_id' });
    const tooLong = { ...view, title: { type: 'plain_text' as const, text: 't'.repeat(25) } };
    expect(await platformError(slack.views.open({ trigger_id: fake.issueTriggerId(), view: tooLong }))).toMatchObject({
      error: 'invalid_blocks',
    });
    expect(fake.views()).toHaveLength(1);
  });

  it('records posts to a loopback response_url', async () => {
    const { fake } = await start();
    const url = fake.responseUrl();
    expect(url.startsWith('http://127.0.0.1:')).toBe(true);
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'done' }) });
    expect(response.status).toBe(200);
    expect(fake.responseUrlPosts).toEqual([expect.objectContaining({ id: url.split('/').at(-1), body: { text: 'done' } })]);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
