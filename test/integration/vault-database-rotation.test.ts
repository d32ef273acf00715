import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reviewAccess } from '../../src/kube/access-review.ts';
import type { KubeHttp } from '../../src/kube/kube-http.ts';
import { CONFIRM_ACTION_ID } from '../../src/slack/dispatcher.ts';
import type { FakeSlack } from '../support/fake-slack.ts';
import { waitFor } from '../support/free-port.ts';
import { eventually, freshNamespace, mountLookoutToken, roleBinding, TOKEN_FILE_PLACEHOLDER, writeStatus } from '../support/kube-test-helpers.ts';
import { startLookout, type LookoutProcess } from '../support/lookout-process.ts';
import { startLookoutTestBed, type LookoutTestBed } from '../support/lookout-test-bed.ts';
import { expectNoSecretLeaks } from '../support/secret-leaks.ts';
import { createOrReplace, type KubeObject } from '../support/servers/kube-objects.ts';
import { kubeHttpFor } from '../support/servers/kubeconfigs.ts';
import { testServers } from '../support/servers/test-servers.ts';
import { signedSlackForm, slashCommandBody } from '../support/sign-slack-request.ts';
import { blockActionsPayload, postSignedInteraction } from '../support/slack-interactions.ts';

/*
 * `/ops rotate database/static-role/<name>` end to end: Lookout as `npm start` runs it, logged in
 * to the harness's OpenBao with Kubernetes auth as role `lookout` (the harness's policy: read
 * static roles, rotate them, no static-creds), a signed slash command and a click on Rotate, the
 * fake Slack; OpenBao changes the password in the harness's real PostgreSQL. The password is
 * read only by the test (root token). A small loop completes Deployment rollouts, as the
 * controller would (no controllers run).
 */

const SIGNING_SECRET = 'vault-database-signing-secret-0123';
const ALICE = { id: 'U0DBALICE', name: 'alice' };

type Post = { text: string; blocks?: Array<{ type: string; elements?: Array<{ action_id: string; value: string }> }> };

