import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/access/authorization.ts';
import { createAuditTrail } from '../../src/audit.ts';
import type { KubeHttp } from '../../src/kube/kube-http.ts';
import { freshMetrics, metricValue, recordingLogger } from '../helpers/fakes.ts';
import type { FakeSlack, FakeSlackMessage } from '../support/fake-slack.ts';
import { waitFor } from '../support/free-port.ts';
import { startLookout, type LookoutProcess } from '../support/lookout-process.ts';
import { startLookoutTestBed, type LookoutTestBed } from '../support/lookout-test-bed.ts';
import { kubeHttpFor } from '../support/servers/kubeconfigs.ts';
import { createOrReplace } from '../support/servers/kube-objects.ts';
import { testServers } from '../support/servers/test-servers.ts';
import { blockActionsPayload, postSignedInteraction } from '../support/slack-interactions.ts';

/** An Event as the core API lists it (kubectl get events reads this view). */
interface CoreEvent {
  metadata: { name: string; namespace: string };
  involvedObject: { apiVersion?: string; kind: string; namespace?: string; name: string };
  reason: string;
  type: string;
  message: string;
  reportingComponent: string;
  reportingInstance: string;
  action: string;
}

/** Events by Lookout about one object, through the same field selector docs/rbac.md gives for kubectl. */
async function lookoutEvents(admin: KubeHttp, namespace: string, kind: string, name: string): Promise<CoreEvent[]> {
  const list = await admin.request<{ items: CoreEvent[] }>({
    method: 'GET',
    path: `/api/v1/namespaces/${namespace}/events`,
    query: { fieldSelector: `reportingComponent=lookout,involvedObject.kind=${kind},involvedObject.name=${name}` },
  });
  return list.items;
}

const ALICE = { id: 'U024BE7LH', name: 'alice' };
const BOB = { id: 'U0B0B0001', name: 'bob' };

describe('audit Events on the real kube-apiserver, written with the bot credentials of manifests/base/rbac.yaml', () => {
  let admin: KubeHttp;
  let bot: KubeHttp;

  beforeAll(() => {
    const { kube } = testServers();
    admin = kubeHttpFor(kube.kubeconfigs.admin);
    bot = kubeHttpFor(kube.kubeconfigs.bot);
  });

  const entry: AuditEntry = {
    action: 'scale',
    actor: { slackUserId: ALICE.id, slackUserName: ALICE.name },
    identity: { username: 'slack:alice', groups: ['slack:oncall', 'slack:sre'], derivation: [] },
    attributes: { verb: 'patch', group: 'apps', resource: 'deployments', subresource: 'scale', namespace: 'shop', name: 'audit-cart' },
    outcome: 'allowed',
    target: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'audit-cart' },
    detail: 'scaled shop/audit-cart from 2 to 5 replicas',
    reason: 'ScaledBySlackUser',
  };

  it('creates an Event on the target naming the Slack user and the Kubernetes identity', async () => {
    const metrics = freshMetrics();
    const audit = createAuditTrail({ log: recordingLogger().log, metrics, store: { addNotice: async () => 1 }, kube: bot, reportingInstance: 'lookout-test-pod' });
    await audit.record(entry);
    await audit.record({ ...entry, outcome: 'denied', identity: { username: 'slack:bob', groups: [], derivation: [] }, actor: { slackUserId: BOB.id, slackUserName: BOB.name }, detail: 'Not allowed' });

    expect(await metricValue(metrics, 'lookout_audit_failures_total')).toBe(0);
    const events = await lookoutEvents(admin, 'shop', 'Deployment', 'audit-cart');
    const allowed = events.find((event) => event.type === 'Normal');
    expect(allowed).toMatchObject({
      involvedObject: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'audit-cart' },
      reason: 'ScaledBySlackUser',
      reportingComponent: 'lookout',
      reportingInstance: 'lookout-test-pod',
      action: 'Scale',
    });
    expect(allowed!.message).toContain(`Slack user alice (${ALICE.id})`);
    expect(allowed!.message).toContain('Kubernetes user slack:alice (groups slack:oncall, slack:sre)');

    const denied = events.find((event) => event.type === 'Warning');
    expect(denied).toMatchObject({ reason: 'ScaleDeniedForSlackUser' });
    expect(denied!.message).toContain(BOB.id);
    expect(denied!.message).toContain('slack:bob');
    expect(denied!.message).not.toContain('slack:alice');
  });

  it('puts the Event about a cluster-scoped object (a Namespace) in namespace default', async () => {
    const audit = createAuditTrail({ log: recordingLogger().log, metrics: freshMetrics(), store: { addNotice: async () => 1 }, kube: bot });
    await audit.record({ ...entry, action: 'acknowledge', reason: 'AlertAcknowledgedBySlackUser', target: { apiVersion: 'v1', kind: 'Namespace', name: 'payments' } });
    const events = await lookoutEvents(admin, 'default', 'Namespace', 'payments');
    expect(events.map((event) => event.reason)).toContain('AlertAcknowledgedBySlackUser');
  });

  // Of Secrets the manifest grants only `list`, for the certificate inventory (docs/rbac.md,
  // "lookout-certificates": a trade-off issue 14 accepts, which a cluster may drop or narrow).
  it('the bot may create Events; of Secrets it may only list (the certificate inventory), never get, watch or write one', async () => {
    await expect(bot.request({ method: 'GET', path: '/api/v1/namespaces/shop/secrets/any-secret' })).rejects.toMatchObject({ status: 403 });
    await expect(bot.request({ method: 'GET', path: '/api/v1/namespaces/shop/secrets', query: { watch: 'true' } })).rejects.toMatchObject({ status: 403 });
    await expect(bot.request({ method: 'POST', path: '/api/v1/namespaces/shop/secrets', body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'planted' }, stringData: { a: 'b' } } })).rejects.toMatchObject({ status: 403 });
  });
});

