import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startAlertmanager, type AlertmanagerProcess, type PostableAlert } from '../support/alertmanager-process.ts';
import type { FakeSlack } from '../support/fake-slack.ts';
import { freePort, waitFor } from '../support/free-port.ts';
import { startLookout, type LookoutProcess } from '../support/lookout-process.ts';
import { startLookoutTestBed, type LookoutTestBed } from '../support/lookout-test-bed.ts';

const WEBHOOK_TOKEN = 'integration-webhook-token-0123';
const CHANNEL = 'C0ALERTS';

/**
 * The whole alert path with a real Alertmanager (Debian's prometheus-alertmanager), Lookout as
 * a real process, and the fake Slack enforcing Slack's rate limits.
 */
describe('Alertmanager → Lookout → Slack', () => {
  let bed: LookoutTestBed;
  let slack: FakeSlack;
  let alertmanager: AlertmanagerProcess;
  let lookout: LookoutProcess | undefined;
  let env: Record<string, string>;
  let port: number;

  beforeEach(async () => {
    bed = await startLookoutTestBed({ webhookToken: WEBHOOK_TOKEN, channel: CHANNEL });
    ({ slack, env } = bed);
    port = await freePort();
    alertmanager = await startAlertmanager({ webhookUrl: `http://127.0.0.1:${port}/alertmanager`, webhookToken: WEBHOOK_TOKEN });
  });

  afterEach(async () => {
    await lookout?.stop();
    lookout = undefined;
    await alertmanager.stop();
    await bed.close();
  });

  const alert = (alertname: string, pod: string, resolved = false): PostableAlert => ({
    labels: { alertname, namespace: 'shop', pod, severity: 'critical' },
    annotations: { summary: `${alertname} on ${pod}` },
    startsAt: new Date(Date.now() - 60_000).toISOString(),
    ...(resolved ? { endsAt: new Date(Date.now() - 1000).toISOString() } : {}),
  });

  const topLevel = () => slack.messages(CHANNEL);

  it('posts one message per group, and edits it in place when the alerts resolve', async () => {
    lookout = await startLookout(env, port);
    const firing = [alert('PodCrashLooping', 'api-1'), alert('PodCrashLooping', 'api-2'), alert('DiskFull', 'db-0')];
    await alertmanager.postAlerts(firing);

    await waitFor('two group messages', () => (topLevel().length === 2 ? true : undefined));
    // Alertmanager flushes a new group at once when its alerts started more than group_wait ago,
    // so api-2 may come in a second notification (group_interval later): the message is edited.
    const crash = await waitFor('the PodCrashLooping message to list both pods', () => {
      const message = topLevel().find((candidate) => candidate.text.includes('PodCrashLooping'));
      const blocks = JSON.stringify(message?.blocks ?? []);
      return blocks.includes('api-1') && blocks.includes('api-2') ? message : undefined;
    });
    expect(crash.text).toMatch(/FIRING/);
    expect(topLevel()).toHaveLength(2);

    // Resolve one crash-looping pod: same message edited, one thread reply saying so.
    await alertmanager.postAlerts([alert('PodCrashLooping', 'api-1', true)]);
    // Not just any reply: api-2 may have joined in a second notification, which got its own reply.
    const repliesSaying = (pattern: RegExp) => slack.replies(CHANNEL, crash.ts).filter((reply) => pattern.test(reply.text));
    await waitFor('a thread reply about the resolved pod', () => (repliesSaying(/✅ 1 resolved/).length >= 1 ? true : undefined));
    // Then the rest.
    await alertmanager.postAlerts([alert('PodCrashLooping', 'api-2', true), alert('DiskFull', 'db-0', true)]);
    await waitFor('both messages to show RESOLVED', () =>
      topLevel().every((message) => /RESOLVED/.test(message.text)) && topLevel().length === 2 ? true : undefined,
    );

    // The edit and the reply are paced separately, so the reply may land after the edit.
    await waitFor('the "all resolved" thread reply', () => (repliesSaying(/All alerts resolved/).length === 1 ? true : undefined));
    expect(topLevel()).toHaveLength(2);
    const crashNow = topLevel().find((message) => message.ts === crash.ts)!;
    expect(crashNow.history.length).toBeGreaterThanOrEqual(2);
    const replies = slack.replies(CHANNEL, crash.ts).map((reply) => reply.text);
    expect(replies.some((text) => /resolved/i.test(text))).toBe(true);
    // No reply repeats another: Alertmanager's re-sends of an unchanged group add nothing.
    expect(new Set(replies).size).toBe(replies.length);
    expect(slack.calls.filter((call) => call.status === 429)).toEqual([]);
  });

  it('a Lookout killed mid-stream and restarted loses nothing and duplicates nothing', async () => {
    lookout = await startLookout(env, port);
    await alertmanager.postAlerts([alert('First', 'a-1')]);
    await waitFor('the first message', () => (topLevel().length === 1 ? true : undefined));

    await lookout.kill();
    lookout = undefined;
    // Alertmanager keeps retrying these while Lookout is down.
    await alertmanager.postAlerts([alert('Second', 'b-1'), alert('Third', 'c-1'), alert('First', 'a-2')]);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    lookout = await startLookout(env, port);

    await waitFor('three group messages', () => {
      const texts = topLevel().map((message) => message.text);
      return texts.length === 3 && texts.some((text) => text.includes('Third')) ? true : undefined;
    }, 40_000);
    const first = topLevel().find((message) => message.text.includes('First'))!;
    await waitFor('the First group message to be edited to show both pods', () =>
      JSON.stringify(topLevel().find((message) => message.ts === first.ts)?.blocks).includes('a-2') ? true : undefined,
    );
    // Let repeats and retries land; nothing new may appear.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(topLevel()).toHaveLength(3);
    expect(new Set(topLevel().map((message) => message.text.split('\n')[0])).size).toBe(3);
  });

  it('a notification answered 2xx survives a SIGKILL right after the answer', async () => {
    lookout = await startLookout(env, port);
    // Slack never answers the first post, so nothing can be delivered before the kill.
    slack.failNext('chat.postMessage', 1, 'hang');
    const body = JSON.stringify({
      version: '4',
      groupKey: '{}:{alertname="Durable"}',
      status: 'firing',
      receiver: 'lookout',
      groupLabels: { alertname: 'Durable' },
      commonLabels: { alertname: 'Durable' },
      commonAnnotations: {},
      externalURL: alertmanager.url,
      alerts: [{ status: 'firing', labels: { alertname: 'Durable' }, annotations: {}, startsAt: new Date().toISOString(), endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: 'd1' }],
    });
    const res = await fetch(`${lookout.url}/alertmanager`, { method: 'POST', headers: { authorization: `Bearer ${WEBHOOK_TOKEN}` }, body });
    expect(res.status).toBe(200);
    await lookout.kill();
    expect(topLevel()).toHaveLength(0);

    lookout = await startLookout(env, port);
    await waitFor('the durable alert to be posted after the restart', () => (topLevel().length === 1 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(topLevel().map((message) => message.text)).toEqual([expect.stringContaining('Durable')]);
  });
});
