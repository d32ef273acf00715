import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identitiesSchema } from '../../src/identity/identity-config.ts';
import { IdentityResolver } from '../../src/identity/resolve-identity.ts';
import { SlackWebDirectory } from '../../src/identity/slack-web-directory.ts';
import { reviewAccess } from '../../src/kube/access-review.ts';
import type { KubeHttp } from '../../src/kube/kube-http.ts';
import { PersonKubeClient } from '../../src/kube/person-kube.ts';
import type { FakeSlack } from '../support/fake-slack.ts';
import { impersonateOnly, roleBinding, statusOf } from '../support/kube-test-helpers.ts';
import { waitFor } from '../support/free-port.ts';
import { startLookout, type LookoutProcess } from '../support/lookout-process.ts';
import { startLookoutTestBed, type LookoutTestBed } from '../support/lookout-test-bed.ts';
import { createOrReplace, ensureObject, type KubeObject } from '../support/servers/kube-objects.ts';
import { kubeHttpFor } from '../support/servers/kubeconfigs.ts';
import { testServers } from '../support/servers/test-servers.ts';
import { signedSlackForm, slashCommandBody } from '../support/sign-slack-request.ts';

/*
 * The RBAC gate end to end: Lookout runs as `npm start` does, with the bot's kubeconfig
 * (ServiceAccount lookout/lookout bound by manifests/base/rbac.yaml), against the real
 * kube-apiserver and the fake Slack, driven by signed slash commands.
 *
 *   alice  (user-id rule → slack:alice, group slack:oncall)   RoleBinding: may scale `cart`
 *   bob    (user-id rule → slack:bob, no groups)              no RoleBinding
 *   carol  (member of two Slack user groups → slack:U0CAROL,  only the SECOND group,
 *           groups slack:oncall and slack:sre)                 slack:sre, may read deployments
 *   dave   (member of the first user group only)              nothing: the mapping never yields slack:sre
 *   mallory (in Slack, no rule)                               unmapped
 */

const SIGNING_SECRET = 'rbac-gate-signing-secret-0123456789';
const ALICE = { id: 'U0ALICE', name: 'alice' };
const BOB = { id: 'U0BOB', name: 'bob' };
const CAROL = { id: 'U0CAROL', name: 'carol' };
const DAVE = { id: 'U0DAVE', name: 'dave' };
const MALLORY = { id: 'U0MALLORY', name: 'mallory' };
// A Slack Connect partner: users.info places them in another workspace; a user-id rule names them.
const PARTNER = { id: 'U0PARTNER', name: 'partner', teamId: 'T0PARTNER' };
const IDENTITIES = {
  prefix: 'slack:',
  users: [
    { slack: ALICE.id, user: 'alice', groups: ['oncall'] },
    { slack: BOB.id, user: 'bob' },
    { slack: PARTNER.id, user: 'partner' },
  ],
  usergroups: [
    { slack: 'S0ONCALL', groups: ['oncall'] },
    { slack: 'S0SRE', groups: ['sre'] },
  ],
};
const IMPERSONABLE = { users: ['slack:alice', 'slack:bob', 'slack:U0CAROL', 'slack:U0DAVE'], groups: ['slack:oncall', 'slack:sre'] };

