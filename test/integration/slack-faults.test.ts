import { afterEach, describe, expect, it } from 'vitest';
import type { FakeSlackOptions } from '../support/fake-slack.ts';
import { countOutcome, sendChanges, sendStorm, stormRoutes, waitForOutcome, type StormOutcome, type StormSpec } from '../support/fault-storm.ts';
import { waitFor } from '../support/free-port.ts';
import { startLookout, type LookoutProcess } from '../support/lookout-process.ts';
import { startLookoutTestBed, type LookoutTestBed } from '../support/lookout-test-bed.ts';

/*
 * Issue 9, the Slack side: Lookout (a child process, as `npm start` runs it) under a storm of 200
 * alert groups over 20 channels while the fake Slack misbehaves on one channel or everywhere.
 * For every fault: nothing lost, nothing duplicated, every message showing its final state, and
 * channels the fault does not touch get their first posts as fast as without it.
 */

const DEFAULT_CHANNEL = 'C0ALERTS';
const CHANNELS = Array.from({ length: 20 }, (_, i) => `C0FAULT${String(i).padStart(2, '0')}`);
const SPEC: StormSpec = { groups: 200, channels: CHANNELS, changed: 20 };
/** Generous: 10 groups a channel take 10 s at 1/s; what is asserted is "not held by another channel", not speed. */
const EXCESS_LIMIT_MS = 5000;
const ZERO = { lost: 0, duplicated: 0, wrongFinal: 0, awayFromChannel: 0 };

let bed: LookoutTestBed | undefined;
let lookout: LookoutProcess | undefined;

afterEach(async () => {
  await lookout?.stop();
  await bed?.close();
  lookout = undefined;
  bed = undefined;
});

async function start(slack: FakeSlackOptions = {}, config: Record<string, unknown> = {}): Promise<{ bed: LookoutTestBed; lookout: LookoutProcess }> {
  bed = await startLookoutTestBed({
    slack: { channels: [DEFAULT_CHANNEL, ...CHANNELS], ...slack },
    channel: DEFAULT_CHANNEL,
    config: {
      routes: stormRoutes(CHANNELS),
      // Quicker than the defaults (60 s), so a test sees a channel retried and the token probed again.
      outbox: { channelRetryMs: 3000, authProbeMaxMs: 2000 },
      ...config,
    },
  });
  lookout = await startLookout(bed.env);
  return { bed, lookout };
}

/** The storm, its changes once the first posts are out, and the outcome. */
async function storm(affected: readonly string[], duringStorm: () => Promise<void> = async () => undefined): Promise<StormOutcome> {
  const sentAt = await sendStorm(lookout!.url, bed!.webhookToken, SPEC);
  await duringStorm();
  // The changes arrive once their groups are posted (or given time), so each is an edit or a reply.
  await waitFor('the changed groups posted', () => (countOutcome(bed!.slack, { ...SPEC, groups: SPEC.changed, changed: 0 }, sentAt, affected, DEFAULT_CHANNEL).lost === 0 ? true : undefined), 60_000, 250).catch(() => undefined);
  await sendChanges(lookout!.url, bed!.webhookToken, SPEC);
  return waitForOutcome(bed!.slack, SPEC, sentAt, affected, DEFAULT_CHANNEL, 90_000);
}

function expectClean(outcome: StormOutcome): void {
  expect({ lost: outcome.lost, duplicated: outcome.duplicated, wrongFinal: outcome.wrongFinal, awayFromChannel: outcome.awayFromChannel }, lookout?.output().slice(-4000)).toEqual(ZERO);
  expect(outcome.unaffectedFirstPostExcessMs).toBeLessThan(EXCESS_LIMIT_MS);
}

