import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOGS_REPLY_MAX } from '../../commands/logs.ts';
import { reviewAccess } from '../../src/kube/access-review.ts';
import type { KubeHttp } from '../../src/kube/kube-http.ts';
import type { FakeSlack, FakeSlackMessage } from '../support/fake-slack.ts';
import { registerFakeKubeletNode, startFakeKubeletLogs, type FakeKubeletLogs } from '../support/fake-kubelet-logs.ts';
import { waitFor } from '../support/free-port.ts';
import { freshNamespace, impersonateOnly, roleBinding, statusOf, writeStatus } from '../support/kube-test-helpers.ts';
import { pushToLoki } from '../support/loki-test-helpers.ts';
import { startLookout, type LookoutProcess } from '../support/lookout-process.ts';
import { startLookoutTestBed, type LookoutTestBed } from '../support/lookout-test-bed.ts';
import { createOrReplace, type KubeObject } from '../support/servers/kube-objects.ts';
import { kubeHttpFor } from '../support/servers/kubeconfigs.ts';
import { testServers } from '../support/servers/test-servers.ts';
import { signedSlackForm, slashCommandBody } from '../support/sign-slack-request.ts';
import { blockActionsPayload, postSignedInteraction } from '../support/slack-interactions.ts';

/*
 * `/ops logs` end to end: Lookout as `npm start` runs it (the bot's kubeconfig), signed slash
 * commands, the real kube-apiserver and the real Loki.
 *
 *   alice  → slack:alice   the "log reader" Role of docs/rbac.md in namespace `ns`;
 *                          in namespace `ns2` only `get pods/log` (no `get pods`)
 *   bob    → slack:bob     nothing
 *
 * No kubelet runs in the harness, so pods/log content comes from a fake kubelet's
 * /containerLogs endpoint behind a Node object (test/support/fake-kubelet-logs.ts): the API
 * server itself authorises, looks up the pod's node and proxies, as in a cluster.
 */

const SIGNING_SECRET = 'ops-logs-signing-secret-0123456789';
const ALICE = { id: 'U0ALICE', name: 'alice' };
const BOB = { id: 'U0BOB', name: 'bob' };
const IDENTITIES = { prefix: 'slack:', users: [{ slack: ALICE.id, user: 'alice' }, { slack: BOB.id, user: 'bob' }] };
const GRAFANA = 'https://grafana.example.com';

const rbac = (kind: string, namespace: string, name: string, rest: Record<string, unknown>): KubeObject => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind,
  metadata: { name, namespace },
  ...rest,
});