const rbac = (kind: string, namespace: string, name: string, rest: Record<string, unknown>): KubeObject => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind,
  metadata: { name, namespace },
  ...rest,
});
describe('the RBAC gate against the real kube-apiserver', () => {
  const servers = testServers();
  const namespace = `rbac-${randomBytes(4).toString('hex')}`;
  let admin: KubeHttp;
  let bot: KubeHttp;
  let bed: LookoutTestBed;
  let slack: FakeSlack;
  let lookout: LookoutProcess;
  let restoreImpersonation: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    admin = kubeHttpFor(servers.kube.kubeconfigs.admin);
    bot = kubeHttpFor(servers.kube.kubeconfigs.bot);

    await ensureObject(admin, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
    await admin.request({
      method: 'POST',
      path: `/apis/apps/v1/namespaces/${namespace}/deployments`,
      body: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'cart', namespace },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'cart' } },
          template: { metadata: { labels: { app: 'cart' } }, spec: { containers: [{ name: 'cart', image: 'registry.example/cart:1' }] } },
        },
      },
    });
    await createOrReplace(admin, rbac('Role', namespace, 'cart-scaler', { rules: [{ apiGroups: ['apps'], resources: ['deployments', 'deployments/scale'], resourceNames: ['cart'], verbs: ['get', 'patch'] }] }));
    await createOrReplace(admin, rbac('Role', namespace, 'deployment-reader', { rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list'] }] }));
    await createOrReplace(admin, roleBinding(namespace, 'alice-scales-cart', { kind: 'Role', name: 'cart-scaler' }, { kind: 'User', name: 'slack:alice' }));
    await createOrReplace(admin, roleBinding(namespace, 'sre-reads', { kind: 'Role', name: 'deployment-reader' }, { kind: 'Group', name: 'slack:sre' }));

    // The bot may impersonate exactly the names this test's identity rules produce.
    restoreImpersonation = await impersonateOnly(admin, IMPERSONABLE.users, IMPERSONABLE.groups);

    // RBAC reaches the authorizer through informers: wait until every grant above shows.
    const ready = async () =>
      (await reviewAccess(admin, { username: 'slack:alice', groups: [] }, { verb: 'patch', group: 'apps', resource: 'deployments', subresource: 'scale', namespace, name: 'cart' })).allowed &&
      (await reviewAccess(admin, { username: 'slack:x', groups: ['slack:sre'] }, { verb: 'get', group: 'apps', resource: 'deployments', namespace })).allowed &&
      (await statusOf(bot.request({ method: 'POST', path: '/apis/authentication.k8s.io/v1/selfsubjectreviews', body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }, impersonate: { username: 'slack:U0DAVE', groups: ['slack:oncall'] } }))) === 200;
    await waitFor('the RoleBindings and the impersonation names to take effect', async () => ((await ready()) ? true : undefined), 15_000, 100);

    bed = await startLookoutTestBed({
      slack: {
        users: [ALICE, BOB, CAROL, DAVE, MALLORY, PARTNER],
        usergroups: { S0ONCALL: [CAROL.id, DAVE.id], S0SRE: [CAROL.id] },
      },
      config: { channel: 'C0ALERTS', identities: IDENTITIES },
      signingSecret: SIGNING_SECRET,
      webhookToken: 'rbac-gate-webhook-token-0123456',
      extraEnv: { KUBECONFIG: servers.kube.kubeconfigs.bot },
    });
    slack = bed.slack;
    lookout = await startLookout(bed.env);
  });

  afterAll(async () => {
    await lookout?.stop();
    await bed?.close();
    // Other test files share the servers: give the impersonation role back as rbac.yaml has it.
    await restoreImpersonation?.();
  });

  /** Sends a signed `/ops …` as `user` and returns the reply Lookout posts to the response_url. */
  async function ops(user: { id: string; name: string }, text: string, teamId?: string): Promise<string> {
    const responseUrl = slack.responseUrl();
    const team = teamId === undefined ? {} : { team_id: teamId };
    const signed = signedSlackForm(SIGNING_SECRET, slashCommandBody({ user_id: user.id, user_name: user.name, text, response_url: responseUrl, ...team }), Math.floor(Date.now() / 1000));
    const res = await fetch(`${lookout.url}/slack/events`, { method: 'POST', headers: { ...signed.headers }, body: signed.body });
    expect(res.status).toBe(200);
    const id = responseUrl.slice(responseUrl.lastIndexOf('/') + 1);
    const post = await waitFor(`the reply to "${text}"`, () => slack.responseUrlPosts.find((candidate) => candidate.id === id));
    const body = post.body as { response_type: string; text: string };
    expect(body.response_type).toBe('ephemeral');
    return body.text;
  }

  it('allows a mapped user with a RoleBinding, and whoami shows her identity as the API server sees it', async () => {
    expect(await ops(ALICE, `can-i patch deployments/scale -n ${namespace} cart`)).toBe(
      `*yes* — \`slack:alice\` may do \`patch\` on \`deployments/scale.apps\` named cart in namespace ${namespace}.`,
    );
    // The binding names `cart` only.
    expect(await ops(ALICE, `can-i patch deploy/scale -n ${namespace} ledger`)).toMatch(/^\*no\*/);
    const whoami = await ops(ALICE, 'whoami');
    expect(whoami).toContain('*You are* `slack:alice` to Kubernetes');
    expect(whoami).toContain('*Groups:* `slack:oncall`');
    expect(whoami).toContain(`user slack:alice from the rule for Slack user ${ALICE.id}`);
    expect(whoami).toContain('*Kubernetes sees:* `slack:alice` in groups `slack:oncall`, `system:authenticated`');
  });

  it('tells a mapped user without a RoleBinding which permission is missing', async () => {
    expect(await ops(BOB, `can-i patch deployments/scale -n ${namespace} cart`)).toBe(
      `*no* — \`slack:bob\` may not do \`patch\` on \`deployments/scale.apps\` named cart in namespace ${namespace}.`,
    );
  });

  it('refuses an unmapped user, saying how to get access', async () => {
    for (const reply of [await ops(MALLORY, `can-i get deployments -n ${namespace}`), await ops(MALLORY, 'whoami')]) {
      expect(reply).toContain('not mapped to a Kubernetes identity');
      expect(reply).toContain(`\`${MALLORY.id}\``);
      expect(reply).toContain('identity rule');
      expect(reply).toContain('docs/rbac.md');
    }
  });

  it('refuses people of another workspace (Slack Connect), whatever rule or RoleBinding names them', async () => {
    const foreign = "This workspace's Lookout only acts for members of its own Slack workspace";
    // The request says the command came from another team: refused before any mapping or review.
    expect(await ops(ALICE, `can-i patch deployments/scale -n ${namespace} cart`, 'T0PARTNER')).toContain(foreign);
    expect(await ops(ALICE, 'whoami', 'T0PARTNER')).toContain(foreign);
    // The request names Lookout's team, but users.info places the person in another one.
    expect(await ops(PARTNER, `can-i get deployments -n ${namespace}`)).toContain(foreign);
    // The fake Slack's auth.test team is the one signed requests carry by default: members still act.
    expect(await ops(ALICE, `can-i patch deployments/scale -n ${namespace} cart`, 'T0LOOKOUT')).toMatch(/^\*yes\*/);
  });

  it('grants through a group RoleBinding only when the mapping yields that group', async () => {
    expect(await ops(CAROL, `can-i list deployments -n ${namespace}`)).toMatch(/^\*yes\* — `slack:U0CAROL` may/);
    expect(await ops(DAVE, `can-i list deployments -n ${namespace}`)).toMatch(/^\*no\* — `slack:U0DAVE` may not/);
  });

  it('impersonates every group on its own header line: a user mapped to two groups gets the union', async () => {
    // Through Lookout: whoami's SelfSubjectReview is made via ctx.kube as carol.
    const whoami = await ops(CAROL, 'whoami');
    expect(whoami).toContain('*Groups:* `slack:oncall`, `slack:sre`');
    expect(whoami).toContain('*Kubernetes sees:* `slack:U0CAROL` in groups `slack:oncall`, `slack:sre`, `system:authenticated`');

    // The same port in process, reading the deployment: only the SECOND group is bound, so a
    // request whose groups were joined into one header value (or cut to the first) is refused.
    const resolver = new IdentityResolver({ config: identitiesSchema.parse(IDENTITIES), directory: new SlackWebDirectory({ token: slack.token, apiUrl: slack.url }) });
    const personKube = (slackUserId: string) =>
      new PersonKubeClient({
        kube: bot,
        identity: async () => {
          const resolution = await resolver.resolve(slackUserId);
          if (!resolution.ok) throw new Error(resolution.reason);
          return resolution.identity;
        },
      });
    const readCart = { method: 'GET' as const, path: `/apis/apps/v1/namespaces/${namespace}/deployments/cart` };
    const deployment = await personKube(CAROL.id).request<{ metadata: { name: string } }>(readCart);
    expect(deployment.metadata.name).toBe('cart');
    expect(await statusOf(personKube(DAVE.id).request(readCart))).toBe(403);
  });

  it('lets the bot impersonate only the names in its resourceNames', async () => {
    const selfReview = { method: 'POST' as const, path: '/apis/authentication.k8s.io/v1/selfsubjectreviews', body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } };
    expect(await statusOf(bot.request({ ...selfReview, impersonate: { username: 'slack:alice', groups: ['slack:oncall'] } }))).toBe(200);
    expect(await statusOf(bot.request({ ...selfReview, impersonate: { username: 'slack:mallory', groups: [] } }))).toBe(403);
    // A listed user with one unlisted group is refused as a whole.
    expect(await statusOf(bot.request({ ...selfReview, impersonate: { username: 'slack:alice', groups: ['slack:oncall', 'system:masters'] } }))).toBe(403);
    // And the bot itself has no write rights on workloads: only the people it acts for do.
    expect(await statusOf(bot.request({ method: 'PATCH', path: `/apis/apps/v1/namespaces/${namespace}/deployments/cart/scale`, contentType: 'application/merge-patch+json', body: { spec: { replicas: 3 } } }))).toBe(403);
  });

  it('never leaked an internal error while answering', () => {
    expect(lookout.output()).not.toContain('"msg":"command failed"');
  });
});
