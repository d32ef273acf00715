import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reviewAccess } from '../../src/kube/access-review.ts';
import type { KubeHttp } from '../../src/kube/kube-http.ts';
import { startAlertmanager, type AlertmanagerProcess } from '../support/alertmanager-process.ts';
import { freePort, waitFor } from '../support/free-port.ts';
import { eventually, impersonateOnly } from '../support/kube-test-helpers.ts';
import { startLookout, type LookoutProcess } from '../support/lookout-process.ts';
import { startLookoutTestBed, type LookoutTestBed } from '../support/lookout-test-bed.ts';
import { buildServers } from '../support/servers/binaries.ts';
import { createOrReplace, type KubeObject } from '../support/servers/kube-objects.ts';
import { kubeHttpFor } from '../support/servers/kubeconfigs.ts';
import { startOpenBao } from '../support/servers/openbao.ts';
import { Supervisor } from '../support/servers/processes.ts';
import { testServers } from '../support/servers/test-servers.ts';
import { signedSlackForm, slashCommandBody } from '../support/sign-slack-request.ts';

/*
 * `/ops doctor` end to end: Lookout as `npm start` runs it, against the real kube-apiserver
 * (Lookout's own ServiceAccount and ClusterRoles), a real Alertmanager that notifies this Lookout,
 * the harness's Loki and OpenBao, and the fake Slack. Then each failure on its own: a permission
 * missing from Lookout's ClusterRole, a dead Loki (a closed port), a sealed Vault (an OpenBao of
 * this file's own) — each a ✗ with how to fix it, the other checks still ✓.
 *
 *   alice  slack:alice  ClusterRole granting `get` on doctor.lookout.dev
 *   bob    slack:bob    nothing
 */

const SIGNING_SECRET = 'ops-doctor-signing-secret-0123456';
const WEBHOOK_TOKEN = 'ops-doctor-webhook-token-01234567';
const ALICE = { id: 'U0ALICE', name: 'alice' };
const BOB = { id: 'U0BOB', name: 'bob' };
const CHANNEL = 'C0OPS';
const CONFIG = {
  channel: 'C0ALERTS',
  identities: { prefix: 'slack:', users: [{ slack: ALICE.id, user: 'alice' }, { slack: BOB.id, user: 'bob' }] },
  doctor: { checkTimeout: '3s', syntheticTimeout: '12s' },
  vault: { secrets: [{ path: 'secret/doctor/*', namespace: 'shop' }] },
};

type Post = { text: string };

