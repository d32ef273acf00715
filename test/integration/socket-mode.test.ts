import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { reviewAccess } from '../../src/kube/access-review.ts';
import type { KubeHttp } from '../../src/kube/kube-http.ts';
import type { FakeSlack } from '../support/fake-slack.ts';
import { eventually, freshNamespace, roleBinding } from '../support/kube-test-helpers.ts';
import { waitFor } from '../support/free-port.ts';
import { startLookout, type LookoutProcess } from '../support/lookout-process.ts';
import { startLookoutTestBed, type LookoutTestBed } from '../support/lookout-test-bed.ts';
import { createOrReplace } from '../support/servers/kube-objects.ts';
import { kubeHttpFor } from '../support/servers/kubeconfigs.ts';
import { testServers } from '../support/servers/test-servers.ts';
import { signedSlackForm, slashCommandBody } from '../support/sign-slack-request.ts';
import { blockActionsPayload } from '../support/slack-interactions.ts';

/*
 * Socket Mode end to end: Lookout as `npm start` runs it with SLACK_BOT_TOKEN and SLACK_APP_TOKEN
 * only (no signing secret), the fake Slack's apps.connections.open and WebSocket (envelopes, acks,
 * retries after 3 s, disconnect), and the real kube-apiserver for the RBAC gate and the writes.
 *
 * What "delivered twice" means here: one Lookout process (two processes cannot share the SQLite
 * state file) and (a) an envelope the fake retries after 3 s on Lookout's connection because the
 * app's other connection, a plain WebSocket client of the test, never acknowledged it, (b) the
 * same envelope sent again after a reconnect, (c) the same click (action_ts + user) under a new
 * envelope_id. Each must run once: `lookout_slash_commands_total` and `lookout_button_actions_total` count runs.
 */

const ALICE = { id: 'U0ALICE', name: 'alice' };
const IDENTITIES = { prefix: 'slack:', users: [{ slack: ALICE.id, user: 'alice' }] };