describe('the Acknowledge button end to end: Lookout as a child process, fake Slack, real kube-apiserver', () => {
  const signingSecret = randomBytes(24).toString('hex');
  const webhookToken = randomBytes(16).toString('hex');
  let bed: LookoutTestBed;
  let slack: FakeSlack;
  let lookout: LookoutProcess;
  let admin: KubeHttp;
  let cart: FakeSlackMessage;
  let ledger: FakeSlackMessage;

  const groupPayload = (groupKey: string, alertname: string, deployment: string) => ({
    version: '4',
    groupKey,
    status: 'firing',
    receiver: 'lookout',
    groupLabels: { alertname },
    commonLabels: { alertname, namespace: 'shop', deployment, severity: 'critical' },
    commonAnnotations: { summary: `${deployment} is down` },
    externalURL: 'http://alertmanager.example',
    alerts: [
      {
        status: 'firing',
        labels: { alertname, namespace: 'shop', deployment, severity: 'critical' },
        annotations: {},
        startsAt: '2026-01-01T00:00:00Z',
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: '',
        fingerprint: `fp-${deployment}`,
      },
    ],
  });

  function ackValue(message: FakeSlackMessage): string {
    for (const block of (message.blocks ?? []) as Array<{ type: string; elements?: Array<{ action_id?: string; value?: string }> }>) {
      const button = block.elements?.find((element) => element.action_id === 'ack');
      if (button?.value) return button.value;
    }
    throw new Error(`no Acknowledge button on message ${message.ts}`);
  }

  /** A signed block_actions click on the Acknowledge button of `message`. */
  async function click(user: { id: string; name: string }, message: FakeSlackMessage, value: string): Promise<Response> {
    return postSignedInteraction(lookout.url, signingSecret, blockActionsPayload({ user, message, button: { actionId: 'ack', value, label: 'Acknowledge' }, responseUrl: slack.responseUrl() }));
  }

  const message = (ts: string) => slack.messages('C0ALERTS').find((m) => m.ts === ts)!;
  /** Whether any version of the message (enrichment may edit it too) says it was acknowledged. */
  const everAcknowledged = (ts: string) => {
    const current = message(ts);
    return [current, ...current.history].some((version) => JSON.stringify(version.blocks ?? []).includes('Acknowledged by'));
  };
  const stillOffersAcknowledge = (ts: string) => JSON.stringify(message(ts).blocks).includes('"action_id":"ack"');

  beforeAll(async () => {
    const { kube } = testServers();
    admin = kubeHttpFor(kube.kubeconfigs.admin);
    // alice may acknowledge alerts in shop; bob has no binding.
    await createOrReplace(admin, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'audit-test-acknowledge', namespace: 'shop' },
      rules: [{ apiGroups: ['lookout.dev'], resources: ['alerts'], verbs: ['acknowledge'] }],
    });
    await createOrReplace(admin, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'audit-test-acknowledge', namespace: 'shop' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'audit-test-acknowledge' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'slack:alice' }],
    });

    bed = await startLookoutTestBed({
      slack: { users: [ALICE, BOB] },
      config: {
        channel: 'C0ALERTS',
        auditChannel: 'C0AUDIT',
        identities: { prefix: 'slack:', users: [{ slack: ALICE.id, user: 'alice' }, { slack: BOB.id, user: 'bob' }] },
      },
      signingSecret,
      webhookToken,
      extraEnv: { KUBECONFIG: kube.kubeconfigs.bot },
    });
    slack = bed.slack;
    lookout = await startLookout(bed.env);

    for (const [key, name, deployment] of [['{}:{alertname="CartDown"}', 'CartDown', 'cart'], ['{}:{alertname="LedgerDown"}', 'LedgerDown', 'ledger']] as const) {
      const res = await fetch(`${lookout.url}/alertmanager`, {
        method: 'POST',
        headers: { authorization: `Bearer ${webhookToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(groupPayload(key, name, deployment)),
      });
      expect(res.status).toBe(200);
    }
    const posted = await waitFor('both alert messages in Slack', () => {
      const messages = slack.messages('C0ALERTS');
      return messages.length === 2 ? messages : undefined;
    });
    cart = posted.find((m) => m.text.includes('CartDown'))!;
    ledger = posted.find((m) => m.text.includes('LedgerDown'))!;
  });

  afterAll(async () => {
    await lookout?.stop();
    await bed?.close();
  });

  it('refuses a signed click whose button value names another group, and changes nothing', async () => {
    const res = await click(ALICE, cart, ackValue(ledger));
    expect(res.status).toBe(200);

    const ephemeral = await waitFor('the refusal, shown to alice only', () =>
      slack.ephemerals('C0ALERTS').find((e) => e.user === ALICE.id && e.text.includes('does not belong to this message')),
    );
    expect(ephemeral).toBeDefined();
    // Give a wrong implementation time to act, then check that it did not.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    for (const ts of [cart.ts, ledger.ts]) {
      expect(everAcknowledged(ts)).toBe(false);
      expect(stillOffersAcknowledge(ts)).toBe(true);
    }
    // (Enrichment may post its detail message in the threads; no acknowledgement may.)
    const acknowledgements = (ts: string) => slack.replies('C0ALERTS', ts).filter((reply) => reply.text.includes('Acknowledged'));
    expect(acknowledgements(cart.ts)).toHaveLength(0);
    expect(acknowledgements(ledger.ts)).toHaveLength(0);
  });

  it('denies bob, who has no binding, with the missing permission and a Warning Event naming him', async () => {
    await click(BOB, cart, ackValue(cart));
    const ephemeral = await waitFor('the denial, shown to bob only', () => slack.ephemerals('C0ALERTS').find((e) => e.user === BOB.id));
    expect(ephemeral.text).toContain('`acknowledge` on `alerts.lookout.dev` named CartDown in namespace shop');

    const event = await waitFor('the Warning Event on deployment shop/cart', async () =>
      (await lookoutEvents(admin, 'shop', 'Deployment', 'cart')).find((e) => e.type === 'Warning' && e.message.includes(BOB.id)),
    );
    expect(event.reason).toBe('AcknowledgeDeniedForSlackUser');
    expect(event.message).toContain('slack:bob');
    expect(everAcknowledged(cart.ts)).toBe(false);
  });

  it('lets alice acknowledge: the message is edited, the thread says so, and the Event names her identity', async () => {
    await click(ALICE, cart, ackValue(cart));

    const edited = await waitFor('the edited message', () => {
      const current = message(cart.ts);
      return JSON.stringify(current.blocks).includes(`Acknowledged by <@${ALICE.id}>`) ? current : undefined;
    });
    expect(JSON.stringify(edited.blocks)).not.toContain('"action_id":"ack"');
    await waitFor('the thread reply', () => slack.replies('C0ALERTS', cart.ts).find((r) => r.text.includes(`<@${ALICE.id}>`)));

    const event = await waitFor('the Normal Event on deployment shop/cart', async () =>
      (await lookoutEvents(admin, 'shop', 'Deployment', 'cart')).find((e) => e.type === 'Normal'),
    );
    expect(event).toMatchObject({ reason: 'AlertAcknowledgedBySlackUser', reportingComponent: 'lookout', action: 'Acknowledge' });
    expect(event.message).toContain(`Slack user alice (${ALICE.id})`);
    expect(event.message).toContain('Kubernetes user slack:alice');

    // The other group is untouched, and the audit channel has a line for each of the three clicks.
    expect(everAcknowledged(ledger.ts)).toBe(false);
    expect(stillOffersAcknowledge(ledger.ts)).toBe(true);
    const auditLines = await waitFor('three audit channel lines', () => {
      const lines = slack.messages('C0AUDIT');
      return lines.length >= 3 ? lines : undefined;
    });
    expect(auditLines.map((line) => line.text).join('\n')).toMatch(/acknowledge\* allowed · <@U024BE7LH>/);
  });
});
