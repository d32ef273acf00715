import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertmanagerClient, type Silence } from '../../src/integrations/alertmanager.ts';
import { reviewAccess } from '../../src/kube/access-review.ts';
import type { KubeHttp } from '../../src/kube/kube-http.ts';
import { startAlertmanager, type AlertmanagerProcess } from '../support/alertmanager-process.ts';
import type { FakeSlack, FakeSlackMessage } from '../support/fake-slack.ts';
import { waitFor } from '../support/free-port.ts';
import { eventually, freshNamespace, impersonateOnly, roleBinding } from '../support/kube-test-helpers.ts';
import { startLookout, type LookoutProcess } from '../support/lookout-process.ts';
import { startLookoutTestBed, type LookoutTestBed } from '../support/lookout-test-bed.ts';
import { createOrReplace, type KubeObject } from '../support/servers/kube-objects.ts';
import { kubeHttpFor } from '../support/servers/kubeconfigs.ts';
import { testServers } from '../support/servers/test-servers.ts';
import { signedSlackForm, slashCommandBody } from '../support/sign-slack-request.ts';
import { blockActionsPayload, postSignedInteraction, viewSubmissionPayload } from '../support/slack-interactions.ts';

/*
 * Silences end to end: Lookout as `npm start` runs it, with the bot's kubeconfig against the real
 * kube-apiserver (SubjectAccessReview for the person), a real Alertmanager (Debian's) of this
 * file's own, and signed slash commands from the fake Slack.
 *
 *   alice (slack:alice)  RoleBinding to the example "silencer" Role in this file's namespace
 *   bob   (slack:bob)    no binding
 */

const SIGNING_SECRET = 'silences-signing-secret-0123456789';
const ALICE = { id: 'U0ALICE', name: 'alice' };
const BOB = { id: 'U0BOB', name: 'bob' };
const IDENTITIES = { prefix: 'slack:', users: [{ slack: ALICE.id, user: 'alice' }, { slack: BOB.id, user: 'bob' }] };