/** The "log reader" Role of docs/rbac.md. */
const LOG_READER_RULES = [
  { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
  { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
  { apiGroups: ['apps'], resources: ['deployments', 'statefulsets', 'daemonsets'], verbs: ['get'] },
];

describe('/ops logs against the real kube-apiserver and Loki', () => {
  const servers = testServers();
  const node = `fake-kubelet-${randomBytes(4).toString('hex')}`;
  let admin: KubeHttp;
  let ns: string;
  let ns2: string;
  let kubelet: FakeKubeletLogs;
  let bed: LookoutTestBed;
  let slack: FakeSlack;
  let fromKube: LookoutProcess;
  let fromLoki: LookoutProcess;
  let restoreImpersonation: (() => Promise<void>) | undefined;
  const now = Date.now();

  const podObject = (namespace: string, name: string, containers: string[], labels: Record<string, string> = {}) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels },
    spec: { nodeName: node, containers: containers.map((container) => ({ name: container, image: 'registry.example/app:1' })) },
  });

  async function createReadyPod(namespace: string, name: string, containers: string[], labels: Record<string, string> = {}): Promise<void> {
    await admin.request({ method: 'POST', path: `/api/v1/namespaces/${namespace}/pods`, body: podObject(namespace, name, containers, labels) });
    // No kubelet: the test writes the status a kubelet would.
    await writeStatus(admin, `/api/v1/namespaces/${namespace}/pods/${name}`, {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True' }],
      containerStatuses: containers.map((container) => ({ name: container, ready: true, restartCount: 0, image: 'registry.example/app:1', imageID: '', state: { running: { startedAt: new Date(now - 3_600_000).toISOString() } } })),
    });
  }

  beforeAll(async () => {
    admin = kubeHttpFor(servers.kube.kubeconfigs.admin);
    ns = await freshNamespace(admin, 'logs');
    ns2 = await freshNamespace(admin, 'logs2');
    kubelet = await startFakeKubeletLogs();
    await registerFakeKubeletNode(admin, node, kubelet.port);

    await admin.request({
      method: 'POST',
      path: `/apis/apps/v1/namespaces/${ns}/deployments`,
      body: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'cart', namespace: ns },
        spec: { replicas: 2, selector: { matchLabels: { app: 'cart' } }, template: { metadata: { labels: { app: 'cart' } }, spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] } } },
      },
    });
    // Created one after the other: cart-new is the newer.
    await createReadyPod(ns, 'cart-old', ['app'], { app: 'cart' });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await createReadyPod(ns, 'cart-new', ['app'], { app: 'cart' });
    await createReadyPod(ns2, 'ledger-1', ['app']);

    const at = (secondsAgo: number) => new Date(now - secondsAgo * 1000);
    kubelet.setLog(ns, 'cart-old', 'app', [
      { at: at(120), text: 'cart-old starting' },
      { at: at(60), text: 'connecting to postgres://cart:s3cr3t-pw@db:5432/cart' },
      { at: at(30), text: 'ERROR upstream timed out' },
    ]);
    kubelet.setLog(ns, 'cart-new', 'app', [{ at: at(10), text: 'cart-new serving' }]);
    kubelet.setLog(ns2, 'ledger-1', 'app', [{ at: at(10), text: 'ledger line' }]);

    await createOrReplace(admin, rbac('Role', ns, 'log-reader', { rules: LOG_READER_RULES }));
    await createOrReplace(admin, roleBinding(ns, 'alice-reads-logs', { kind: 'Role', name: 'log-reader' }, { kind: 'User', name: 'slack:alice' }));
    await createOrReplace(admin, rbac('Role', ns2, 'only-pods-log', { rules: [{ apiGroups: [''], resources: ['pods/log'], verbs: ['get'] }] }));
    await createOrReplace(admin, roleBinding(ns2, 'alice-only-pods-log', { kind: 'Role', name: 'only-pods-log' }, { kind: 'User', name: 'slack:alice' }));

    restoreImpersonation = await impersonateOnly(admin, ['slack:alice', 'slack:bob']);
    const bot = kubeHttpFor(servers.kube.kubeconfigs.bot);
    await waitFor(
      'the Roles and the impersonation names to take effect',
      async () =>
        (await reviewAccess(admin, { username: 'slack:alice', groups: [] }, { verb: 'get', group: '', resource: 'pods', subresource: 'log', namespace: ns })).allowed &&
        (await reviewAccess(admin, { username: 'slack:alice', groups: [] }, { verb: 'get', group: '', resource: 'pods', subresource: 'log', namespace: ns2 })).allowed &&
        (await statusOf(bot.request({ method: 'POST', path: '/apis/authentication.k8s.io/v1/selfsubjectreviews', body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }, impersonate: { username: 'slack:bob', groups: [] } }))) === 200
          ? true
          : undefined,
      15_000,
      100,
    );

    // Loki: a pod that is gone from Kubernetes, with many lines and a secret-looking one.
    const lokiLines = Array.from({ length: 120 }, (_, i) => [`${BigInt(now - (300 - i) * 1000) * 1_000_000n}`, `request ${i} handled in ${i} ms ${'.'.repeat(40)}`]);
    lokiLines.push([`${BigInt(now - 100_000) * 1_000_000n}`, 'login with Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345']);
    lokiLines.push([`${BigInt(now - 40 * 60_000) * 1_000_000n}`, 'an older line, forty minutes ago']);
    lokiLines.sort((a, b) => (BigInt(a[0] ?? '0') < BigInt(b[0] ?? '0') ? -1 : 1));
    const stream = { namespace: ns, pod: 'cart-gone', container: 'app' };
    await pushToLoki(servers.loki.url, [{ stream, values: lokiLines }], `{namespace="${ns}", pod="cart-gone"}`, lokiLines.length);

    bed = await startLookoutTestBed({
      slack: { users: [ALICE, BOB] },
      config: { channel: 'C0ALERTS', identities: IDENTITIES, enrichment: { loki: { grafanaUrl: GRAFANA } } },
      signingSecret: SIGNING_SECRET,
      webhookToken: 'ops-logs-webhook-token-0123456',
      extraEnv: { KUBECONFIG: servers.kube.kubeconfigs.bot },
    });
    slack = bed.slack;
    fromKube = await startLookout(bed.env);
    fromLoki = await startLookout({ ...bed.env, LOKI_URL: servers.loki.url, LOOKOUT_STATE: join(bed.dir, 'with-loki.db') });
  });

  afterAll(async () => {
    await fromKube?.stop();
    await fromLoki?.stop();
    await bed?.close();
    await kubelet?.close();
    await admin?.request({ method: 'DELETE', path: `/api/v1/nodes/${node}` }).catch(() => undefined);
    await restoreImpersonation?.();
  });

  /** A signed `/ops …` as `user` to `lookout`; the ephemeral reply posted to the response_url. */
  async function ops(lookout: LookoutProcess, user: { id: string; name: string }, text: string): Promise<string> {
    const responseUrl = slack.responseUrl();
    const signed = signedSlackForm(SIGNING_SECRET, slashCommandBody({ user_id: user.id, user_name: user.name, text, response_url: responseUrl }), Math.floor(Date.now() / 1000));
    const res = await fetch(`${lookout.url}/slack/events`, { method: 'POST', headers: { ...signed.headers }, body: signed.body });
    expect(res.status).toBe(200);
    const id = responseUrl.slice(responseUrl.lastIndexOf('/') + 1);
    const post = await waitFor(`the reply to "${text}"`, () => slack.responseUrlPosts.find((candidate) => candidate.id === id));
    const body = post.body as { response_type: string; text: string };
    expect(body.response_type).toBe('ephemeral');
    return body.text;
  }

  describe('from pods/log (no LOKI_URL)', () => {
    it('reads a pod’s log through the API server as the person, redacted, the newest lines', async () => {
      const before = kubelet.requests.length;
      const reply = await ops(fromKube, ALICE, `logs ${ns}/pod/cart-old`);
      expect(reply).toMatch(new RegExp(`^\\*Logs\\* \`${ns}/cart-old/app\` from pods/log · 3 lines\n\`\`\`\n\\d\\d:\\d\\d:\\d\\d cart-old starting\n`));
      expect(reply).toContain('connecting to postgres://cart:[REDACTED]@db:5432/cart');
      expect(reply).not.toContain('s3cr3t-pw');
      expect(reply).toMatch(/ERROR upstream timed out\n```$/);
      // The API server forwarded Lookout's parameters to the node's kubelet.
      expect(kubelet.requests.slice(before)).toEqual([
        { path: `/containerLogs/${ns}/cart-old/app`, query: expect.objectContaining({ timestamps: 'true', tailLines: '500', limitBytes: String(2 * 1024 * 1024) }) },
      ]);
    });

    it('honours --since and --grep', async () => {
      expect(await ops(fromKube, ALICE, `logs ${ns}/pod/cart-old --since 90s`)).not.toContain('cart-old starting');
      const grep = await ops(fromKube, ALICE, `logs ${ns}/pod/cart-old --grep ERROR`);
      expect(grep).toContain('lines containing `ERROR` · 1 line');
      expect(grep).not.toContain('starting');
    });

    it('reads a Deployment’s newest Ready pod, and says which', async () => {
      const reply = await ops(fromKube, ALICE, `logs ${ns}/cart`);
      expect(reply).toContain(`\`${ns}/cart-new/app\` from pods/log`);
      expect(reply).toContain('_Deployment `cart`: pod `cart-new`, its newest Ready pod of 2 (2 Ready)');
      expect(reply).toContain('cart-new serving');
    });

    it('refuses a person without `get pods/log`, naming it, and nothing reaches the kubelet', async () => {
      const before = kubelet.requests.length;
      expect(await ops(fromKube, BOB, `logs ${ns}/pod/cart-old`)).toBe(`Not allowed: this needs \`get\` on \`pods/log\` named cart-old in namespace ${ns}.`);
      expect(await ops(fromKube, BOB, `logs ${ns}/cart`)).toBe(`Not allowed: this needs \`get\` on \`pods/log\` in namespace ${ns}.`);
      expect(kubelet.requests.length).toBe(before);
    });

    it('reads pods as the person, not as Lookout: without `get pods` the API server refuses, named', async () => {
      // The gate allows (pods/log is granted in ns2); the pod read as alice is what fails.
      expect(await ops(fromKube, ALICE, `logs ${ns2}/pod/ledger-1`)).toBe(`Not allowed: this needs \`get\` on \`pods\` named ledger-1 in namespace ${ns2}.`);
    });

    it('audits the read as a Kubernetes Event on the object', async () => {
      await ops(fromKube, ALICE, `logs ${ns}/pod/cart-new`);
      const events = await waitFor('the audit Event', async () => {
        const list = await admin.request<{ items: Array<{ reason: string; involvedObject: { kind: string; name: string } }> }>({ method: 'GET', path: `/api/v1/namespaces/${ns}/events` });
        const found = list.items.filter((event) => event.reason === 'LogsReadBySlackUser' && event.involvedObject.name === 'cart-new');
        return found.length > 0 ? found : undefined;
      });
      expect(events[0]?.involvedObject.kind).toBe('Pod');
    });
  });

  describe('the Show logs button (signed block_actions, pods/log)', () => {
    let crashing: FakeSlackMessage;
    let other: FakeSlackMessage;

    const alert = (alertname: string, labels: Record<string, string>) => {
      const all = { alertname, namespace: ns, severity: 'warning', ...labels };
      return {
        version: '4',
        groupKey: `{}:{alertname="${alertname}", namespace="${ns}"}`,
        status: 'firing',
        receiver: 'lookout',
        groupLabels: { alertname, namespace: ns },
        commonLabels: all,
        commonAnnotations: {},
        externalURL: 'http://alertmanager.example',
        alerts: [{ status: 'firing', labels: all, annotations: {}, startsAt: new Date(Date.now() - 60_000).toISOString(), endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: `fp-${alertname}` }],
      };
    };
    const logsValue = (message: FakeSlackMessage): string | undefined => {
      for (const block of (message.blocks ?? []) as Array<{ elements?: Array<{ action_id?: string; value?: string }> }>) {
        const button = block.elements?.find((element) => element.action_id === 'logs');
        if (button?.value) return button.value;
      }
      return undefined;
    };
    /** The group's message once enrichment has resolved its pod (the Show logs button is then there). */
    const withLogsButton = (alertname: string) =>
      waitFor(`the ${alertname} message with Show logs`, () => slack.messages('C0ALERTS').find((m) => m.text.includes(alertname) && logsValue(m) !== undefined), 30_000);

    /** A signed block_actions click on the Show logs button of an alert message. */
    async function click(user: { id: string; name: string }, message: FakeSlackMessage, value: string): Promise<void> {
      const payload = blockActionsPayload({ user, message, button: { actionId: 'logs', value, label: 'Show logs' }, triggerId: slack.issueTriggerId(), responseUrl: slack.responseUrl() });
      const res = await postSignedInteraction(fromKube.url, SIGNING_SECRET, payload);
      expect(res.status).toBe(200);
    }
    const ephemeralTo = (user: { id: string }, text: string) => waitFor(`"${text}" to ${user.id}`, () => slack.ephemerals('C0ALERTS').find((e) => e.user === user.id && e.text.includes(text)));

    beforeAll(async () => {
      for (const body of [alert('CartCrashLooping', { pod: 'cart-old', container: 'app' }), alert('LedgerDown', { pod: 'cart-new' })]) {
        const res = await fetch(`${fromKube.url}/alertmanager`, { method: 'POST', headers: { authorization: `Bearer ${bed.webhookToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
        expect(res.status).toBe(200);
      }
      crashing = await withLogsButton('CartCrashLooping');
      other = await withLogsButton('LedgerDown');
    });

    it('shows the enriched pod’s log to the clicker alone, read as them through the API server', async () => {
      await click(ALICE, crashing, logsValue(crashing) ?? '');
      const shown = await ephemeralTo(ALICE, '*Logs*');
      expect(shown.text).toContain(`*Logs* \`${ns}/cart-old/app\` from pods/log · 3 lines`);
      expect(shown.text).toContain('ERROR upstream timed out');
      expect(shown.text).not.toContain('s3cr3t-pw');
    });

    it('refuses a forged value and a person without `get pods/log`, and reads nothing', async () => {
      const before = kubelet.requests.length;
      await click(ALICE, crashing, logsValue(other) ?? '');
      await ephemeralTo(ALICE, 'does not belong to this message');
      await click(BOB, crashing, logsValue(crashing) ?? '');
      expect((await ephemeralTo(BOB, 'Not allowed')).text).toBe(`Not allowed: this needs \`get\` on \`pods/log\` named cart-old in namespace ${ns}.`);
      // Give a wrong implementation time to read, then check that nothing did.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(kubelet.requests.length).toBe(before);
      expect(slack.ephemerals('C0ALERTS').filter((e) => e.text.includes('*Logs*'))).toHaveLength(1);
    });
  });

  describe('from Loki (LOKI_URL set)', () => {
    it('reads Loki after the same pods/log review, redacted, the newest that fit, with an Explore link', async () => {
      const reply = await ops(fromLoki, ALICE, `logs ${ns}/pod/cart-gone --since 10m`);
      expect(reply.length).toBeLessThanOrEqual(LOGS_REPLY_MAX);
      expect(reply).toContain(`*Logs* \`${ns}/cart-gone\` from Loki · since 10m · 121 lines · <${GRAFANA}/explore?`);
      expect(reply).toContain('_Pod `cart-gone` is not in Kubernetes now; these are the lines Loki kept._');
      expect(reply).toMatch(/… \d+ older lines not shown/);
      expect(reply).toContain('request 119 handled');
      expect(reply).not.toContain('request 0 handled');
      expect(reply).not.toContain('an older line');
      expect(reply).not.toContain('abcdefghijklmnopqrstuvwxyz012345');
    });

    it('filters with --grep in Loki; the window is the last hour unless --since says otherwise', async () => {
      const grep = await ops(fromLoki, ALICE, `logs ${ns}/pod/cart-gone --grep Bearer`);
      expect(grep).toContain('lines containing `Bearer` · 1 line');
      expect(grep).toContain('login with Authorization: Bearer [REDACTED]');
      // The default window is the last hour; --since narrows or widens it.
      expect(await ops(fromLoki, ALICE, `logs ${ns}/pod/cart-gone --grep "older line"`)).toContain('an older line, forty minutes ago');
      expect(await ops(fromLoki, ALICE, `logs ${ns}/pod/cart-gone --since 30m --grep "older line"`)).toContain('· no lines');
    });

    it('does not let Loki bypass RBAC: the same review refuses bob', async () => {
      expect(await ops(fromLoki, BOB, `logs ${ns}/pod/cart-gone`)).toBe(`Not allowed: this needs \`get\` on \`pods/log\` named cart-gone in namespace ${ns}.`);
    });
  });
});
