import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reviewAccess } from '../../src/kube/access-review.ts';
import type { KubeHttp } from '../../src/kube/kube-http.ts';
import { CANCEL_ACTION_ID, CONFIRMATION_GONE, CONFIRMATION_UNREADABLE, CONFIRM_ACTION_ID } from '../../src/slack/dispatcher.ts';
import type { FakeSlack } from '../support/fake-slack.ts';
import { eventually, freshNamespace, impersonateOnly, roleBinding } from '../support/kube-test-helpers.ts';
import { waitFor } from '../support/free-port.ts';
import type { LookoutProcess } from '../support/lookout-process.ts';
import { isReady, startReplicas } from '../support/lookout-replicas.ts';
import { startLookoutTestBed, type LookoutTestBed } from '../support/lookout-test-bed.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres-database.ts';
import { createOrReplace } from '../support/servers/kube-objects.ts';
import { startPostgres, type Postgres } from '../support/servers/postgresql.ts';
import { Supervisor } from '../support/servers/processes.ts';
import { kubeHttpFor } from '../support/servers/kubeconfigs.ts';
import { testServers } from '../support/servers/test-servers.ts';
import { signedSlackForm, slashCommandBody } from '../support/sign-slack-request.ts';
import { blockActionsPayload, postSignedInteraction } from '../support/slack-interactions.ts';

/*
 * Issue 16: any replica takes a click. Two Lookout processes (as `npm start` runs them) share one
 * PostgreSQL database and one fake Slack, as two replicas behind one Service do. The PostgreSQL
 * server is the file's own (the last test stops and starts it). A question asked by one is confirmed through the other, once;
 * a question whose world changed is asked again, and that new question can be confirmed on
 * either. alice (slack:alice) may get and patch deployments/scale in the namespace, no more.
 */

const SIGNING_SECRET = 'two-replicas-signing-secret-0123456789';
const ALICE = { id: 'U0ALICE', name: 'alice' };
const BOB = { id: 'U0BOB', name: 'bob' };

