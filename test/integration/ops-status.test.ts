import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlertmanagerClient } from '../../src/integrations/alertmanager.ts';
import { reviewAccess } from '../../src/kube/access-review.ts';
import type { KubeHttp } from '../../src/kube/kube-http.ts';
import { startAlertmanager, type AlertmanagerProcess } from '../support/alertmanager-process.ts';
import type { FakeSlack } from '../support/fake-slack.ts';
import { freePort, waitFor } from '../support/free-port.ts';
import { eventually, freshNamespace, impersonateOnly, roleBinding, writeStatus } from '../support/kube-test-helpers.ts';
import { startLookout, type LookoutProcess } from '../support/lookout-process.ts';
import { startLookoutTestBed, type LookoutTestBed } from '../support/lookout-test-bed.ts';
import { createOrReplace, type KubeObject } from '../support/servers/kube-objects.ts';
import { kubeHttpFor } from '../support/servers/kubeconfigs.ts';
import { testServers } from '../support/servers/test-servers.ts';
import { signedSlackForm, slashCommandBody } from '../support/sign-slack-request.ts';
import { blockActionsPayload, postSignedInteraction } from '../support/slack-interactions.ts';

/*
 * `/ops status` and `/ops history` end to end: Lookout as `npm start` runs it, the real
 * kube-apiserver (no controllers: ReplicaSets, pods and statuses are written as admin), a real
 * Alertmanager that notifies Lookout (so Lookout posts the alert messages the card links to),
 * and the fake Slack.
 *
 *   alice  slack:alice  Role "viewer": get deployments ONLY
 *   carol  slack:carol  Role "operator": get deployments, get/patch deployments/scale, list pods,
 *                       events and replicasets, create/list silences.lookout.dev
 *   bob    slack:bob    nothing
 */

const SIGNING_SECRET = 'ops-status-signing-secret-012345';
const WEBHOOK_TOKEN = 'ops-status-webhook-token-0123456';
const ALICE = { id: 'U0ALICE', name: 'alice' };
const BOB = { id: 'U0BOB', name: 'bob' };
const CAROL = { id: 'U0CAROL', name: 'carol' };
const IDENTITIES = { prefix: 'slack:', users: [{ slack: ALICE.id, user: 'alice' }, { slack: BOB.id, user: 'bob' }, { slack: CAROL.id, user: 'carol' }] };

type Element = { action_id: string; value: string; text: { text: string } };
type Post = { text: string; blocks?: Array<{ type: string; elements?: Element[] }> };

