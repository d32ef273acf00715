import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlertmanagerClient } from '../../src/integrations/alertmanager.ts';
import { startAlertmanager, type AlertmanagerProcess } from '../support/alertmanager-process.ts';
import type { FakeSlack } from '../support/fake-slack.ts';
import { freePort, waitFor } from '../support/free-port.ts';
import { startLookout, type LookoutProcess } from '../support/lookout-process.ts';
import { startLookoutTestBed, type LookoutTestBed } from '../support/lookout-test-bed.ts';

const WEBHOOK_TOKEN = 'reconcile-webhook-token-0123';
const CHANNEL = 'C0ALERTS';
const RECONCILED = /Lookout marked this resolved: Alertmanager no longer has an active alert/;

/*
 * Reconciliation with Alertmanager (src/alertmanager-reconciler.ts): Lookout as `npm start` runs
 * it, a real Alertmanager (Debian's) that delivers its groups to Lookout and answers
 * GET /api/v2/alerts/groups, and the fake Slack. Reconciliation every second with a 1s grace,
 * so a test waits seconds, not minutes.
 */
describe('reconciliation with the real Alertmanager', () => {
  let bed: LookoutTestBed;
  let slack: FakeSlack;
  let alertmanager: AlertmanagerProcess;
  let lookout: LookoutProcess | undefined;
  let port: number;

  beforeEach(async () => {
    port = await freePort();
    alertmanager = await startAlertmanager({ webhookUrl: `http://127.0.0.1:${port}/alertmanager`, webhookToken: WEBHOOK_TOKEN });
  });

  afterEach(async () => {
    await lookout?.stop();
    lookout = undefined;
    await alertmanager.stop();
    await bed.close();
  });

  async function startWith(alertmanagerUrl: string): Promise<LookoutProcess> {
    bed = await startLookoutTestBed({
      webhookToken: WEBHOOK_TOKEN,
      channel: CHANNEL,
      config: { reconcile: { interval: '1s', grace: '1s' } },
      extraEnv: { ALERTMANAGER_URL: alertmanagerUrl },
    });
    slack = bed.slack;
    return startLookout(bed.env, port);
  }

  /** A webhook as Alertmanager sends it, straight to Lookout (for alerts Alertmanager never had). */
  async function notify(alertname: string, fingerprint: string, status: 'firing' | 'resolved', startsAt: string, endsAt = '0001-01-01T00:00:00Z'): Promise<void> {
    const labels = { alertname, namespace: 'shop' };
    const body = {
      version: '4',
      groupKey: `{}:{alertname="${alertname}"}`,
      status,
      receiver: 'lookout',
      groupLabels: { alertname },
      commonLabels: labels,
      commonAnnotations: {},
      externalURL: alertmanager.url,
      truncatedAlerts: 0,
      alerts: [{ status, labels, annotations: { summary: `${alertname} summary` }, startsAt, endsAt, generatorURL: '', fingerprint }],
    };
    const res = await fetch(`${lookout!.url}/alertmanager`, { method: 'POST', headers: { authorization: `Bearer ${WEBHOOK_TOKEN}` }, body: JSON.stringify(body) });
    expect(res.status).toBe(200);
  }

  async function metric(name: string, label: string): Promise<number> {
    const text = await (await fetch(`${lookout!.url}/metrics`)).text();
    const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{`) && candidate.includes(label));
    return line === undefined ? 0 : Number(line.split(' ').pop());
  }

  const topLevel = () => slack.messages(CHANNEL);
  const messageAbout = (alertname: string) => topLevel().find((message) => message.text.includes(alertname));

  it('resolves the stale-resolve case in place with one thread reply, and leaves a group Alertmanager still has alone', async () => {
    lookout = await startWith(alertmanager.url);
    // A group Alertmanager has and delivers itself: active throughout.
    await alertmanager.postAlerts([{ labels: { alertname: 'StillFiring', namespace: 'shop', severity: 'critical' }, startsAt: new Date(Date.now() - 60_000).toISOString() }]);
    // The stale-resolve case: firing since T1, then a resolve of an older occurrence (startsAt and
    // endsAt before T1), which the merge rightly does not apply to the newer one.
    const t1 = new Date(Date.now() - 10 * 60_000);
    await notify('LostResolve', 'f00dfeedcafe0001', 'firing', t1.toISOString());
    await waitFor('both messages', () => (messageAbout('StillFiring') && messageAbout('LostResolve') ? true : undefined));
    const lost = messageAbout('LostResolve')!;
    const kept = messageAbout('StillFiring')!;
    expect(lost.text).toMatch(/FIRING/);
    await notify('LostResolve', 'f00dfeedcafe0001', 'resolved', new Date(t1.getTime() - 3_600_000).toISOString(), new Date(t1.getTime() - 60_000).toISOString());

    await waitFor('the LostResolve message to be edited to RESOLVED', () => (/RESOLVED/.test(topLevel().find((message) => message.ts === lost.ts)?.text ?? '') ? true : undefined), 20_000);
    await waitFor('the reconciler’s thread reply', () => (slack.replies(CHANNEL, lost.ts).some((reply) => RECONCILED.test(reply.text)) ? true : undefined));
    expect(await metric('lookout_reconcile_repairs_total', 'kind="resolved"')).toBe(1);

    // Let several more passes run: nothing more happens to either group.
    const runsBefore = await metric('lookout_reconcile_runs_total', 'outcome="ok"');
    await waitFor('three more reconciliation passes', async () => ((await metric('lookout_reconcile_runs_total', 'outcome="ok"')) >= runsBefore + 3 ? true : undefined), 20_000);
    expect(slack.replies(CHANNEL, lost.ts).filter((reply) => RECONCILED.test(reply.text))).toHaveLength(1);
    expect(topLevel().map((message) => message.ts).sort()).toEqual([kept.ts, lost.ts].sort());
    const keptNow = topLevel().find((message) => message.ts === kept.ts)!;
    expect(keptNow.text).toMatch(/FIRING/);
    expect(slack.replies(CHANNEL, kept.ts).filter((reply) => RECONCILED.test(reply.text))).toEqual([]);
    expect(await metric('lookout_reconcile_repairs_total', 'kind="resolved"')).toBe(1);
    expect(slack.calls.filter((call) => call.status === 429)).toEqual([]);
  });

  it('shows a silence made in Alertmanager (amtool, its UI) on the group’s message, without echoing its author', async () => {
    lookout = await startWith(alertmanager.url);
    await alertmanager.postAlerts([{ labels: { alertname: 'Muted', namespace: 'shop' }, startsAt: new Date(Date.now() - 60_000).toISOString() }]);
    await waitFor('the Muted message', () => (messageAbout('Muted') ? true : undefined));
    const muted = messageAbout('Muted')!;
    const am = new AlertmanagerClient({ baseUrl: alertmanager.url, requestTimeoutMs: 5000 });
    const endsAt = new Date(Date.now() + 2 * 3_600_000);
    await am.createSilence({ matchers: [{ name: 'alertname', value: 'Muted', isRegex: false, isEqual: true }], startsAt: new Date(), endsAt, createdBy: '<!channel> via amtool', comment: 'maintenance' });

    const shown = await waitFor('the message to say it is silenced', () => {
      const now = topLevel().find((message) => message.ts === muted.ts);
      return JSON.stringify(now?.blocks ?? []).includes('Silenced in Alertmanager until') ? now : undefined;
    }, 20_000);
    expect(JSON.stringify(shown.blocks)).not.toContain('<!channel>');
    expect(shown.text).toMatch(/FIRING/);
    expect(topLevel()).toHaveLength(1);
    expect(await metric('lookout_reconcile_repairs_total', 'kind="silenced"')).toBe(1);
    expect(await metric('lookout_reconcile_repairs_total', 'kind="resolved"')).toBe(0);
  });

  it('repairs nothing while Alertmanager cannot be reached, and counts the failed passes', async () => {
    // Nothing listens on this port: every pass fails to read Alertmanager's groups.
    lookout = await startWith(`http://127.0.0.1:${await freePort()}`);
    await notify('Orphan', 'f00dfeedcafe0002', 'firing', new Date(Date.now() - 60_000).toISOString());
    await waitFor('the Orphan message', () => (messageAbout('Orphan') ? true : undefined));
    const orphan = messageAbout('Orphan')!;

    await waitFor('three failed passes', async () => ((await metric('lookout_reconcile_runs_total', 'outcome="alertmanager_error"')) >= 3 ? true : undefined), 20_000);
    expect(topLevel().find((message) => message.ts === orphan.ts)!.text).toMatch(/FIRING/);
    expect(slack.replies(CHANNEL, orphan.ts)).toEqual([]);
    expect(await metric('lookout_reconcile_repairs_total', 'kind="resolved"')).toBe(0);
    expect(await metric('lookout_reconcile_runs_total', 'outcome="ok"')).toBe(0);
  });
});