describe('a Confirm click on another replica than the one that asked', () => {
  const servers = testServers();
  let namespace: string;
  let admin: KubeHttp;
  let bed: LookoutTestBed;
  let database: TestDatabase;
  let dir: string;
  const supervisor = new Supervisor();
  let postgres: Postgres;
  let slack: FakeSlack;
  let replicas: [LookoutProcess, LookoutProcess];
  let restoreImpersonation: (() => Promise<void>) | undefined;
  let clicks = 0;

  const scalePath = () => `/apis/apps/v1/namespaces/${namespace}/deployments/cart/scale`;
  // The scale subresource omits replicas: 0.
  const replicasOfCart = async () => (await admin.request<{ spec: { replicas?: number } }>({ method: 'GET', path: scalePath() })).spec.replicas ?? 0;
  const setCart = (count: number) => admin.request({ method: 'PATCH', path: scalePath(), contentType: 'application/merge-patch+json', body: { spec: { replicas: count } } });

  beforeAll(async () => {
    admin = kubeHttpFor(servers.kube.kubeconfigs.admin);
    namespace = await freshNamespace(admin, 'replicas');
    await admin.request({
      method: 'POST',
      path: `/apis/apps/v1/namespaces/${namespace}/deployments`,
      body: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'cart', namespace }, spec: { replicas: 4, selector: { matchLabels: { app: 'cart' } }, template: { metadata: { labels: { app: 'cart' } }, spec: { containers: [{ name: 'cart', image: 'registry.example/cart:1' }] } } } },
    });
    await createOrReplace(admin, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'scaler', namespace }, rules: [{ apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['get', 'patch'] }] });
    await createOrReplace(admin, roleBinding(namespace, 'alice-scales', { kind: 'Role', name: 'scaler' }, { kind: 'User', name: 'slack:alice' }));
    restoreImpersonation = await impersonateOnly(admin, ['slack:alice', 'slack:bob']);
    await eventually('the RoleBinding to take effect', async () =>
      (await reviewAccess(admin, { username: 'slack:alice', groups: [] }, { verb: 'patch', group: 'apps', resource: 'deployments', subresource: 'scale', namespace, name: 'cart' })).allowed,
    );
    bed = await startLookoutTestBed({
      slack: { users: [ALICE, BOB] },
      config: { channel: 'C0ALERTS', identities: { prefix: 'slack:', users: [{ slack: ALICE.id, user: 'alice' }, { slack: BOB.id, user: 'bob' }] }, rollout: { timeout: '2s', pollInterval: '100ms' } },
      signingSecret: SIGNING_SECRET,
      extraEnv: { KUBECONFIG: servers.kube.kubeconfigs.bot },
    });
    slack = bed.slack;
    dir = mkdtempSync(join(tmpdir(), 'lookout-confirm-replicas-'));
    // PostgreSQL runs as user postgres when the tests run as root: it must reach the directory.
    chmodSync(dir, 0o755);
    postgres = await startPostgres({ dir: join(dir, 'run'), supervisor });
    database = await createTestDatabase(postgres);
    const [first, second] = await startReplicas(bed, database.url, ['replica-a', 'replica-b']);
    replicas = [first!, second!];
  });

  afterAll(async () => {
    await Promise.all((replicas ?? []).map((replica) => replica.stop()));
    await supervisor.stopAll();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    await bed?.close();
    await restoreImpersonation?.();
  });

  type Post = { text: string; blocks?: Array<{ type: string; elements?: Array<{ action_id: string; value: string }> }> };
  const postsTo = (url: string): Post[] => {
    const id = url.slice(url.lastIndexOf('/') + 1);
    return slack.responseUrlPosts.filter((post) => post.id === id).map((post) => post.body as Post);
  };
  const answerOf = (url: string, pattern: RegExp) => waitFor(`an answer matching ${pattern}`, () => postsTo(url).find((post) => pattern.test(post.text)));
  const confirmId = (reply: Post): string => {
    const button = reply.blocks?.find((block) => block.type === 'actions')?.elements?.find((element) => element.action_id === CONFIRM_ACTION_ID);
    if (button === undefined) throw new Error(`no Confirm button in: ${reply.text}`);
    return button.value;
  };

  /** A signed `/ops …` sent to one replica; its first reply. */
  async function ops(replica: LookoutProcess, user: { id: string; name: string }, text: string): Promise<Post> {
    const url = slack.responseUrl();
    const signed = signedSlackForm(SIGNING_SECRET, slashCommandBody({ user_id: user.id, user_name: user.name, text, response_url: url }), Math.floor(Date.now() / 1000));
    expect((await fetch(`${replica.url}/slack/events`, { method: 'POST', headers: { ...signed.headers }, body: signed.body })).status).toBe(200);
    return waitFor(`the reply to "${text}"`, () => postsTo(url)[0]);
  }

  /** A signed click sent to one replica; the click's response_url. */
  async function click(replica: LookoutProcess, user: { id: string; name: string }, actionId: string, value: string): Promise<string> {
    clicks += 1;
    const url = slack.responseUrl();
    const message = { channel: 'C0ALERTS', ts: `1700000200.${String(clicks).padStart(6, '0')}`, ephemeral: true };
    expect((await postSignedInteraction(replica.url, SIGNING_SECRET, blockActionsPayload({ user, message, button: { actionId, value, label: 'Confirm' }, responseUrl: url }))).status).toBe(200);
    return url;
  }

  it('asked on one, confirmed on the other: scales once; the same click on the first finds nothing', async () => {
    const [first, second] = replicas;
    await setCart(4);
    const question = await ops(first, ALICE, `scale ${namespace}/cart 0`);
    expect(question.text).toBe(`Scale *${namespace}/cart* from 4 to 0 replicas? This stops every pod.`);
    const id = confirmId(question);
    // Someone else's click, on either replica, leaves the question to alice.
    await answerOf(await click(second, BOB, CONFIRM_ACTION_ID, id), /expired, was already answered, or is not yours/);
    expect(await replicasOfCart()).toBe(4);

    await answerOf(await click(second, ALICE, CONFIRM_ACTION_ID, id), new RegExp(`^${namespace}/cart: 4 → 0 replicas`));
    expect(await replicasOfCart()).toBe(0);
    const again = await answerOf(await click(first, ALICE, CONFIRM_ACTION_ID, id), /expired/);
    expect(again.text).toBe(CONFIRMATION_GONE);
  });

  it('the world changed between the question (one replica) and Confirm (the other): nothing is done, the new question is asked, and it can be confirmed on the first', async () => {
    const [first, second] = replicas;
    await setCart(4);
    const question = await ops(first, ALICE, `scale ${namespace}/cart 1`);
    expect(question.text).toBe(`Scale *${namespace}/cart* from 4 to 1 replicas? This removes 3 of 4 pods.`);
    await setCart(8);
    const askedAgain = await answerOf(await click(second, ALICE, CONFIRM_ACTION_ID, confirmId(question)), /changed since you asked/);
    expect(askedAgain.text).toBe(`What \`scale ${namespace}/cart 1\` would do changed since you asked, so nothing was done. Now:\nScale *${namespace}/cart* from 8 to 1 replicas? This removes 7 of 8 pods.`);
    expect(await replicasOfCart()).toBe(8);

    await answerOf(await click(first, ALICE, CONFIRM_ACTION_ID, confirmId(askedAgain)), new RegExp(`^${namespace}/cart: 8 → 1 replicas`));
    expect(await replicasOfCart()).toBe(1);
  });

  it('the database down at the click: nothing is done and the clicker is told to click again; once it is back, the same click acts', async () => {
    const [first, second] = replicas;
    await setCart(4);
    const question = await ops(first, ALICE, `scale ${namespace}/cart 0`);
    const id = confirmId(question);
    await postgres.stop();
    try {
      const answer = await answerOf(await click(second, ALICE, CONFIRM_ACTION_ID, id), /./);
      expect(answer.text).toBe(CONFIRMATION_UNREADABLE);
      expect(await replicasOfCart()).toBe(4);
    } finally {
      await postgres.start();
    }
    await eventually('the second replica to be ready again', () => isReady(second.url));
    await answerOf(await click(second, ALICE, CONFIRM_ACTION_ID, id), new RegExp(`^${namespace}/cart: 4 → 0 replicas`));
    expect(await replicasOfCart()).toBe(0);
  });

  it('Cancel on the other replica forgets the question for both', async () => {
    const [first, second] = replicas;
    await setCart(4);
    const question = await ops(second, ALICE, `scale ${namespace}/cart 0`);
    await answerOf(await click(first, ALICE, CANCEL_ACTION_ID, confirmId(question)), /^Cancelled; nothing was changed\.$/);
    await answerOf(await click(second, ALICE, CONFIRM_ACTION_ID, confirmId(question)), /expired/);
    expect(await replicasOfCart()).toBe(4);
  });
});