describe('Socket Mode', () => {
  const servers = testServers();
  let namespace: string;
  let admin: KubeHttp;
  let bed: LookoutTestBed;
  let slack: FakeSlack;
  let lookout: LookoutProcess;

  beforeAll(async () => {
    admin = kubeHttpFor(servers.kube.kubeconfigs.admin);
    namespace = await freshNamespace(admin, 'socket');
    for (const [name, replicas] of [['web', 2], ['cart', 4]] as const) {
      await admin.request({
        method: 'POST',
        path: `/apis/apps/v1/namespaces/${namespace}/deployments`,
        body: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace }, spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image: `registry.example/${name}:1` }] } } } },
      });
    }
    await createOrReplace(admin, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'scaler', namespace }, rules: [{ apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['get', 'patch'] }] });
    await createOrReplace(admin, roleBinding(namespace, 'alice-scales', { kind: 'Role', name: 'scaler' }, { kind: 'User', name: 'slack:alice' }));
    await eventually('the RoleBinding to take effect', async () =>
      (await reviewAccess(admin, { username: 'slack:alice', groups: [] }, { verb: 'patch', group: 'apps', resource: 'deployments', subresource: 'scale', namespace, name: 'web' })).allowed,
    );
    bed = await startLookoutTestBed({
      socketMode: true,
      slack: { users: [ALICE] },
      config: { channel: 'C0ALERTS', identities: IDENTITIES, rollout: { timeout: '2s', pollInterval: '200ms' } },
      extraEnv: { KUBECONFIG: servers.kube.kubeconfigs.bot },
    });
    slack = bed.slack;
    expect(bed.env['SLACK_SIGNING_SECRET']).toBeUndefined();
    // Resolves once /readyz answers 200, which in Socket Mode needs the connection up.
    lookout = await startLookout(bed.env);
  });

  afterAll(async () => {
    await lookout?.stop();
    await bed?.close();
  });

  type Post = { text: string; blocks?: Array<{ type: string; elements?: Array<{ action_id: string; value: string }> }> };
  const postsTo = (url: string): Post[] => {
    const id = url.slice(url.lastIndexOf('/') + 1);
    return slack.responseUrlPosts.filter((post) => post.id === id).map((post) => post.body as Post);
  };
  let triggers = 0;
  /** A slash command's payload as Socket Mode carries it: the HTTP form's fields as a JSON object. */
  const slashPayload = (text: string, responseUrl: string) => {
    triggers += 1;
    const form = slashCommandBody({ user_id: ALICE.id, user_name: ALICE.name, text, response_url: responseUrl, trigger_id: `${2_000_000_000 + triggers}.1000000000.0123456789abcdef` });
    return Object.fromEntries(new URLSearchParams(form));
  };
  const metric = async (name: string, labels: string): Promise<number> => {
    const text = await (await fetch(`${lookout.url}/metrics`)).text();
    const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{${labels}}`));
    return line === undefined ? 0 : Number(line.split(' ').pop());
  };
  const lookoutConnection = (): number => {
    const [connection] = slack.socketMode.connections();
    if (connection === undefined) throw new Error('Lookout has no Socket Mode connection');
    return connection.id;
  };
  /** Sends `/ops <text>` over the socket; resolves with the ack's delay and the first reply. */
  async function ops(text: string): Promise<{ ackMs: number; reply: Post; url: string; envelopeId: string }> {
    const url = slack.responseUrl();
    const envelopeId = slack.socketMode.send('slash_commands', slashPayload(text, url), { connectionId: lookoutConnection() });
    const sentAt = Date.now();
    const ack = await slack.socketMode.ackOf(envelopeId);
    const reply = await waitFor(`the reply to "${text}"`, () => postsTo(url)[0]);
    return { ackMs: ack.at - sentAt, reply, url, envelopeId };
  }

  it('connects with the app token at SLACK_API_URL and answers /ops help with no signing secret', async () => {
    const [open] = slack.callsTo('apps.connections.open');
    expect(open).toMatchObject({ auth: 'header', status: 200 });
    expect(slack.socketMode.connections()).toHaveLength(1);
    const { ackMs, reply } = await ops('help');
    expect(ackMs).toBeLessThan(3000);
    expect(reply.text).toContain('/ops scale');
    // Lookout's own lines only: the app token and bot token never reach its log.
    expect(lookout.output()).not.toContain(slack.appToken);
    expect(lookout.output()).not.toContain(slack.token);
  });

  it('serves no /slack/events: a signed request there gets a 404 that says why, and runs nothing', async () => {
    const before = await metric('lookout_slash_commands_total', 'command="help",outcome="ok"');
    const signed = signedSlackForm('any-signing-secret-0123456789', slashCommandBody({ text: 'help' }), Math.floor(Date.now() / 1000));
    const res = await fetch(`${lookout.url}/slack/events`, { method: 'POST', headers: { ...signed.headers }, body: signed.body });
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('Socket Mode');
    expect(await metric('lookout_slash_commands_total', 'command="help",outcome="ok"')).toBe(before);
  });

  it('takes Alertmanager webhooks over HTTP on the same port and posts the alert', async () => {
    const body = readFileSync(new URL('../../docs/examples/alert.json', import.meta.url), 'utf8');
    const webhook = await fetch(`${lookout.url}/alertmanager`, { method: 'POST', headers: { authorization: `Bearer ${bed.webhookToken}`, 'content-type': 'application/json' }, body });
    expect(webhook.status).toBe(200);
    const posted = await waitFor('the alert in C0ALERTS', () => slack.messages('C0ALERTS').find((message) => message.text.includes('KubePodCrashLooping')));
    expect(posted.botId).toBeDefined();
  });

  it('scales as the person through the RBAC gate, once, when Slack retries the envelope on another connection and sends it again', async () => {
    const lookoutId = lookoutConnection();
    // The app's second connection: it takes the envelope and never acknowledges it.
    const open = (await (await fetch(`${slack.url}apps.connections.open`, { method: 'POST', headers: { authorization: `Bearer ${slack.appToken}` } })).json()) as { url: string };
    const silent = new WebSocket(open.url);
    const greeted = new Promise((resolve) => silent.once('message', resolve));
    await greeted;
    try {
      const silentId = slack.socketMode.connections().find((connection) => connection.id !== lookoutId)!.id;
      const url = slack.responseUrl();
      const envelopeId = slack.socketMode.send('slash_commands', slashPayload(`scale ${namespace}/web 3`, url), { connectionId: silentId });
      expect(slack.socketMode.deliveries.at(-1)).toMatchObject({ envelopeId, retryAttempt: 0, connectionId: silentId });
      // Slack's retry, 3 s later, reaches Lookout, which acknowledges it and acts.
      const ack = await slack.socketMode.ackOf(envelopeId, 8000);
      const retry = slack.socketMode.deliveries.filter((delivery) => delivery.envelopeId === envelopeId);
      expect(retry.map((delivery) => delivery.retryAttempt)).toEqual([0, 1]);
      expect(ack.connectionId).toBe(lookoutId);
      expect(ack.at - retry[1]!.at).toBeLessThan(3000);
      const reply = await waitFor('the scale reply', () => postsTo(url)[0]);
      expect(reply.text).toBe(`${namespace}/web: 2 → 3 replicas`);
      const deployment = await admin.request<{ spec: { replicas: number } }>({ method: 'GET', path: `/apis/apps/v1/namespaces/${namespace}/deployments/web` });
      expect(deployment.spec.replicas).toBe(3);

      // The same envelope again on Lookout's connection (a reconnect overlap): acknowledged, not run.
      const acksBefore = slack.socketMode.acks.filter((candidate) => candidate.envelopeId === envelopeId).length;
      slack.socketMode.redeliver(envelopeId, { connectionId: ack.connectionId });
      await waitFor('the duplicate acknowledged', () => (slack.socketMode.acks.filter((candidate) => candidate.envelopeId === envelopeId).length > acksBefore ? true : undefined));
      // Dropped, or run a second time: whichever shows first.
      const runs = () => metric('lookout_slash_commands_total', 'command="scale",outcome="ok"');
      await waitFor('the duplicate dropped or run', async () => ((await metric('lookout_slack_socket_deliveries_total', 'outcome="duplicate"')) >= 1 || (await runs()) > 1 ? true : undefined));
      expect(await runs()).toBe(1);
      expect(postsTo(url).filter((post) => post.text.startsWith(`${namespace}/web: `) && !post.text.startsWith(`${namespace}/web: 2 → 3`))).toEqual([]);
    } finally {
      silent.terminate();
    }
    await waitFor('the silent connection gone', () => (slack.socketMode.connections().length === 1 ? true : undefined));
  });

  it('a Confirm click through Socket Mode acts once, even when the same click comes again under a new envelope', async () => {
    const { reply } = await ops(`scale ${namespace}/cart 1`);
    const confirm = reply.blocks?.find((block) => block.type === 'actions')?.elements?.find((element) => element.action_id === 'command:confirm');
    expect(confirm, reply.text).toBeDefined();
    const url = slack.responseUrl();
    const click = blockActionsPayload({ user: ALICE, message: { channel: 'C0ALERTS', ts: '1700000200.000001', ephemeral: true }, button: { actionId: 'command:confirm', value: confirm!.value, label: 'Confirm' }, responseUrl: url });
    const first = slack.socketMode.send('interactive', click, { connectionId: lookoutConnection() });
    await slack.socketMode.ackOf(first);
    await waitFor('cart scaled to 1', async () => ((await admin.request<{ spec: { replicas: number } }>({ method: 'GET', path: `/apis/apps/v1/namespaces/${namespace}/deployments/cart` })).spec.replicas === 1 ? true : undefined));
    const second = slack.socketMode.send('interactive', click, { connectionId: lookoutConnection() });
    await slack.socketMode.ackOf(second);
    // A second run would answer "This confirmation has expired…": wait for that or for the drop.
    const rerun = () => postsTo(url).filter((post) => post.text.includes('expired'));
    await waitFor('the second click dropped or run', async () => ((await metric('lookout_slack_socket_deliveries_total', 'outcome="duplicate"')) >= 2 || rerun().length > 0 ? true : undefined));
    expect(rerun()).toEqual([]);
  });

  it('acknowledges Events API envelopes at once, and counts the same event_id under a new envelope as a duplicate', async () => {
    const before = await metric('lookout_slack_socket_deliveries_total', 'outcome="duplicate"');
    const event = { type: 'event_callback', team_id: 'T0LOOKOUT', api_app_id: 'A0LOOKOUT', event_id: 'Ev0SOCKET1', event_time: Math.floor(Date.now() / 1000), event: { type: 'app_home_opened', user: ALICE.id, channel: 'D0ALICE', tab: 'home' } };
    for (const _ of [1, 2]) {
      const envelopeId = slack.socketMode.send('events_api', event, { connectionId: lookoutConnection() });
      expect((await slack.socketMode.ackOf(envelopeId)).payload).toEqual({});
    }
    await waitFor('the second event counted as a duplicate', async () => ((await metric('lookout_slack_socket_deliveries_total', 'outcome="duplicate"')) === before + 1 ? true : undefined));
  });

  it('reconnects when Slack sends disconnect (refresh_requested), stays ready, and keeps answering', async () => {
    const opened = slack.socketMode.connectionsOpened;
    const old = lookoutConnection();
    let notReady = 0;
    const polling = (async () => {
      const until = Date.now() + 3000;
      while (Date.now() < until) {
        if ((await fetch(`${lookout.url}/readyz`)).status !== 200) notReady += 1;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    slack.socketMode.disconnect(old, 'refresh_requested', { closeAfterMs: 5000 });
    await waitFor('a new connection', () => (slack.socketMode.connectionsOpened > opened && slack.socketMode.connections().every((connection) => connection.id !== old) ? true : undefined), 8000);
    await polling;
    expect(notReady).toBe(0);
    expect((await ops('help')).reply.text).toContain('/ops scale');
  });

  it('reconnects when the socket drops without a close frame, and keeps answering', async () => {
    const opened = slack.socketMode.connectionsOpened;
    slack.socketMode.drop(lookoutConnection());
    await slack.socketMode.waitForConnections(1, 8000);
    expect(slack.socketMode.connectionsOpened).toBe(opened + 1);
    expect((await ops('whoami')).reply.text).toContain('slack:alice');
  });
});

describe('Socket Mode with a wrong app token', () => {
  it('keeps running, says why in /readyz, and never logs the token', async () => {
    const bed = await startLookoutTestBed({ socketMode: true });
    const wrong = 'xapp-1-A0LOOKOUT-2-revokedtokenvalue';
    const lookout = await startLookout({ ...bed.env, SLACK_APP_TOKEN: wrong }, undefined, { until: 'listening' });
    try {
      await waitFor('apps.connections.open refused', () => (bed.slack.callsTo('apps.connections.open').some((call) => (call.response as { error?: string }).error === 'invalid_auth') ? true : undefined));
      const ready = await waitFor('/readyz naming invalid_auth', async () => {
        const res = await fetch(`${lookout.url}/readyz`);
        const text = await res.text();
        return text.includes('invalid_auth') ? { status: res.status, text } : undefined;
      });
      expect(ready.status).toBe(503);
      expect(ready.text).toContain('Socket Mode not connected yet');
      expect((await fetch(`${lookout.url}/healthz`)).status).toBe(200);
      expect(lookout.output()).not.toContain(wrong);
    } finally {
      await lookout.stop();
      await bed.close();
    }
  });
});
