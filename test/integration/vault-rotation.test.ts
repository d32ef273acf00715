import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { reviewAccess } from '../../src/kube/access-review.ts';
import type { KubeHttp } from '../../src/kube/kube-http.ts';
import { commandButtonActionId } from '../../commands/command.ts';
import { CANCEL_ACTION_ID, CONFIRM_ACTION_ID } from '../../src/slack/dispatcher.ts';
import { planRollback, rollbackNow } from '../../src/vault/rotate-secret.ts';
import { VaultClient } from '../../src/vault/vault-client.ts';
import type { FakeSlack } from '../support/fake-slack.ts';
import { waitFor } from '../support/free-port.ts';
import { eventually, freshNamespace, impersonateOnly, mountLookoutToken, roleBinding, TOKEN_FILE_PLACEHOLDER, writeStatus } from '../support/kube-test-helpers.ts';
import { startLookout, type LookoutProcess } from '../support/lookout-process.ts';
import { startLookoutTestBed, type LookoutTestBed } from '../support/lookout-test-bed.ts';
import { playExternalSecretsController } from '../support/external-secrets-controller.ts';
import { expectNoSecretLeaks } from '../support/secret-leaks.ts';
import { createOrReplace, type KubeObject } from '../support/servers/kube-objects.ts';
import { kubeHttpFor } from '../support/servers/kubeconfigs.ts';
import { testServers } from '../support/servers/test-servers.ts';
import { signedSlackForm, slashCommandBody } from '../support/sign-slack-request.ts';
import { blockActionsPayload, postSignedInteraction } from '../support/slack-interactions.ts';

/*
 * `/ops rotate` end to end: Lookout as `npm start` runs it, logged in to the harness's real
 * OpenBao with Kubernetes auth (its ServiceAccount token, reviewed by the real kube-apiserver),
 * signed slash commands and clicks, the fake Slack. No controllers run: a small loop in this file
 * writes each Deployment's status once its spec changed, as the Deployment controller would.
 *
 *   alice  slack:alice  Role "rotator": rotate vaultsecrets.lookout.dev + patch deployments
 *   bob    slack:bob    nothing
 *   carol  slack:carol  rotate vaultsecrets.lookout.dev only (no restarts)
 *
 * Every test that rotates ends with a scan of everything captured for every value the secret
 * ever held (afterEach): fake Slack calls, Lookout's output, /metrics, audit Events.
 */

const SIGNING_SECRET = 'vault-rotation-signing-secret-0123';
const ALICE = { id: 'U0ALICE', name: 'alice' };
const BOB = { id: 'U0BOB', name: 'bob' };
const CAROL = { id: 'U0CAROL', name: 'carol' };
const IDENTITIES = { prefix: 'slack:', users: [{ slack: ALICE.id, user: 'alice' }, { slack: BOB.id, user: 'bob' }, { slack: CAROL.id, user: 'carol' }] };

type Post = { text: string; blocks?: Array<{ type: string; elements?: Array<{ action_id: string; value: string }> }> };
type KvRead = { data: { data: Record<string, string>; metadata: { version: number } } };
type KvMetadata = { data: { current_version: number; updated_time: string; custom_metadata: Record<string, string> | null } };

