import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSlackRequestGuard } from '../../../src/slack/slack-request-guard.ts';
import { ManualClock, recordingLogger } from '../../helpers/fakes.ts';
import { interactivityBody, signSlackRequest, slashCommandBody, SLACK_FORM_CONTENT_TYPE } from '../../support/sign-slack-request.ts';

const SECRET = 'guard-test-signing-secret';

/**
 * The guard in front of Bolt, on a loopback server: what it lets through reaches Bolt with the
 * exact bytes it verified (`rawBody`); slash commands and interactivity payloads share the
 * endpoint, so both get the same checks.
 */
describe('createSlackRequestGuard', () => {
  let server: Server;
  let url: string;
  let clock: ManualClock;
  let passed: string[];

  beforeEach(async () => {
    clock = new ManualClock();
    passed = [];
    const guard = createSlackRequestGuard({ signingSecret: SECRET, log: recordingLogger().log, now: clock.now, maxBodyBytes: 4096 });
    server = createServer((req, res) => {
      void guard(req, res).then((allowed) => {
        if (!allowed) return;
        passed.push((req as typeof req & { rawBody: Buffer }).rawBody.toString('utf8'));
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
  });
  afterEach(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const post = (body: string, headers: Record<string, string>) =>
    fetch(url, { method: 'POST', headers: { 'content-type': SLACK_FORM_CONTENT_TYPE, ...headers }, body }).then((res) => res.status);
  const signed = (body: string, atSeconds = clock.now() / 1000) => signSlackRequest(SECRET, body, atSeconds);

  const click = interactivityBody({ type: 'block_actions', user: { id: 'U0ALICE' }, actions: [{ action_id: 'ack', value: 'g1:abc' }] });

  it.each([
    ['a slash command', slashCommandBody({ text: 'whoami' })],
    ['a button click', click],
  ])('passes %s signed by Slack on to Bolt with the verified bytes', async (_what, body) => {
    expect(await post(body, { ...signed(body) })).toBe(200);
    expect(passed).toEqual([body]);
  });

  it('refuses an unsigned click, a click signed with another secret, and a click whose body was changed', async () => {
    expect(await post(click, {})).toBe(401);
    expect(await post(click, { ...signSlackRequest('another-secret', click, clock.now() / 1000) })).toBe(401);
    const forged = click.replace('g1%3Aabc', 'g1%3Aother');
    expect(forged).not.toBe(click);
    expect(await post(forged, { ...signed(click) })).toBe(401);
    expect(passed).toEqual([]);
  });

  it('refuses a replayed click, and stale or future timestamps', async () => {
    const headers = { ...signed(click) };
    expect(await post(click, headers)).toBe(200);
    expect(await post(click, headers)).toBe(401);
    expect(await post(click, { ...signed(click, clock.now() / 1000 - 301) })).toBe(401);
    expect(await post(click, { ...signed(click, clock.now() / 1000 + 301) })).toBe(401);
    expect(passed).toHaveLength(1);
  });

  it('answers 413 to a body over the limit without verifying it', async () => {
    const big = `payload=${'x'.repeat(5000)}`;
    expect(await post(big, { ...signed(big) })).toBe(413);
  });
});