describe('/ops status and /ops history against the real kube-apiserver and Alertmanager', () => {
  const servers = testServers();
  let namespace: string;
  let admin: KubeHttp;
  let alertmanager: AlertmanagerProcess;
  let bed: LookoutTestBed;
  let slack: FakeSlack;
  let lookout: LookoutProcess;
  let restoreImpersonation: (() => Promise<void>) | undefined;
  let silenceId: string;
  let clicks = 0;

  const apps = (resource: string, name = '') => `/apis/apps/v1/namespaces/${namespace}/${resource}${name ? `/${name}` : ''}`;
  const post = <T>(path: string, body: unknown) => admin.request<T>({ method: 'POST', path, body });
  const template = (image: string) => ({ metadata: { labels: { app: 'cart' } }, spec: { containers: [{ name: 'cart', image }] } });

  /** A ReplicaSet of `owner` at `revision` (what the Deployment controller would have made). */
  const replicaSet = (owner: { name: string; uid: string }, name: string, revision: number, image: string, changeCause?: string) =>
    post(apps('replicasets'), {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name,
        namespace,
        labels: { app: owner.name },
        annotations: { 'deployment.kubernetes.io/revision': String(revision), ...(changeCause ? { 'kubernetes.io/change-cause': changeCause } : {}) },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: owner.name, uid: owner.uid, controller: true }],
      },
      spec: { replicas: 0, selector: { matchLabels: { app: owner.name } }, template: { ...template(image), metadata: { labels: { app: owner.name } } } },
    });

  beforeAll(async () => {
    admin = kubeHttpFor(servers.kube.kubeconfigs.admin);
    namespace = await freshNamespace(admin, 'status');
    const cart = await post<{ metadata: { uid: string } }>(apps('deployments'), {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'cart', namespace, annotations: { 'deployment.kubernetes.io/revision': '2' }, labels: { 'kustomize.toolkit.fluxcd.io/name': 'apps', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system' } },
      spec: { replicas: 3, progressDeadlineSeconds: 120, selector: { matchLabels: { app: 'cart' } }, template: template('registry.example/cart:2.0.1') },
    });
    const owner = { name: 'cart', uid: cart.metadata.uid };
    await writeStatus(admin, apps('deployments', 'cart'), {
      observedGeneration: 1,
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 2,
      availableReplicas: 2,
      conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "cart-2222" has timed out progressing.', lastUpdateTime: new Date().toISOString(), lastTransitionTime: new Date().toISOString() }],
    });
    await replicaSet(owner, 'cart-1111', 1, 'registry.example/cart:1.9.0', 'first deploy');
    await replicaSet(owner, 'cart-2222', 2, 'registry.example/cart:2.0.1', 'kubectl set image deployment/cart cart=registry.example/cart:2.0.1');
    // Same labels, another owner (a namesake deleted and re-created): not cart's history.
    await replicaSet({ name: 'cart', uid: '00000000-0000-0000-0000-000000000000' }, 'cart-9999', 7, 'registry.example/cart:stale');

    const pod = (name: string) => post(`/api/v1/namespaces/${namespace}/pods`, { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels: { app: 'cart' } }, spec: { containers: [{ name: 'cart', image: 'registry.example/cart:2.0.1' }] } });
    await pod('cart-2222-aaaaa');
    await pod('cart-2222-bbbbb');
    await writeStatus(admin, `/api/v1/namespaces/${namespace}/pods/cart-2222-aaaaa`, { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'cart', ready: true, restartCount: 0, image: 'registry.example/cart:2.0.1', imageID: '', state: { running: {} } }] });
    await writeStatus(admin, `/api/v1/namespaces/${namespace}/pods/cart-2222-bbbbb`, {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'False' }],
      containerStatuses: [{ name: 'cart', ready: false, restartCount: 6, image: 'registry.example/cart:2.0.1', imageID: '', state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 5m0s' } } }],
    });
    const event = (name: string, kind: string, object: string, reason: string, message: string) =>
      post(`/api/v1/namespaces/${namespace}/events`, { apiVersion: 'v1', kind: 'Event', metadata: { name, namespace }, involvedObject: { kind, name: object, namespace }, reason, message, type: 'Warning', count: 4, firstTimestamp: new Date().toISOString(), lastTimestamp: new Date().toISOString(), source: { component: 'kubelet' } });
    await event('cart-backoff', 'Pod', 'cart-2222-bbbbb', 'BackOff', 'Back-off restarting failed container cart');
    await event('other-backoff', 'Pod', 'other-7f7f-zzzzz', 'OtherPodTrouble', 'not cart');

    // A Deployment with twelve revisions, for paging.
    const busy = await post<{ metadata: { uid: string } }>(apps('deployments'), { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'busy', namespace }, spec: { replicas: 1, selector: { matchLabels: { app: 'busy' } }, template: { metadata: { labels: { app: 'busy' } }, spec: { containers: [{ name: 'busy', image: 'registry.example/busy:1' }] } } } });
    for (let revision = 1; revision <= 12; revision++) await replicaSet({ name: 'busy', uid: busy.metadata.uid }, `busy-${revision}`, revision, `registry.example/busy:${revision}`);

    // A StatefulSet with two ControllerRevisions (what its controller would have made).
    const db = await post<{ metadata: { uid: string } }>(apps('statefulsets'), { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db', namespace }, spec: { replicas: 1, serviceName: 'db', selector: { matchLabels: { app: 'db' } }, template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image: 'registry.example/db:15' }] } } } });
    for (const [revision, image] of [[1, 'registry.example/db:14'], [2, 'registry.example/db:15']] as const) {
      await post(apps('controllerrevisions'), {
        apiVersion: 'apps/v1',
        kind: 'ControllerRevision',
        metadata: { name: `db-rev${revision}`, namespace, labels: { app: 'db' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: db.metadata.uid, controller: true }] },
        revision,
        data: { spec: { template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image }] } } } },
      });
    }

    const role = (name: string, rules: unknown[]): KubeObject => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace }, rules }) as KubeObject;
    await createOrReplace(admin, role('viewer', [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'] }]));
    await createOrReplace(admin, role('operator', [
      { apiGroups: ['apps'], resources: ['deployments', 'replicasets', 'statefulsets', 'controllerrevisions'], verbs: ['get', 'list'] },
      { apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['get', 'patch'] },
      { apiGroups: [''], resources: ['pods', 'events'], verbs: ['list'] },
      { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: ['list'] },
      { apiGroups: ['lookout.dev'], resources: ['silences'], verbs: ['create', 'list'] },
    ]));
    await createOrReplace(admin, roleBinding(namespace, 'alice-views', { kind: 'Role', name: 'viewer' }, { kind: 'User', name: 'slack:alice' }));
    await createOrReplace(admin, roleBinding(namespace, 'carol-operates', { kind: 'Role', name: 'operator' }, { kind: 'User', name: 'slack:carol' }));
    restoreImpersonation = await impersonateOnly(admin, ['slack:alice', 'slack:bob', 'slack:carol']);
    await eventually('the RoleBindings to take effect', async () =>
      (await reviewAccess(admin, { username: 'slack:alice', groups: [] }, { verb: 'get', group: 'apps', resource: 'deployments', namespace, name: 'cart' })).allowed &&
      (await reviewAccess(admin, { username: 'slack:carol', groups: [] }, { verb: 'list', group: 'lookout.dev', resource: 'silences', namespace })).allowed,
    );

    const port = await freePort();
    alertmanager = await startAlertmanager({ webhookUrl: `http://127.0.0.1:${port}/alertmanager`, webhookToken: WEBHOOK_TOKEN });
    bed = await startLookoutTestBed({
      slack: { users: [ALICE, BOB, CAROL] },
      config: { channel: 'C0ALERTS', identities: IDENTITIES },
      signingSecret: SIGNING_SECRET,
      webhookToken: WEBHOOK_TOKEN,
      extraEnv: { KUBECONFIG: servers.kube.kubeconfigs.bot, ALERTMANAGER_URL: alertmanager.url },
    });
    slack = bed.slack;
    lookout = await startLookout(bed.env, port);

    const startsAt = new Date(Date.now() - 10 * 60_000).toISOString();
    await alertmanager.postAlerts([
      { labels: { alertname: 'KubeDeploymentReplicasMismatch', namespace, deployment: 'cart', severity: 'warning' }, annotations: { summary: 'cart has 2 of 3 replicas available' }, startsAt },
      { labels: { alertname: 'KubePodCrashLooping', namespace, pod: 'cart-2222-bbbbb', severity: 'critical' }, startsAt },
      { labels: { alertname: 'KubeDeploymentRolloutStuck', namespace, deployment: 'cart', severity: 'critical' }, startsAt },
      { labels: { alertname: 'CartApiDown', namespace, deployment: 'cart-api' }, startsAt },
      { labels: { alertname: 'CartElsewhere', namespace: `${namespace}-other`, deployment: 'cart' }, startsAt },
    ]);
    // Lookout posts the mismatch alert's message (the card links to it); then the critical ones are silenced.
    await waitFor('Lookout to post the mismatch alert', () => slack.messages('C0ALERTS').find((message) => message.text.includes('KubeDeploymentReplicasMismatch')), 20_000);
    const am = new AlertmanagerClient({ baseUrl: alertmanager.url, requestTimeoutMs: 5000 });
    silenceId = await am.createSilence({ matchers: [{ name: 'severity', value: 'critical', isRegex: false, isEqual: true }, { name: 'namespace', value: namespace, isRegex: false, isEqual: true }], startsAt: new Date(), endsAt: new Date(Date.now() + 3_600_000), createdBy: 'test', comment: 'known crash loop' });
    await waitFor('Alertmanager to mark the critical alerts silenced', async () => {
      const critical = await am.listAlerts([`namespace="${namespace}"`, 'severity="critical"']);
      return critical.length === 2 && critical.every((alert) => alert.silencedBy.includes(silenceId)) ? true : undefined;
    });
  }, 120_000);

  afterAll(async () => {
    await lookout?.stop();
    await bed?.close();
    await alertmanager?.stop();
    await restoreImpersonation?.();
  });

  const postsTo = (url: string): Post[] => {
    const id = url.slice(url.lastIndexOf('/') + 1);
    return slack.responseUrlPosts.filter((candidate) => candidate.id === id).map((candidate) => candidate.body as Post);
  };

  async function ops(user: { id: string; name: string }, text: string): Promise<Post> {
    const url = slack.responseUrl();
    const signed = signedSlackForm(SIGNING_SECRET, slashCommandBody({ user_id: user.id, user_name: user.name, text, response_url: url }), Math.floor(Date.now() / 1000));
    const res = await fetch(`${lookout.url}/slack/events`, { method: 'POST', headers: { ...signed.headers }, body: signed.body });
    expect(res.status).toBe(200);
    return waitFor(`the reply to "${text}"`, () => postsTo(url)[0]);
  }

  async function click(user: { id: string; name: string }, element: Element): Promise<Post> {
    clicks += 1;
    const url = slack.responseUrl();
    const message = { channel: 'C0ALERTS', ts: `1700000200.${String(clicks).padStart(6, '0')}`, ephemeral: true };
    const res = await postSignedInteraction(lookout.url, SIGNING_SECRET, blockActionsPayload({ user, message, button: { actionId: element.action_id, value: element.value, label: element.text.text }, responseUrl: url }));
    expect(res.status).toBe(200);
    return waitFor(`the reply to ${element.text.text}`, () => postsTo(url)[0]);
  }

  const buttons = (reply: Post): Element[] => (reply.blocks ?? []).filter((block) => block.type === 'actions').flatMap((block) => block.elements ?? []);
  const labels = (reply: Post): string[] => buttons(reply).map((element) => element.text.text);

  it('shows a person with only `get deployments` the card, without pods or events, and no action they may not take', async () => {
    const reply = await ops(ALICE, `status ${namespace}/cart`);
    expect(reply.text).toContain(`*${namespace}/cart* · Deployment · ⚠️ rollout stalled (no progress in 120 s: ProgressDeadlineExceeded`);
    expect(reply.text).toContain('`registry.example/cart:2.0.1`');
    expect(reply.text).toContain('*Replicas* desired 3 · updated 3 · ready 2 · available 2');
    expect(reply.text).toContain('*Pods* _not allowed to see pods_');
    expect(reply.text).toContain('*Warning events* _not allowed to see events_');
    expect(reply.text).toContain('*HPA* _not allowed to see HorizontalPodAutoscalers_');
    expect(reply.text).not.toContain('cart-2222-bbbbb');
    expect(reply.text).not.toContain('Forbidden');
    // Alerts come from Alertmanager; silences only for who may list them. An alert that names a
    // pod is the workload's only for who may see which pods are its own.
    expect(reply.text).toContain('*Alerts* 2 firing');
    expect(reply.text).toContain('🔕 *KubeDeploymentRolloutStuck*');
    expect(reply.text).not.toContain('KubePodCrashLooping');
    expect(reply.text).toContain('*Silences* _not allowed to see silences_');
    expect(reply.text).not.toContain(silenceId);
    expect(labels(reply)).toEqual(['History']);
  });

  it('shows an operator pods, events, alerts of this workload only with links and silences, and the buttons they may use', async () => {
    const reply = await ops(CAROL, `status ${namespace}/cart`);
    expect(reply.text).toContain('*Pods not ready* 1 of 2');
    expect(reply.text).toContain('`cart-2222-bbbbb` cart: CrashLoopBackOff · 6 restarts');
    expect(reply.text).toContain('*BackOff* ×4');
    expect(reply.text).not.toContain('OtherPodTrouble');
    expect(reply.text).toContain('*HPA* none');
    expect(reply.text).toContain('*Alerts* 3 firing');
    expect(reply.text).toContain('🔥 *KubeDeploymentReplicasMismatch*');
    expect(reply.text).toContain('🔕 *KubePodCrashLooping*');
    expect(reply.text).not.toContain('CartApiDown');
    expect(reply.text).not.toContain('CartElsewhere');
    const message = slack.messages('C0ALERTS').find((candidate) => candidate.text.includes('KubeDeploymentReplicasMismatch'));
    // The workspace's own address, from auth.test, as Slack's "Copy link" gives it.
    expect(reply.text).toMatch(new RegExp(`<https://[a-z0-9-]+\\.slack\\.com/archives/C0ALERTS/p${message?.ts.replace('.', '')}\\|message>`));
    expect(reply.text).toContain(`*Silences* 1 active\n• \`${silenceId}\``);
    // Scale allowed (no HPA), Silence allowed; no Restart (no patch deployments), no Logs (no pods/log).
    expect(labels(reply).sort()).toEqual(['History', 'Scale to 2', 'Scale to 4', 'Silence 1h']);
    expect(buttons(reply).find((element) => element.text.text === 'Silence 1h')?.value).toBe(`namespace=${namespace} deployment=cart 1h`);
  });

  it('refuses a person who may not get the workload, naming the permission', async () => {
    const reply = await ops(BOB, `status ${namespace}/cart`);
    expect(reply.text).toBe(`Not allowed: this needs \`get\` on \`deployments.apps\` named cart in namespace ${namespace}.`);
    expect(reply.blocks).toBeUndefined();
  });

  it('runs Scale from the card for the clicker, and the change appears in history with who did it, above the revisions, with the GitOps hint', async () => {
    const card = await ops(CAROL, `status ${namespace}/cart`);
    const scale = buttons(card).find((element) => element.text.text === 'Scale to 4');
    expect(scale).toBeDefined();
    const scaled = await click(CAROL, scale!);
    expect(scaled.text).toContain(`${namespace}/cart: 3 → 4 replicas`);
    const replicas = (await admin.request<{ spec: { replicas: number } }>({ method: 'GET', path: apps('deployments', 'cart') })).spec.replicas;
    expect(replicas).toBe(4);

    const history = await waitFor('the audit Event in history', async () => {
      const reply = await ops(CAROL, `history ${namespace}/cart`);
      return reply.text.includes('ScaledBySlackUser') ? reply : undefined;
    });
    const lines = history.text.split('\n');
    expect(lines[0]).toBe(`*History of ${namespace}/cart* · newest first · page 1 of 1`);
    expect(lines[1]).toContain('⚠️ Managed by Flux Kustomization `flux-system/apps`');
    const order = ['*ScaledBySlackUser* by <@U0CAROL>', '*revision 2* (current) `cart-2222`', '*revision 1* `cart-1111`'].map((needle) => history.text.indexOf(needle));
    expect(order.every((index) => index >= 0)).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(history.text).toContain('replicas 3 → 4');
    expect(history.text).toContain('change-cause: kubectl set image deployment/cart cart=registry.example/cart:2.0.1');
    expect(history.text).not.toContain('cart-9999');
    expect(buttons(history)).toEqual([]);
  });

  it('hides from the viewer the ReplicaSets and events it may not list, without an error', async () => {
    const reply = await ops(ALICE, `history ${namespace}/cart`);
    expect(reply.text).toContain('_not allowed to see ReplicaSets_');
    expect(reply.text).toContain('_not allowed to see events_');
    expect(reply.text).toContain('_No rollout revisions or Lookout actions found._');
  });

  it('shows a StatefulSet its ControllerRevisions and its card', async () => {
    const history = await ops(CAROL, `history ${namespace}/statefulset/db`);
    expect(history.text).toContain(`*History of ${namespace}/statefulset/db*`);
    const rev2 = history.text.indexOf('*revision 2* `db-rev2`\n`db` `registry.example/db:15`');
    const rev1 = history.text.indexOf('*revision 1* `db-rev1`\n`db` `registry.example/db:14`');
    expect(rev2).toBeGreaterThan(0);
    expect(rev1).toBeGreaterThan(rev2);
    const card = await ops(CAROL, `status ${namespace}/sts/db`);
    expect(card.text).toContain(`*${namespace}/statefulset/db* · StatefulSet`);
    expect(card.text).toContain('`registry.example/db:15`');
  });

  it('pages a long history with a More button that runs for whoever clicks it', async () => {
    const first = await ops(CAROL, `history ${namespace}/busy`);
    expect(first.text).toContain('page 1 of 2');
    expect(first.text).toContain('*revision 12*');
    expect(first.text).toContain('*revision 3*');
    expect(first.text).not.toContain('*revision 2*');
    const more = buttons(first);
    expect(more.map((element) => [element.action_id, element.value])).toEqual([['command:run:history', `${namespace}/busy --page 2`]]);
    const second = await click(CAROL, more[0]!);
    expect(second.text).toContain('page 2 of 2');
    expect(second.text).toContain('*revision 2*');
    expect(second.text).toContain('*revision 1*');
    expect(second.text).not.toContain('*revision 3*');
    expect(buttons(second)).toEqual([]);
  });
});