describe('/ops rotate against the real OpenBao and kube-apiserver', () => {
  const servers = testServers();
  const suffix = randomBytes(3).toString('hex');
  const prefix = `rot-${suffix}`;
  const secretPath = `secret/${prefix}/db`;
  const kv1Mount = `kv1-${suffix}`;
  const role = `lookout-rot-${suffix}`;
  let namespace: string;
  let admin: KubeHttp;
  let bed: LookoutTestBed;
  let slack: FakeSlack;
  let lookout: LookoutProcess;
  let restoreImpersonation: (() => Promise<void>) | undefined;
  let rollouts: ReturnType<typeof setInterval> | undefined;
  /** Every value the secret's keys ever held: none may appear anywhere Lookout wrote. */
  const values = new Set<string>();

  /** A call to OpenBao as its root token: the test's own view of Vault. */
  const bao = async <T = unknown>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${servers.bao.addr}/v1/${path}`, {
      method,
      headers: { 'x-vault-token': servers.bao.rootToken, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`OpenBao ${method} ${path}: ${res.status} ${text}`);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  };
  const readSecret = async (path = `${prefix}/db`) => (await bao<KvRead>('GET', `secret/data/${path}`)).data;
  const metadataOf = async (path = `${prefix}/db`) => (await bao<KvMetadata>('GET', `secret/metadata/${path}`)).data;
  const remember = (data: Record<string, string>) => Object.values(data).forEach((value) => values.add(value));
  /** secret/<prefix>/synced as External Secrets writes it into a Secret: base64 values. */
  const syncedData = async () => Object.fromEntries(Object.entries((await readSecret(`${prefix}/synced`)).data).map(([key, value]) => [key, Buffer.from(value).toString('base64')]));
  let stopExternalSecrets: (() => Promise<void>) | undefined;

  const deployment = (name: string, replicas: number, annotations: Record<string, string> = {}): KubeObject => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, annotations },
    spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: `registry.example/${name}:1` }] } } },
  });
  const restartedAt = async (name: string): Promise<string | undefined> => {
    const object = await admin.request<{ spec: { template: { metadata?: { annotations?: Record<string, string> } } } }>({ method: 'GET', path: `/apis/apps/v1/namespaces/${namespace}/deployments/${name}` });
    return object.spec.template.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'];
  };
  /** The Deployment controller's part: a changed spec is rolled out at once. */
  const completeRollouts = async (): Promise<void> => {
    const { items } = await admin.request<{ items: Array<{ metadata: { name: string; generation: number }; spec: { replicas: number }; status?: { observedGeneration?: number } }> }>({
      method: 'GET',
      path: `/apis/apps/v1/namespaces/${namespace}/deployments`,
    });
    for (const item of items) {
      if ((item.status?.observedGeneration ?? 0) >= item.metadata.generation) continue;
      const replicas = item.spec.replicas;
      await writeStatus(admin, `/apis/apps/v1/namespaces/${namespace}/deployments/${item.metadata.name}`, {
        observedGeneration: item.metadata.generation,
        replicas,
        updatedReplicas: replicas,
        readyReplicas: replicas,
        availableReplicas: replicas,
      });
    }
  };

  beforeAll(async () => {
    admin = kubeHttpFor(servers.kube.kubeconfigs.admin);
    namespace = await freshNamespace(admin, 'rotate');
    for (const object of [deployment('api', 3), deployment('worker', 2), deployment('billing', 1, { 'lookout.dev/vault-secrets': `secret/other/x, ${secretPath}` }), deployment('unrelated', 1)]) {
      await admin.request({ method: 'POST', path: `/apis/apps/v1/namespaces/${namespace}/deployments`, body: object });
    }
    // External Secrets copies secret/<prefix>/synced into Secret db-creds, which `mounter` reads.
    const eso = `/apis/external-secrets.io/v1/namespaces/${namespace}`;
    await bao('POST', `secret/data/${prefix}/synced`, { data: { password: randomBytes(18).toString('base64url') } });
    remember((await readSecret(`${prefix}/synced`)).data);
    await admin.request({ method: 'POST', path: `${eso}/secretstores`, body: { apiVersion: 'external-secrets.io/v1', kind: 'SecretStore', metadata: { name: 'vault' }, spec: { provider: { vault: { server: servers.bao.addr, path: 'secret', version: 'v2' } } } } });
    await admin.request({
      method: 'POST',
      path: `${eso}/externalsecrets`,
      body: { apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', metadata: { name: 'db-sync' }, spec: { refreshInterval: '1h', secretStoreRef: { name: 'vault', kind: 'SecretStore' }, target: { name: 'db-creds' }, dataFrom: [{ extract: { key: `${prefix}/synced` } }] } },
    });
    await admin.request({ method: 'POST', path: `/api/v1/namespaces/${namespace}/secrets`, body: { metadata: { name: 'db-creds' }, data: await syncedData() } });
    const mounter = deployment('mounter', 1);
    (mounter['spec'] as { template: { spec: { containers: Array<Record<string, unknown>> } } }).template.spec.containers[0]!['env'] = [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db-creds', key: 'password' } } }];
    await admin.request({ method: 'POST', path: `/apis/apps/v1/namespaces/${namespace}/deployments`, body: mounter });
    stopExternalSecrets = playExternalSecretsController({ admin, namespace, names: ['db-sync'], readData: syncedData });

    const rules = (extra: unknown[]) => [{ apiGroups: ['lookout.dev'], resources: ['vaultsecrets'], verbs: ['rotate'] }, ...extra];
    await createOrReplace(admin, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'rotator', namespace }, rules: rules([
      { apiGroups: ['apps'], resources: ['deployments'], verbs: ['patch'] },
      // Force-sync and the wait for the synced Secret are made as the person.
      { apiGroups: ['external-secrets.io'], resources: ['externalsecrets'], verbs: ['patch'] },
      { apiGroups: [''], resources: ['secrets'], verbs: ['get'] },
    ]) } as KubeObject);
    await createOrReplace(admin, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'rotate-only', namespace }, rules: rules([]) } as KubeObject);
    await createOrReplace(admin, roleBinding(namespace, 'alice-rotates', { kind: 'Role', name: 'rotator' }, { kind: 'User', name: 'slack:alice' }));
    await createOrReplace(admin, roleBinding(namespace, 'carol-rotates', { kind: 'Role', name: 'rotate-only' }, { kind: 'User', name: 'slack:carol' }));
    restoreImpersonation = await impersonateOnly(admin, ['slack:alice', 'slack:bob', 'slack:carol']);
    await eventually('the RoleBindings to take effect', async () =>
      (await reviewAccess(admin, { username: 'slack:alice', groups: [] }, { verb: 'rotate', group: 'lookout.dev', resource: 'vaultsecrets', namespace, name: secretPath })).allowed &&
      (await reviewAccess(admin, { username: 'slack:carol', groups: [] }, { verb: 'rotate', group: 'lookout.dev', resource: 'vaultsecrets', namespace, name: secretPath })).allowed,
    );

    // Lookout's own Vault role for this file: KV v2 under secret/<prefix>/ and the KV v1 mount, nothing else.
    const capabilities = '["create", "read", "update", "patch", "list"]';
    await bao('POST', `sys/mounts/${kv1Mount}`, { type: 'kv', options: { version: '1' } });
    await bao('PUT', `sys/policies/acl/${role}`, {
      policy: [`secret/data/${prefix}/*`, `secret/metadata/${prefix}/*`, `${kv1Mount}/*`].map((path) => `path "${path}" {\n  capabilities = ${capabilities}\n}\n`).join(''),
    });
    await bao('POST', `auth/${servers.bao.kubernetesAuthPath}/role/${role}`, {
      bound_service_account_names: ['lookout'],
      bound_service_account_namespaces: ['lookout'],
      audience: 'https://kubernetes.default.svc.cluster.local',
      token_policies: [role],
      token_ttl: '1h',
    });
    const initial = { username: 'app_user_name', password: randomBytes(18).toString('base64url') };
    remember(initial);
    await bao('POST', `secret/data/${prefix}/db`, { data: initial });
    await bao('POST', `secret/data/${prefix}/outside/db`, { data: { password: randomBytes(18).toString('base64url') } });
    await bao('PUT', `${kv1Mount}/app`, { password: randomBytes(18).toString('base64url') });

    bed = await startLookoutTestBed({
      slack: { users: [ALICE, BOB, CAROL] },
      config: {
        channel: 'C0ALERTS',
        identities: IDENTITIES,
        rollout: { timeout: '20s', pollInterval: '100ms' },
        interactions: { progressInterval: '500ms' },
        vault: {
          auth: { method: 'kubernetes', role, tokenFile: TOKEN_FILE_PLACEHOLDER },
          secrets: [
            { path: `secret/${prefix}/outside/*`, namespace },
            { path: `secret/${prefix}/*`, namespace, generate: { length: 40, charset: 'alphanumeric' } },
            { path: `secret/elsewhere-${suffix}/*`, namespace },
            { path: `${kv1Mount}/*`, namespace },
          ],
        },
      },
      signingSecret: SIGNING_SECRET,
      extraEnv: { KUBECONFIG: servers.kube.kubeconfigs.bot, VAULT_ADDR: servers.bao.addr },
    });
    await mountLookoutToken(admin, bed);
    slack = bed.slack;
    lookout = await startLookout(bed.env);
    rollouts = setInterval(() => void completeRollouts().catch(() => undefined), 100);
  });

  afterEach(async () => {
    await expectNoSecretLeaks([...values], { slack, output: () => lookout.output(), lookoutUrl: lookout.url, events: { admin, namespaces: [namespace] } });
  });

  afterAll(async () => {
    clearInterval(rollouts);
    await stopExternalSecrets?.();
    await lookout?.stop();
    await bed?.close();
    await restoreImpersonation?.();
    await bao('DELETE', `sys/mounts/${kv1Mount}`).catch(() => undefined);
  });

  const postsTo = (url: string): Post[] => {
    const id = url.slice(url.lastIndexOf('/') + 1);
    return slack.responseUrlPosts.filter((post) => post.id === id).map((post) => post.body as Post);
  };
  /** A progress reply names a consumer still "restarting"; only the settled one carries the buttons. */
  const settled = (post: Post): boolean => !/ restarting(?! \(status unreadable\))/.test(post.text);
  const finalOf = (url: string, pattern: RegExp, timeoutMs = 20_000) => waitFor(`a settled reply matching ${pattern}`, () => postsTo(url).find((post) => pattern.test(post.text) && settled(post)), timeoutMs);

  /** Sends a signed `/ops …`; returns its first reply. */
  async function ops(user: { id: string; name: string }, text: string): Promise<Post> {
    const url = slack.responseUrl();
    const signed = signedSlackForm(SIGNING_SECRET, slashCommandBody({ user_id: user.id, user_name: user.name, text, response_url: url }), Math.floor(Date.now() / 1000));
    const res = await fetch(`${lookout.url}/slack/events`, { method: 'POST', headers: { ...signed.headers }, body: signed.body });
    expect(res.status).toBe(200);
    return waitFor(`the reply to "${text}"`, () => postsTo(url)[0]);
  }

  /** Clicks a button of an ephemeral reply; returns the click's response_url. */
  async function click(user: { id: string; name: string }, actionId: string, value: string): Promise<string> {
    const responseUrl = slack.responseUrl();
    const payload = blockActionsPayload({ user, message: { channel: 'C0ALERTS', ts: `${Math.floor(Date.now() / 1000)}.000100`, ephemeral: true }, button: { actionId, value }, responseUrl });
    expect((await postSignedInteraction(lookout.url, SIGNING_SECRET, payload)).status).toBe(200);
    return responseUrl;
  }
  const buttonOf = (reply: Post, actionId: string): string => {
    const button = reply.blocks?.flatMap((block) => block.elements ?? []).find((element) => element.action_id === actionId);
    if (button === undefined) throw new Error(`no ${actionId} button in: ${reply.text}`);
    return button.value;
  };

  /** Lookout's Vault requests so far, from its /metrics (every operation and outcome). */
  const vaultRequests = async (operation?: string): Promise<number> => {
    const text = await (await fetch(`${lookout.url}/metrics`)).text();
    let total = 0;
    for (const match of text.matchAll(/^lookout_vault_requests_total\{([^}]*)\} (\d+)$/gm)) {
      if (operation === undefined || match[1]!.includes(`operation="${operation}"`)) total += Number(match[2]);
    }
    return total;
  };

  let rotatedTo = 0;
  let rollbackValue = '';

  it('previews, then rotates one key as a new version (check-and-set), the other keys unchanged, and restarts the consumers', async () => {
    const before = await readSecret();
    const preview = await ops(ALICE, `rotate ${secretPath} --key password --restart deployment/api,worker`);
    expect(preview.text).toContain(`Rotate *${secretPath}*?`);
    expect(preview.text).toContain('`password` (of 2): a new 40-character alphanumeric value');
    expect(preview.text).toMatch(/current version 1, written \S+ \(not by Lookout\)/);
    // --restart names two; the annotation adds billing; `unrelated` uses nothing of it.
    expect(preview.text).toMatch(/then restart in \S+: api \(named with --restart\), worker \(named with --restart\), billing \(annotated lookout\.dev\/vault-secrets\)/);
    expect(preview.text).not.toContain('unrelated');
    expect((await metadataOf()).current_version).toBe(1);

    const url = await click(ALICE, CONFIRM_ACTION_ID, buttonOf(preview, CONFIRM_ACTION_ID));
    const done = await finalOf(url, /api restarted \(3\/3 ready\), worker restarted \(2\/2 ready\), billing restarted \(1\/1 ready\)$/);
    expect(done.text).toBe(`*${secretPath}*: version 1 → 2; api restarted (3/3 ready), worker restarted (2/2 ready), billing restarted (1/1 ready)`);

    const after = await readSecret();
    remember(after.data);
    expect(after.metadata.version).toBe(2);
    expect(after.data.username).toBe(before.data.username);
    expect(after.data.password).not.toBe(before.data.password);
    expect(after.data.password).toMatch(/^[A-Za-z0-9]{40}$/);
    const metadata = await metadataOf();
    expect(metadata.custom_metadata).toMatchObject({ 'lookout-rotated-by': `slack:alice (Slack ${ALICE.id})`, 'lookout-rotated-version': '2', 'lookout-rotated-action': 'rotate' });
    for (const name of ['api', 'worker', 'billing']) expect(await restartedAt(name), name).toBeDefined();
    expect(await restartedAt('unrelated')).toBeUndefined();

    rotatedTo = after.metadata.version;
    rollbackValue = buttonOf(done, commandButtonActionId('rotate'));
    expect(rollbackValue).toBe(`${secretPath} --rollback 2 --restart deployment/api,worker`);
  });

  it('does nothing at Confirm when the secret changed since the preview, and asks again with what would happen now', async () => {
    const preview = await ops(ALICE, `rotate ${secretPath} --key password`);
    expect(preview.text).toContain(`current version ${rotatedTo}, written`);
    expect(preview.text).toContain('by slack:alice (Slack U0ALICE) through Lookout');
    const outside = { username: 'app_user_name', password: randomBytes(18).toString('base64url') };
    remember(outside);
    await bao('POST', `secret/data/${prefix}/db`, { data: outside, options: { cas: rotatedTo } });
    const url = await click(ALICE, CONFIRM_ACTION_ID, buttonOf(preview, CONFIRM_ACTION_ID));
    const askedAgain = await finalOf(url, /changed since you asked, so nothing was done/);
    // The person is told what changed: the version the rotation would now start from, written outside Lookout.
    expect(askedAgain.text).toMatch(new RegExp(`current version ${rotatedTo + 1}, written \\S+ \\(not by Lookout\\)`));
    const fresh = buttonOf(askedAgain, CONFIRM_ACTION_ID);
    expect(fresh).not.toBe(buttonOf(preview, CONFIRM_ACTION_ID));
    const now = await readSecret();
    expect(now.metadata.version).toBe(rotatedTo + 1);
    expect(now.data).toEqual(outside);
    rotatedTo += 1;
    // Cancel the fresh question: nothing rotates, and the next tests start from this version.
    const cancelled = await click(ALICE, CANCEL_ACTION_ID, fresh);
    await finalOf(cancelled, /^Cancelled; nothing was changed\.$/);
    expect((await readSecret()).metadata.version).toBe(rotatedTo);
  });

  it('refuses a roll back at Confirm when the secret was written since the preview (it would undo that write too), with nothing changed', async () => {
    const preview = await ops(ALICE, `rotate ${secretPath} --rollback ${rotatedTo}`);
    expect(preview.text).toContain(`Version ${rotatedTo - 1}'s data is written again as a new version, undoing version ${rotatedTo}`);
    const racing = { username: 'app_user_name', password: randomBytes(18).toString('base64url') };
    remember(racing);
    await bao('POST', `secret/data/${prefix}/db`, { data: racing });
    const url = await click(ALICE, CONFIRM_ACTION_ID, buttonOf(preview, CONFIRM_ACTION_ID));
    await finalOf(url, new RegExp(`is at version ${rotatedTo + 1} now, not ${rotatedTo}: someone wrote it since, so rolling back ${rotatedTo} would undo their change too\\. Nothing was changed\\.`));
    const now = await readSecret();
    expect(now.metadata.version).toBe(rotatedTo + 1);
    expect(now.data).toEqual(racing);
    rotatedTo += 1;
  });

  it("Vault's check-and-set still refuses a write between Lookout's last read and its write (after the Confirm click planned again)", async () => {
    // The window the comparison at Confirm cannot close: planned, compared, then someone writes.
    const vault = new VaultClient({ addr: servers.bao.addr, requestTimeoutMs: 5000, log: pino({ level: 'silent' }), auth: { method: 'token', token: servers.bao.rootToken } });
    const plan = await planRollback(vault, secretPath, rotatedTo);
    const racing = { username: 'app_user_name', password: randomBytes(18).toString('base64url') };
    remember(racing);
    await bao('POST', `secret/data/${prefix}/db`, { data: racing });
    await expect(rollbackNow(vault, plan, { username: 'slack:alice', slackUserId: ALICE.id }, Date.now())).rejects.toThrow(
      new RegExp(`changed after Lookout read version ${rotatedTo} \\(check-and-set refused the write\\), so nothing was changed`),
    );
    const now = await readSecret();
    expect(now.metadata.version).toBe(rotatedTo + 1);
    expect(now.data).toEqual(racing);
    rotatedTo += 1;
  });

  it('rolls back with the Roll back button: the previous data as a newer version, consumers restarted again', async () => {
    const rotated = await ops(ALICE, `rotate ${secretPath} --key password --restart deployment/api`);
    const url = await click(ALICE, CONFIRM_ACTION_ID, buttonOf(rotated, CONFIRM_ACTION_ID));
    const done = await finalOf(url, /api restarted \(3\/3 ready\)/);
    const beforeRollback = (await readSecret()).data;
    remember(beforeRollback);
    const previous = (await bao<KvRead>('GET', `secret/data/${prefix}/db?version=${rotatedTo}`)).data.data;
    const stampBefore = await restartedAt('api');
    // No waiting for the next second: a restart within the same second as the rotation's still
    // changes restartedAt (with milliseconds), so the consumers do restart again.

    const buttonUrl = await click(ALICE, commandButtonActionId('rotate'), buttonOf(done, commandButtonActionId('rotate')));
    const question = await finalOf(buttonUrl, /^Roll back \*/);
    expect(question.text).toContain(`undoing version ${rotatedTo + 1}`);
    const confirmUrl = await click(ALICE, CONFIRM_ACTION_ID, buttonOf(question, CONFIRM_ACTION_ID));
    await finalOf(confirmUrl, new RegExp(`version ${rotatedTo + 1} → ${rotatedTo + 2} \\(version ${rotatedTo}'s data restored\\); api restarted \\(3/3 ready\\)`));
    const now = await readSecret();
    expect(now.metadata.version).toBe(rotatedTo + 2);
    expect(now.data).toEqual(previous);
    expect((await metadataOf()).custom_metadata?.['lookout-rotated-action']).toBe(`rollback to ${rotatedTo}`);
    await waitFor('api restarted again', async () => ((await restartedAt('api')) !== stampBefore ? true : undefined));
    rotatedTo += 2;
  });

  it('refuses a roll back onto a deleted version, naming it, with nothing changed', async () => {
    await bao('POST', `secret/delete/${prefix}/db`, { versions: [rotatedTo - 1] });
    const reply = await ops(ALICE, `rotate ${secretPath} --rollback ${rotatedTo}`);
    expect(reply.text).toBe(`Version ${rotatedTo - 1} of \`${secretPath}\` is deleted: undelete it first (\`vault kv undelete -versions=${rotatedTo - 1} ${secretPath}\`). Nothing was changed.`);
    expect((await readSecret()).metadata.version).toBe(rotatedTo);
  });

  it('refuses a path that is not configured before Vault is asked anything', async () => {
    const requests = await vaultRequests();
    const reply = await ops(ALICE, `rotate secret/unlisted-${suffix}/db`);
    expect(reply.text).toBe(`\`secret/unlisted-${suffix}/db\` is not a path Lookout may rotate (config \`vault.secrets\`), so Vault was not asked.`);
    expect(await vaultRequests()).toBe(requests);
  });

  it('refuses a person without the RBAC grant before Vault is touched: no request, metadata unchanged', async () => {
    const requests = await vaultRequests();
    const metadata = await metadataOf();
    const reply = await ops(BOB, `rotate ${secretPath} --key password`);
    expect(reply.text).toBe(`Not allowed: this needs \`rotate\` on \`vaultsecrets.lookout.dev\` named ${secretPath} in namespace ${namespace}.`);
    expect(await vaultRequests()).toBe(requests);
    expect(await metadataOf()).toEqual(metadata);
  });

  it('refuses a person who may rotate but not restart a consumer, before Vault is touched', async () => {
    const requests = await vaultRequests();
    const metadata = await metadataOf();
    const reply = await ops(CAROL, `rotate ${secretPath} --key password --restart deployment/api`);
    expect(reply.text).toBe(`Not allowed: this needs \`patch\` on \`deployments.apps\` named api in namespace ${namespace}. It is needed to restart api in ${namespace} after the rotation, so nothing was changed.`);
    expect(await vaultRequests()).toBe(requests);
    expect(await metadataOf()).toEqual(metadata);
  });

  it('refuses a configured path outside Lookout\'s own Vault policy cleanly', async () => {
    const reply = await ops(ALICE, `rotate secret/elsewhere-${suffix}/db`);
    expect(reply.text).toMatch(/^(`secret\/elsewhere-\w+\/db` is outside Lookout's own Vault policy \(Vault answered 403\)|Lookout's own Vault policy does not allow GET secret\/metadata\/elsewhere-\w+\/db \(HTTP 403\)), so nothing was changed\./);
  });

  it('says a KV version 1 mount is not supported', async () => {
    const reply = await ops(ALICE, `rotate ${kv1Mount}/app`);
    expect(reply.text).toBe(`\`${kv1Mount}/\` is a KV version 1 mount, which Lookout does not rotate: it keeps no versions, so there is no check-and-set and no roll back. Upgrade the mount to KV version 2.`);
  });

  it('logs in again when its Vault token is revoked, and the rotation goes through', async () => {
    const logins = await vaultRequests('login');
    expect(logins).toBe(1);
    // Revoke every token of this file's role: what `vault token revoke` of Lookout's token does.
    const { data } = await bao<{ data: { keys: string[] } }>('LIST', 'auth/token/accessors');
    for (const accessor of data.keys) {
      const token = await bao<{ data: { meta: Record<string, string> | null } }>('POST', 'auth/token/lookup-accessor', { accessor });
      if (token.data.meta?.['role'] === role) await bao('POST', 'auth/token/revoke-accessor', { accessor });
    }
    const preview = await ops(ALICE, `rotate ${secretPath} --key password`);
    expect(preview.text).toContain(`current version ${rotatedTo}`);
    expect(await vaultRequests('login')).toBe(2);
    const url = await click(ALICE, CONFIRM_ACTION_ID, buttonOf(preview, CONFIRM_ACTION_ID));
    await finalOf(url, new RegExp(`version ${rotatedTo} → ${rotatedTo + 1}`));
    remember((await readSecret()).data);
    rotatedTo += 1;
  });

  it('syncs an ExternalSecret of the path first, then restarts the workload that uses its Secret', async () => {
    const synced = `secret/${prefix}/synced`;
    const before = (await readSecret(`${prefix}/synced`)).data;
    const preview = await ops(ALICE, `rotate ${synced}`);
    expect(preview.text).toContain('then restart in');
    expect(preview.text).toMatch(/mounter \(uses Secret db-creds \([^)]*DB_PASSWORD[^)]*\)\)/);
    expect(preview.text).toContain('• first sync through External Secrets: db-sync → Secret db-creds');
    const url = await click(ALICE, CONFIRM_ACTION_ID, buttonOf(preview, CONFIRM_ACTION_ID));
    const done = await finalOf(url, /mounter restarted \(1\/1 ready\)/);
    expect(done.text).toContain('• Secret db-creds synced');
    const after = (await readSecret(`${prefix}/synced`)).data;
    remember(after);
    expect(after.password).not.toBe(before.password);
    // What the restarted pods read: the Secret holds the new value.
    const secret = await admin.request<{ data: Record<string, string> }>({ method: 'GET', path: `/api/v1/namespaces/${namespace}/secrets/db-creds` });
    expect(Buffer.from(secret.data['password']!, 'base64').toString()).toBe(after.password);
    expect(await restartedAt('mounter')).toBeDefined();
  });

  it('records the rotation in an audit Event with the path and versions, never a value', async () => {
    const { items } = await admin.request<{ items: Array<{ reason: string; note: string; regarding: { kind: string; name: string } }> }>({ method: 'GET', path: `/apis/events.k8s.io/v1/namespaces/${namespace}/events` });
    const rotations = items.filter((event) => event.reason === 'RotatedBySlackUser');
    expect(rotations.length).toBeGreaterThanOrEqual(4);
    expect(rotations[0]!.regarding).toMatchObject({ kind: 'VaultSecret', name: secretPath });
    expect(rotations.map((event) => event.note).join('\n')).toContain(`${secretPath}: version 1 → 2 (new value for key password); restarting api, worker, billing`);
  });
});