describe('Slack faults under a storm of 200 groups over 20 channels', () => {
  it('one channel hanging holds no other channel, and its own groups are posted once', async () => {
    await start();
    bed!.slack.fault({ mode: 'hang', channel: CHANNELS[0]!, method: 'chat.postMessage', forMs: 15_000 });
    expectClean(await storm([CHANNELS[0]!]));
  }, 180_000);

  it('one channel answering slowly (5 s) holds no other channel', async () => {
    await start();
    bed!.slack.fault({ mode: 'slow', channel: CHANNELS[0]!, delayMs: 5000, forMs: 20_000 });
    expectClean(await storm([CHANNELS[0]!]));
  }, 180_000);

  it('posts Slack accepts but answers after the client timeout are found and adopted, not posted twice', async () => {
    await start();
    // Slack stores each post at once and answers in 11 s, past the client's 10 s timeout.
    bed!.slack.fault({ mode: 'slowAccept', channel: CHANNELS[1]!, method: 'chat.postMessage', delayMs: 11_000, forMs: 25_000 });
    expectClean(await storm([CHANNELS[1]!]));
    expect(bed!.slack.callsTo('conversations.history').length).toBeGreaterThan(0);
  }, 180_000);

  it('a refused token (invalid_auth for 20 s) pauses deliveries, flips /readyz, and loses nothing', async () => {
    await start();
    bed!.slack.fault({ mode: 'error', error: 'invalid_auth', forMs: 20_000 });
    let notReady = '';
    let paused = 0;
    const outcome = await storm([], async () => {
      await waitFor('/readyz to say deliveries are paused', async () => {
        const res = await fetch(`${lookout!.url}/readyz`);
        const body = await res.text();
        return res.status === 503 && body.includes('invalid_auth') ? body : undefined;
      }).then((body) => (notReady = body));
      const metrics = await (await fetch(`${lookout!.url}/metrics`)).text();
      paused = Number(/^lookout_slack_deliveries_paused\{reason="invalid_auth"\} (\d+)$/m.exec(metrics)?.[1] ?? 0);
    });
    expect(notReady).toMatch(/deliveries paused since .*invalid_auth/);
    expect(paused).toBe(1);
    // The first posts had to wait out the 20 s; so this asserts what matters: nothing lost or doubled.
    expect({ lost: outcome.lost, duplicated: outcome.duplicated, wrongFinal: outcome.wrongFinal }, lookout!.output().slice(-4000)).toEqual({ lost: 0, duplicated: 0, wrongFinal: 0 });
    expect((await fetch(`${lookout!.url}/readyz`)).status).toBe(200);
    expect(lookout!.output()).toMatch(/"level":"error".*Slack refused the bot token/);
  }, 180_000);

  it('channels Lookout is not in (not_in_channel, channel_not_found) get their alerts in the default channel, then their own once invited', async () => {
    const [uninvited, missing] = [CHANNELS[2]!, CHANNELS[3]!];
    await start({ channels: [DEFAULT_CHANNEL, ...CHANNELS.filter((c) => c !== missing)], uninvitedChannels: [uninvited] });
    const outcome = await storm([uninvited, missing], async () => {
      // Meanwhile in the default channel, each with the line saying where to invite Lookout.
      await waitFor('the uninvited channels\' alerts in the default channel', () => {
        const lines = bed!.slack.messages(DEFAULT_CHANNEL).map((m) => m.text);
        const meantFor = (channel: string) => lines.filter((text) => text.includes(`meant for <#${channel}>`)).length;
        return meantFor(uninvited) >= 10 && meantFor(missing) >= 10 ? true : undefined;
      }, 60_000, 250);
      expect(bed!.slack.messages(DEFAULT_CHANNEL)[0]!.text).toMatch(/\/invite @Lookout/);
      bed!.slack.invite(uninvited);
      bed!.slack.addChannel(missing);
    });
    expectClean(outcome);
    const copies = bed!.slack.messages(DEFAULT_CHANNEL);
    expect(copies).toHaveLength(20);
    expect(copies.every((m) => m.text.includes('continues there'))).toBe(true);
  }, 180_000);

  it('HTTP 500 on one channel and 429 on another for a while: nothing lost or doubled, others unaffected', async () => {
    await start();
    bed!.slack.fault({ mode: 'http500', channel: CHANNELS[4]!, forMs: 8000 });
    bed!.slack.fault({ mode: 'ratelimited', channel: CHANNELS[5]!, retryAfterSeconds: 3, forMs: 8000 });
    expectClean(await storm([CHANNELS[4]!, CHANNELS[5]!]));
  }, 180_000);
});

describe('SIGTERM', () => {
  it('drains: what was accepted before the signal is delivered before the process exits', async () => {
    await start({}, { shutdown: { drainTimeoutMs: 20_000 } });
    const spec: StormSpec = { groups: 30, channels: CHANNELS.slice(0, 3), changed: 0 };
    const sentAt = await sendStorm(lookout!.url, bed!.webhookToken, spec);
    const signalled = Date.now();
    const code = await lookout!.stop();
    const tookMs = Date.now() - signalled;
    const outcome = countOutcome(bed!.slack, spec, sentAt, [], DEFAULT_CHANNEL);
    expect({ code, lost: outcome.lost, duplicated: outcome.duplicated }, lookout!.output().slice(-3000)).toEqual({ code: 0, lost: 0, duplicated: 0 });
    // 10 groups a channel at 1/s: about 10 s, well inside the drain timeout.
    expect(tookMs).toBeLessThan(20_000);
  }, 60_000);

  it('stops within the drain timeout when Slack hangs', async () => {
    await start({}, { shutdown: { drainTimeoutMs: 3000 } });
    bed!.slack.fault({ mode: 'hang' });
    await sendStorm(lookout!.url, bed!.webhookToken, { groups: 5, channels: CHANNELS.slice(0, 5), changed: 0 });
    await waitFor('a call in flight', () => (bed!.slack.callsTo('chat.postMessage').length > 0 ? true : undefined));
    const signalled = Date.now();
    expect(await lookout!.stop()).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(3000 + 3000);
  }, 60_000);
});