describe('silences through Alertmanager API v2, gated by RBAC', () => {
  const servers = testServers();
  let namespace: string;
  let admin: KubeHttp;
  let alertmanager: AlertmanagerProcess;
  let am: AlertmanagerClient;
  let bed: LookoutTestBed;
  let slack: FakeSlack;
  let lookout: LookoutProcess;
  let restoreImpersonation: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    admin = kubeHttpFor(servers.kube.kubeconfigs.admin);
    namespace = await freshNamespace(admin, 'silences');
    // docs/rbac.md's "silencer" Role, as written there.
    await createOrReplace(admin, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'silencer', namespace },
      rules: [{ apiGroups: ['lookout.dev'], resources: ['silences'], verbs: ['create', 'list', 'delete'] }],
    } as KubeObject);
    await createOrReplace(admin, roleBinding(namespace, 'alice-silences', { kind: 'Role', name: 'silencer' }, { kind: 'User', name: 'slack:alice' }));

    restoreImpersonation = await impersonateOnly(admin, ['slack:alice', 'slack:bob']);
    await eventually('the silencer RoleBinding to take effect', async () =>
      (await reviewAccess(admin, { username: 'slack:alice', groups: [] }, { verb: 'create', group: 'lookout.dev', resource: 'silences', namespace })).allowed,
    );

    // Alertmanager of this file's own: its silences are the ones this file makes. Nothing routes to Lookout.
    alertmanager = await startAlertmanager({ webhookUrl: 'http://127.0.0.1:9/unused', webhookToken: 'unused-webhook-token-0123' });
    am = new AlertmanagerClient({ baseUrl: alertmanager.url, requestTimeoutMs: 5000 });

    bed = await startLookoutTestBed({
      slack: { users: [ALICE, BOB] },
      config: { channel: 'C0ALERTS', identities: IDENTITIES, silences: { maxDuration: '3d' }, routes: [{ match: { team: 'incidents' }, channel: 'C0INCIDENTS' }] },
      signingSecret: SIGNING_SECRET,
      webhookToken: 'silences-webhook-token-0123456',
      extraEnv: { KUBECONFIG: servers.kube.kubeconfigs.bot, ALERTMANAGER_URL: alertmanager.url },
    });
    slack = bed.slack;
    lookout = await startLookout(bed.env);
  });

  afterAll(async () => {
    await lookout?.stop();
    await bed?.close();
    await alertmanager?.stop();
    await restoreImpersonation?.();
  });

  async function ops(user: { id: string; name: string }, text: string): Promise<string> {
    const responseUrl = slack.responseUrl();
    const signed = signedSlackForm(SIGNING_SECRET, slashCommandBody({ user_id: user.id, user_name: user.name, text, response_url: responseUrl }), Math.floor(Date.now() / 1000));
    const res = await fetch(`${lookout.url}/slack/events`, { method: 'POST', headers: { ...signed.headers }, body: signed.body });
    expect(res.status).toBe(200);
    const id = responseUrl.slice(responseUrl.lastIndexOf('/') + 1);
    const post = await waitFor(`the reply to "${text}"`, () => slack.responseUrlPosts.find((candidate) => candidate.id === id));
    return (post.body as { text: string }).text;
  }

  const active = async (): Promise<Silence[]> => (await am.listSilences()).filter((silence) => silence.state === 'active');

  it('creates the silence with the matchers, createdBy and end time, and lists it', async () => {
    const before = Date.now();
    const reply = await ops(ALICE, `silence alertname=KubePodCrashLooping namespace=${namespace} pod=~"cart-.*" 2h -- fixing the config`);
    const after = Date.now();
    expect(reply).toMatch(/^🔕 Silenced /);
    const id = /unsilence ([0-9a-f-]{36})/.exec(reply)?.[1];
    const silence = (await active()).find((candidate) => candidate.id === id);
    expect(silence).toBeDefined();
    expect(silence?.matchers).toEqual([
      { name: 'alertname', value: 'KubePodCrashLooping', isRegex: false, isEqual: true },
      { name: 'namespace', value: namespace, isRegex: false, isEqual: true },
      { name: 'pod', value: 'cart-.*', isRegex: true, isEqual: true },
    ]);
    expect(silence?.createdBy).toBe(`slack:alice (Slack ${ALICE.id})`);
    expect(silence?.comment).toBe('fixing the config');
    const endsAt = Date.parse(silence?.endsAt ?? '');
    expect(endsAt).toBeGreaterThanOrEqual(before + 2 * 3_600_000 - 1000);
    expect(endsAt).toBeLessThanOrEqual(after + 2 * 3_600_000 + 1000);

    const listed = await ops(ALICE, `silences namespace=${namespace}`);
    expect(listed).toContain(`\`${id}\``);
    expect(listed).toContain('— fixing the config');
  });

  it('writes the default comment when none is given', async () => {
    const reply = await ops(ALICE, `silence alertname=Other namespace=${namespace} 30m`);
    const id = /unsilence ([0-9a-f-]{36})/.exec(reply)?.[1];
    expect((await am.getSilence(id ?? ''))?.comment).toBe('silenced from Slack by alice');
  });

  it('refuses a person without the permission, naming it, and creates nothing', async () => {
    const count = (await active()).length;
    expect(await ops(BOB, `silence alertname=KubePodCrashLooping namespace=${namespace} 1h`)).toBe(
      `Not allowed: this needs \`create\` on \`silences.lookout.dev\` in namespace ${namespace}.`,
    );
    expect(await ops(BOB, `silences namespace=${namespace}`)).toBe(`Not allowed: this needs \`list\` on \`silences.lookout.dev\` in namespace ${namespace}.`);
    expect((await active()).length).toBe(count);
  });

  it('reviews a silence without namespace= cluster-wide, says so, and creates nothing', async () => {
    const count = (await active()).length;
    const reply = await ops(ALICE, 'silence alertname=KubePodCrashLooping 1h');
    expect(reply).toBe(
      "Not allowed: this needs `create` on `silences.lookout.dev` cluster-wide. A silence without an equality `namespace=` matcher can hide every team's alerts, so it needs this permission cluster-wide. To silence one namespace's alerts, add e.g. `namespace=shop`.",
    );
    expect((await active()).length).toBe(count);
  });

  it('refuses over-broad silences and durations beyond the configured maximum', async () => {
    const count = (await active()).length;
    expect(await ops(ALICE, 'silence alertname=~".*" 1h')).toMatch(/would silence nearly every alert/);
    expect(await ops(ALICE, `silence alertname=~".+" namespace!=${namespace} 1h`)).toMatch(/would silence nearly every alert/);
    expect(await ops(ALICE, `silence alertname=X namespace=${namespace} 4d`)).toMatch(/at most 3d \(the `silences.maxDuration` setting\)/);
    expect((await active()).length).toBe(count);
  });

  it('expires a silence for a person allowed to delete it in its namespace, and not for anyone else', async () => {
    const reply = await ops(ALICE, `silence alertname=ToExpire namespace=${namespace} 1h`);
    const id = /unsilence ([0-9a-f-]{36})/.exec(reply)?.[1] ?? '';
    expect(await ops(BOB, `unsilence ${id}`)).toBe(`Not allowed: this needs \`delete\` on \`silences.lookout.dev\` in namespace ${namespace}.`);
    expect((await am.getSilence(id))?.state).toBe('active');

    expect(await ops(ALICE, `unsilence ${id}`)).toMatch(new RegExp(`^🔔 Silence \`${id}\` .* has ended`));
    expect((await am.getSilence(id))?.state).toBe('expired');
    expect(await ops(ALICE, `unsilence ${id}`)).toBe(`Silence \`${id}\` has already ended.`);
  });

  describe('the Silence buttons on alert messages (signed block_actions)', () => {
    let silenceMe: FakeSlackMessage;
    let other: FakeSlackMessage;

    const groupPayload = (alertname: string, extra: Record<string, string> = {}) => {
      const labels = { alertname, namespace, severity: 'warning', ...extra };
      return {
        version: '4',
        groupKey: `{}:{alertname="${alertname}", namespace="${namespace}"}`,
        status: 'firing',
        receiver: 'lookout',
        groupLabels: { alertname, namespace },
        commonLabels: labels,
        commonAnnotations: {},
        externalURL: alertmanager.url,
        alerts: [{ status: 'firing', labels, annotations: {}, startsAt: new Date(Date.now() - 60_000).toISOString(), endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: `fp-${alertname}` }],
      };
    };

    const buttonValue = (message: FakeSlackMessage, actionId: string): string => {
      for (const block of (message.blocks ?? []) as Array<{ elements?: Array<{ action_id?: string; value?: string }> }>) {
        const button = block.elements?.find((element) => element.action_id === actionId);
        if (button?.value) return button.value;
      }
      throw new Error(`no ${actionId} button on ${message.ts}`);
    };

    /** A signed block_actions click on a button of a channel message. */
    async function click(user: { id: string; name: string }, container: { channel: string; ts: string }, actionId: string, value: string): Promise<void> {
      const payload = blockActionsPayload({ user, message: container, button: { actionId, value, label: 'Silence' }, triggerId: slack.issueTriggerId(), responseUrl: slack.responseUrl() });
      const res = await postSignedInteraction(lookout.url, SIGNING_SECRET, payload);
      expect(res.status).toBe(200);
    }

    const current = (message: FakeSlackMessage) => slack.messages(message.channel).find((candidate) => candidate.ts === message.ts)!;
    const says = (message: FakeSlackMessage, text: string) => JSON.stringify(current(message).blocks ?? []).includes(text);
    const ephemeralTo = (user: { id: string }, channel: string, text: string) => waitFor(`"${text}" to ${user.id}`, () => slack.ephemerals(channel).find((e) => e.user === user.id && e.text.includes(text)));
    const silencesOf = async (alertname: string) => (await active()).filter((silence) => silence.matchers.some((m) => m.name === 'alertname' && m.value === alertname));

    beforeAll(async () => {
      for (const body of [groupPayload('SilenceMe'), groupPayload('OtherTeam', { team: 'incidents' })]) {
        const res = await fetch(`${lookout.url}/alertmanager`, { method: 'POST', headers: { authorization: `Bearer ${bed.webhookToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
        expect(res.status).toBe(200);
      }
      silenceMe = await waitFor('the SilenceMe message', () => slack.messages('C0ALERTS').find((m) => m.text.includes('SilenceMe')));
      other = await waitFor('the OtherTeam message', () => slack.messages('C0INCIDENTS').find((m) => m.text.includes('OtherTeam')));
    });

    it('refuses forged values, clicks on another channel\'s message and people without the permission, with no side effect', async () => {
      // The value names the other group: refused.
      await click(ALICE, { channel: silenceMe.channel, ts: silenceMe.ts }, 'silence-1h', buttonValue(other, 'silence-1h'));
      await ephemeralTo(ALICE, 'C0ALERTS', 'does not belong to this message');
      // The other channel's message, claimed to be in this channel: no such message here.
      await click(ALICE, { channel: 'C0ALERTS', ts: other.ts }, 'silence-1h', buttonValue(other, 'silence-1h'));
      await waitFor('the second refusal', () => (slack.ephemerals('C0ALERTS').filter((e) => e.user === ALICE.id && e.text.includes('does not belong to this message')).length === 2 ? true : undefined));
      // Bob may not create silences in the namespace.
      await click(BOB, { channel: silenceMe.channel, ts: silenceMe.ts }, 'silence-1h', buttonValue(silenceMe, 'silence-1h'));
      expect((await ephemeralTo(BOB, 'C0ALERTS', 'Not allowed')).text).toBe(`Not allowed: this needs \`create\` on \`silences.lookout.dev\` in namespace ${namespace}.`);
      // Give a wrong implementation time to act, then check that nothing did.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(await silencesOf('SilenceMe')).toEqual([]);
      expect(await silencesOf('OtherTeam')).toEqual([]);
      expect(says(silenceMe, 'Silenced by')).toBe(false);
      expect(says(other, 'Silenced by')).toBe(false);
    });

    it('silences exactly the group for 1h, the message says so, and it stops saying so when the silence is ended', async () => {
      const before = Date.now();
      await click(ALICE, { channel: silenceMe.channel, ts: silenceMe.ts }, 'silence-1h', buttonValue(silenceMe, 'silence-1h'));
      const [silence] = await waitFor('the silence in Alertmanager', async () => {
        const found = await silencesOf('SilenceMe');
        return found.length > 0 ? found : undefined;
      });
      expect(silence?.matchers).toEqual([
        { name: 'alertname', value: 'SilenceMe', isRegex: false, isEqual: true },
        { name: 'namespace', value: namespace, isRegex: false, isEqual: true },
      ]);
      expect(silence?.createdBy).toBe(`slack:alice (Slack ${ALICE.id})`);
      expect(Math.abs(Date.parse(silence?.endsAt ?? '') - (before + 3_600_000))).toBeLessThan(5000);
      await waitFor('the message to say who silenced it', () => (says(silenceMe, `Silenced by <@${ALICE.id}> until`) ? true : undefined));
      expect(says(silenceMe, '"silence-1h"')).toBe(false);
      await waitFor('the thread reply', () => slack.replies('C0ALERTS', silenceMe.ts).find((reply) => reply.text.includes(`<@${ALICE.id}> silenced this group for 1h`)));

      expect(await ops(ALICE, `unsilence ${silence?.id}`)).toMatch(/has ended/);
      await waitFor('the message to stop saying it is silenced', () => (!says(silenceMe, 'Silenced by') && says(silenceMe, '"silence-1h"') ? true : undefined));
      await waitFor('the thread reply about the end', () => slack.replies('C0ALERTS', silenceMe.ts).find((reply) => reply.text.includes('was ended early')));
    });

    it('takes any duration and a comment from the Silence for… form (a signed view_submission)', async () => {
      const viewsBefore = slack.views().length;
      await click(ALICE, { channel: silenceMe.channel, ts: silenceMe.ts }, 'silence-custom', buttonValue(current(silenceMe), 'silence-custom'));
      const view = (await waitFor('the form', () => slack.views()[viewsBefore])) as { callback_id: string; private_metadata: string; blocks: unknown[] };
      const submit = async (duration: string, user = ALICE) => {
        const payload = viewSubmissionPayload({
          user,
          triggerId: slack.issueTriggerId(),
          view: { callbackId: view.callback_id, privateMetadata: view.private_metadata, blocks: view.blocks },
          values: { 'silence-duration': { value: { type: 'plain_text_input', value: duration } }, 'silence-comment': { value: { type: 'plain_text_input', value: 'rolling back' } } },
        });
        const res = await postSignedInteraction(lookout.url, SIGNING_SECRET, payload);
        expect(res.status).toBe(200);
        const text = await res.text();
        return text === '' ? undefined : (JSON.parse(text) as { response_action?: string; errors?: Record<string, string> });
      };
      // Too long for silences.maxDuration (3d here): the form says so next to the input, nothing is made.
      expect(await submit('4d')).toEqual({ response_action: 'errors', errors: { 'silence-duration': 'a silence from Slack lasts at most 3d (the silences.maxDuration setting); 4d is longer' } });
      // Someone else cannot submit alice's form.
      expect((await submit('2h', BOB))?.response_action).toBe('errors');
      expect(await silencesOf('SilenceMe')).toEqual([]);
      const before = Date.now();
      expect(await submit('2h30m')).toBeUndefined();
      const [silence] = await waitFor('the silence from the form', async () => {
        const found = await silencesOf('SilenceMe');
        return found.length > 0 ? found : undefined;
      });
      expect(silence?.comment).toBe('rolling back');
      expect(Math.abs(Date.parse(silence?.endsAt ?? '') - (before + 150 * 60_000))).toBeLessThan(5000);
      await waitFor('the message to say who silenced it', () => (says(silenceMe, `Silenced by <@${ALICE.id}> until`) ? true : undefined));
    });
  });

  it('audited what it did, and never leaked an internal error', () => {
    expect(lookout.output()).toContain('AlertsSilencedBySlackUser');
    expect(lookout.output()).toContain('SilenceExpiredBySlackUser');
    expect(lookout.output()).not.toContain('"msg":"command failed"');
  });

  // Last: it stops this file's Alertmanager.
  it('says Alertmanager cannot be reached when it is down, and that nothing was silenced', async () => {
    await alertmanager.stop();
    expect(await ops(ALICE, `silence alertname=X namespace=${namespace} 1h`)).toBe('Alertmanager could not be reached (unreachable). Nothing was silenced. Try again in a moment.');
  });
});