describe('/ops rotate database/static-role/<name> against the real OpenBao and PostgreSQL', () => {
  const servers = testServers();
  const role = `rotated_${randomBytes(3).toString('hex')}`;
  const path = `${servers.bao.database.mount}/static-role/${role}`;
  let namespace: string;
  let admin: KubeHttp;
  let bed: LookoutTestBed;
  let slack: FakeSlack;
  let lookout: LookoutProcess;
  let rollouts: ReturnType<typeof setInterval> | undefined;
  /** Every password the role had, and the superuser's: none may appear anywhere Lookout wrote. */
  const passwords: string[] = [servers.postgres.password];

  const bao = async <T = unknown>(method: string, apiPath: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${servers.bao.addr}/v1/${apiPath}`, {
      method,
      headers: { 'x-vault-token': servers.bao.rootToken, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`OpenBao ${method} ${apiPath}: ${res.status}`);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  };
  const currentPassword = async (): Promise<string> => {
    const { data } = await bao<{ data: { password: string } }>('GET', `${servers.bao.database.mount}/static-creds/${role}`);
    passwords.push(data.password);
    return data.password;
  };
  const logIn = async (password: string): Promise<void> => {
    const client = new pg.Client({ host: '127.0.0.1', port: servers.postgres.port, user: role, password, database: 'postgres', connectionTimeoutMillis: 5_000 });
    await client.connect();
    await client.end();
  };
  const restartedAt = async (name: string): Promise<string | undefined> => {
    const object = await admin.request<{ spec: { template: { metadata?: { annotations?: Record<string, string> } } } }>({ method: 'GET', path: `/apis/apps/v1/namespaces/${namespace}/deployments/${name}` });
    return object.spec.template.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'];
  };
  const completeRollouts = async (): Promise<void> => {
    const { items } = await admin.request<{ items: Array<{ metadata: { name: string; generation: number }; spec: { replicas: number }; status?: { observedGeneration?: number } }> }>({
      method: 'GET',
      path: `/apis/apps/v1/namespaces/${namespace}/deployments`,
    });
    for (const item of items) {
      if ((item.status?.observedGeneration ?? 0) >= item.metadata.generation) continue;
      const replicas = item.spec.replicas;
      await writeStatus(admin, `/apis/apps/v1/namespaces/${namespace}/deployments/${item.metadata.name}`, { observedGeneration: item.metadata.generation, replicas, updatedReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas });
    }
  };

  beforeAll(async () => {
    admin = kubeHttpFor(servers.kube.kubeconfigs.admin);
    namespace = await freshNamespace(admin, 'dbrotate');
    // A PostgreSQL role and static role of this file's own: other files log in as `app`.
    const client = new pg.Client({ connectionString: servers.postgres.url });
    await client.connect();
    await client.query(`CREATE ROLE ${role} LOGIN PASSWORD '${randomBytes(12).toString('hex')}'`);
    await client.end();
    await bao('POST', `${servers.bao.database.mount}/static-roles/${role}`, { db_name: servers.bao.database.connection, username: role, rotation_period: '24h' });

    const deployment = (name: string, annotations: Record<string, string>): KubeObject => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace, annotations },
      spec: { replicas: 2, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: `registry.example/${name}:1` }] } } },
    });
    for (const object of [deployment('api', { 'lookout.dev/vault-secrets': path }), deployment('unrelated', {})]) {
      await admin.request({ method: 'POST', path: `/apis/apps/v1/namespaces/${namespace}/deployments`, body: object });
    }
    await createOrReplace(admin, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'db-rotator', namespace },
      rules: [
        { apiGroups: ['lookout.dev'], resources: ['vaultsecrets'], verbs: ['rotate'] },
        { apiGroups: ['apps'], resources: ['deployments'], verbs: ['patch'] },
      ],
    } as KubeObject);
    await createOrReplace(admin, roleBinding(namespace, 'alice-rotates', { kind: 'Role', name: 'db-rotator' }, { kind: 'User', name: 'slack:alice' }));
    await eventually('the RoleBinding to take effect', async () => (await reviewAccess(admin, { username: 'slack:alice', groups: [] }, { verb: 'rotate', group: 'lookout.dev', resource: 'vaultsecrets', namespace, name: path })).allowed);

    bed = await startLookoutTestBed({
      slack: { users: [ALICE] },
      config: {
        channel: 'C0ALERTS',
        identities: { prefix: 'slack:', users: [{ slack: ALICE.id, user: 'alice' }] },
        rollout: { timeout: '20s', pollInterval: '100ms' },
        interactions: { progressInterval: '500ms' },
        vault: { auth: { method: 'kubernetes', role: servers.bao.role, tokenFile: TOKEN_FILE_PLACEHOLDER }, secrets: [{ path: `${servers.bao.database.mount}/static-role/*`, namespace }] },
      },
      signingSecret: SIGNING_SECRET,
      extraEnv: { KUBECONFIG: servers.kube.kubeconfigs.bot, VAULT_ADDR: servers.bao.addr },
    });
    await mountLookoutToken(admin, bed);
    slack = bed.slack;
    lookout = await startLookout(bed.env);
    rollouts = setInterval(() => void completeRollouts().catch(() => undefined), 100);
  });

  afterAll(async () => {
    clearInterval(rollouts);
    await lookout?.stop();
    await bed?.close();
  });

  const postsTo = (url: string): Post[] => {
    const id = url.slice(url.lastIndexOf('/') + 1);
    return slack.responseUrlPosts.filter((post) => post.id === id).map((post) => post.body as Post);
  };

  it('a person allowed by RBAC rotates the role from Slack: the database password really changes, the annotated consumer restarts, no password anywhere', async () => {
    const old = await currentPassword();
    await logIn(old);

    const url = slack.responseUrl();
    const signed = signedSlackForm(SIGNING_SECRET, slashCommandBody({ user_id: ALICE.id, user_name: ALICE.name, text: `rotate ${path}`, response_url: url }), Math.floor(Date.now() / 1000));
    expect((await fetch(`${lookout.url}/slack/events`, { method: 'POST', headers: { ...signed.headers }, body: signed.body })).status).toBe(200);
    const preview = await waitFor('the preview', () => postsTo(url)[0]);
    expect(preview.text).toContain(`Rotate database static role *${role}*`);
    expect(preview.text).toContain('api (annotated lookout.dev/vault-secrets)');
    expect(preview.text).not.toContain('unrelated');
    // Nothing changes before Rotate is clicked.
    await logIn(old);

    const confirm = preview.blocks?.flatMap((block) => block.elements ?? []).find((element) => element.action_id === CONFIRM_ACTION_ID);
    expect(confirm).toBeDefined();
    const clickUrl = slack.responseUrl();
    const payload = blockActionsPayload({ user: ALICE, message: { channel: 'C0ALERTS', ts: `${Math.floor(Date.now() / 1000)}.000100`, ephemeral: true }, button: { actionId: CONFIRM_ACTION_ID, value: confirm?.value ?? '' }, responseUrl: clickUrl });
    expect((await postSignedInteraction(lookout.url, SIGNING_SECRET, payload)).status).toBe(200);
    const done = await waitFor('the final reply', () => postsTo(clickUrl).find((post) => /api restarted \(2\/2 ready\)/.test(post.text)), 20_000);
    expect(done.text).toContain(`*${path}*: password of database user \`${role}\` rotated by Vault`);

    const fresh = await currentPassword();
    expect(fresh).not.toBe(old);
    await expect(logIn(old)).rejects.toMatchObject({ code: '28P01' });
    await expect(logIn(fresh)).resolves.toBeUndefined();
    expect(await restartedAt('api')).toBeDefined();
    expect(await restartedAt('unrelated')).toBeUndefined();

    await expectNoSecretLeaks(passwords, { slack, output: () => lookout.output(), lookoutUrl: lookout.url, events: { admin, namespaces: [namespace] } });
  });
});