describe('/ops doctor against the real servers', () => {
  const servers = testServers();
  let admin: KubeHttp;
  let alertmanager: AlertmanagerProcess;
  const beds: LookoutTestBed[] = [];
  const lookouts: LookoutProcess[] = [];
  let restoreImpersonation: (() => Promise<void>) | undefined;

  const lookoutRole = '/apis/rbac.authorization.k8s.io/v1/clusterroles/lookout';

  /** A Lookout with the fake Slack, Lookout's own kubeconfig and these integrations. */
  async function start(extraEnv: Record<string, string>, port?: number, scopes?: string[]) {
    const bed = await startLookoutTestBed({ slack: { users: [ALICE, BOB], channels: ['C0ALERTS', CHANNEL], ...(scopes ? { scopes } : {}) }, config: CONFIG, signingSecret: SIGNING_SECRET, webhookToken: WEBHOOK_TOKEN, extraEnv: { KUBECONFIG: servers.kube.kubeconfigs.bot, ...extraEnv } });
    beds.push(bed);
    const lookout = await startLookout(bed.env, port);
    lookouts.push(lookout);
    return { bed, lookout };
  }

  /** Runs `/ops doctor` as `user` and returns the reply once every check is done. */
  async function doctor(setup: { bed: LookoutTestBed; lookout: LookoutProcess }, user = ALICE): Promise<Post> {
    const url = setup.bed.slack.responseUrl();
    const signed = signedSlackForm(SIGNING_SECRET, slashCommandBody({ user_id: user.id, user_name: user.name, channel_id: CHANNEL, text: 'doctor', response_url: url }), Math.floor(Date.now() / 1000));
    const res = await fetch(`${setup.lookout.url}/slack/events`, { method: 'POST', headers: { ...signed.headers }, body: signed.body });
    expect(res.status).toBe(200);
    const id = url.slice(url.lastIndexOf('/') + 1);
    const posts = () => setup.bed.slack.responseUrlPosts.filter((candidate) => candidate.id === id).map((candidate) => candidate.body as Post);
    return waitFor('the doctor to finish', () => posts().find((post) => /checks (passed|failed)|^Not allowed/.test(post.text)), 30_000);
  }

  const line = (reply: Post, name: string) => reply.text.split('\n').find((candidate) => candidate.includes(`*${name}*`)) ?? '';
  const passedChecks = (reply: Post) => reply.text.split('\n').filter((candidate) => candidate.startsWith('✓ ')).map((candidate) => /^✓ \*([^*]+)\*/.exec(candidate)?.[1]);

  let good: { bed: LookoutTestBed; lookout: LookoutProcess };

  beforeAll(async () => {
    admin = kubeHttpFor(servers.kube.kubeconfigs.admin);
    await createOrReplace(admin, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'ops-doctor-test' }, rules: [{ apiGroups: ['lookout.dev'], resources: ['doctor'], verbs: ['get'] }] } as KubeObject);
    await createOrReplace(admin, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'ops-doctor-test-alice' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'ops-doctor-test' }, subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'slack:alice' }] } as KubeObject);
    restoreImpersonation = await impersonateOnly(admin, ['slack:alice', 'slack:bob']);
    await eventually('alice to be allowed doctor', async () => (await reviewAccess(admin, { username: 'slack:alice', groups: [] }, { verb: 'get', group: 'lookout.dev', resource: 'doctor' })).allowed);

    const port = await freePort();
    alertmanager = await startAlertmanager({ webhookUrl: `http://127.0.0.1:${port}/alertmanager`, webhookToken: WEBHOOK_TOKEN });
    good = await start({ ALERTMANAGER_URL: alertmanager.url, LOKI_URL: servers.loki.url, VAULT_ADDR: servers.bao.addr, VAULT_TOKEN: servers.bao.rootToken }, port);
  }, 120_000);

  afterAll(async () => {
    for (const lookout of lookouts) await lookout.stop();
    for (const bed of beds) await bed.close();
    await alertmanager?.stop();
    await restoreImpersonation?.();
  });

  it('passes every check in a good setup and measures the synthetic alert from Alertmanager to Slack, which then resolves by itself', async () => {
    const reply = await doctor(good);
    expect(reply.text).toMatch(/^\*Lookout doctor\* — all 10 checks passed/);
    expect(passedChecks(reply)).toEqual(['Slack', 'Kubernetes API', 'Alertmanager', 'Loki', 'Vault', 'Certificate scanner', 'State store', 'Outbox', 'Quarantined notifications', 'Synthetic alert']);
    expect(line(reply, 'Slack')).toContain('all scopes Lookout needs');
    expect(line(reply, 'Kubernetes API')).toMatch(/all \d+ permissions Lookout needs are granted/);
    expect(line(reply, 'Alertmanager')).toContain(`receiver sends to \`http://127.0.0.1:${new URL(good.lookout.url).port}/alertmanager\``);
    expect(line(reply, 'Vault')).toBe('✓ *Vault* unsealed · token valid (no expiry) · policy covers the 1 configured `vault.secrets` path');
    expect(reply.text).not.toContain(servers.bao.rootToken);

    // The synthetic alert's message is in the channel doctor ran in, and its times add up.
    const synthetic = line(reply, 'Synthetic alert');
    const id = /lookout_synthetic="([0-9a-f]{8})"/.exec(synthetic)?.[1];
    expect(id).toBeDefined();
    const [toLookout, toSlack, total] = [...synthetic.matchAll(/(\d+\.\d\d) s/g)].map((match) => Number(match[1]));
    expect(toLookout).toBeGreaterThanOrEqual(0.9); // Alertmanager's group_wait is 1 s.
    expect(toSlack).toBeLessThan(5);
    expect(total).toBeCloseTo(toLookout! + toSlack!, 1);
    const message = good.bed.slack.messages(CHANNEL).find((candidate) => candidate.text.includes('LookoutSyntheticCheck'));
    expect(message).toBeDefined();
    expect(good.bed.slack.messages('C0ALERTS').some((candidate) => candidate.text.includes('LookoutSyntheticCheck'))).toBe(false);
    // endsAt passes, Alertmanager sends the resolve, Lookout edits the same message.
    await waitFor('the synthetic alert to resolve', () => good.bed.slack.messages(CHANNEL).find((candidate) => candidate.ts === message!.ts && /resolved/i.test(candidate.text)), 40_000, 200);
    expect(good.bed.slack.messages(CHANNEL).filter((candidate) => candidate.text.includes('LookoutSyntheticCheck'))).toHaveLength(1);
  }, 90_000);

  it('refuses a person without `get` on doctor, naming the permission', async () => {
    const reply = await doctor(good, BOB);
    expect(reply.text).toMatch(/^Not allowed: this needs `get` on `doctor.lookout.dev` cluster-wide\./);
  });

  it('names a permission missing from Lookout\'s ClusterRole, the other checks still passing', async () => {
    const original = await admin.request<KubeObject & { rules: Array<{ resources?: string[] }> }>({ method: 'GET', path: lookoutRole });
    const without = original.rules.filter((rule) => !rule.resources?.includes('horizontalpodautoscalers'));
    expect(without.length).toBe(original.rules.length - 1);
    await createOrReplace(admin, { ...original, metadata: { name: 'lookout', labels: original.metadata['labels'] }, rules: without } as KubeObject);
    try {
      const bot = kubeHttpFor(servers.kube.kubeconfigs.bot);
      await eventually('the ClusterRole change to take effect', async () => {
        const review = await bot.request<{ status?: { allowed?: boolean } }>({ method: 'POST', path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb: 'list', group: 'autoscaling', resource: 'horizontalpodautoscalers' } } } });
        return review.status?.allowed !== true;
      });
      const reply = await doctor(good);
      expect(reply.text).toMatch(/^\*Lookout doctor\* — 1 of 10 checks failed/);
      expect(line(reply, 'Kubernetes API')).toMatch(/^✗ .*lacks `list` on `horizontalpodautoscalers.autoscaling` cluster-wide$/);
      expect(reply.text).toContain('↳ _Fix:_ Apply manifests/base/rbac.yaml');
      expect(passedChecks(reply)).toEqual(['Slack', 'Alertmanager', 'Loki', 'Vault', 'Certificate scanner', 'State store', 'Outbox', 'Quarantined notifications', 'Synthetic alert']);
    } finally {
      await createOrReplace(admin, { ...original, metadata: { name: 'lookout', labels: original.metadata['labels'] } } as KubeObject);
    }
  }, 60_000);

  it('reports a dead Loki (nothing listens on its port) within the check deadline, the other checks still passing', async () => {
    const deadPort = await freePort();
    const setup = await start({ LOKI_URL: `http://127.0.0.1:${deadPort}`, VAULT_ADDR: servers.bao.addr, VAULT_TOKEN: servers.bao.rootToken });
    const reply = await doctor(setup);
    expect(line(reply, 'Loki')).toBe('✗ *Loki* not reachable');
    expect(reply.text).toContain(`LOKI_URL (http://127.0.0.1:${deadPort}) is reachable`);
    expect(passedChecks(reply)).toEqual(['Slack', 'Kubernetes API', 'Vault', 'Certificate scanner', 'State store', 'Outbox', 'Quarantined notifications']);
  }, 60_000);

  it('names the Slack scopes the bot token lacks (from Slack\'s x-oauth-scopes header), the other checks still passing', async () => {
    const setup = await start({ LOKI_URL: servers.loki.url, VAULT_ADDR: servers.bao.addr, VAULT_TOKEN: servers.bao.rootToken }, undefined, ['chat:write', 'commands', 'users:read']);
    const reply = await doctor(setup);
    expect(line(reply, 'Slack')).toBe('✗ *Slack* token works (lookout in Lookout Test) but lacks the scopes `users:read.email`, `usergroups:read`, `channels:history`, `groups:history`');
    expect(passedChecks(reply)).toEqual(['Kubernetes API', 'Loki', 'Vault', 'Certificate scanner', 'State store', 'Outbox', 'Quarantined notifications']);
  }, 60_000);

  it('reports a sealed Vault (an OpenBao of its own), the other checks still passing', async () => {
    const supervisor = new Supervisor();
    const dir = join(beds[0]!.dir, 'sealed-bao');
    mkdirSync(dir);
    const rootToken = `doctor-sealed-root-${Date.now()}`;
    try {
      const own = await startOpenBao({ binary: (await buildServers()).bao, dir, rootToken, supervisor });
      await waitFor('the unseal key in the log', () => /Unseal Key: (\S+)/.exec(readFileSync(join(dir, 'openbao.log'), 'utf8'))?.[1], 10_000, 50);
      const sealed = await fetch(`${own.addr}/v1/sys/seal`, { method: 'PUT', headers: { 'x-vault-token': rootToken } });
      expect(sealed.status).toBe(204);
      const setup = await start({ LOKI_URL: servers.loki.url, VAULT_ADDR: own.addr, VAULT_TOKEN: rootToken });
      const reply = await doctor(setup);
      expect(line(reply, 'Vault')).toBe('✗ *Vault* sealed');
      expect(reply.text).toContain('Unseal Vault');
      expect(reply.text).not.toContain(rootToken);
      expect(passedChecks(reply)).toEqual(['Slack', 'Kubernetes API', 'Loki', 'Certificate scanner', 'State store', 'Outbox', 'Quarantined notifications']);
    } finally {
      await supervisor.stopAll();
    }
  }, 60_000);
});
