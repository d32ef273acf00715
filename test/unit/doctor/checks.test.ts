import { describe, expect, it } from 'vitest';
import { alertmanagerCheck, webhookUrlsToLookout } from '../../../src/doctor/checks/alertmanager-check.ts';
import { certificatesCheck } from '../../../src/doctor/checks/certificates-check.ts';
import { outboxCheck } from '../../../src/doctor/checks/outbox-check.ts';
import { quarantineCheck } from '../../../src/doctor/checks/quarantine-check.ts';
import { neededCapabilities, vaultCheck } from '../../../src/doctor/checks/vault-check.ts';
import { REQUIRED_SCOPES, slackCheck } from '../../../src/doctor/checks/slack-check.ts';
import type { AlertmanagerStatus } from '../../../src/integrations/alertmanager.ts';

const signal = new AbortController().signal;

describe('the Alertmanager check', () => {
  const status = (original: string, cluster: AlertmanagerStatus['cluster'] = { status: 'ready', peers: [{ name: 'a', address: '10.0.0.1:9094' }, { name: 'b', address: '10.0.0.2:9094' }] }): AlertmanagerStatus => ({ cluster, config: { original }, versionInfo: { version: '0.27.0' } });

  it('finds webhook URLs whose path is /alertmanager, dropping credentials and query, ignoring others', () => {
    const config = `receivers:
- name: lookout
  webhook_configs:
  - url: http://user:pw@lookout.lookout.svc:3000/alertmanager?x=1
- name: other
  webhook_configs:
  - url: "http://elsewhere:9000/alertmanager/extra"
  - url: 'https://hooks.example/alertmanagers'`;
    expect(webhookUrlsToLookout(config)).toEqual(['http://lookout.lookout.svc:3000/alertmanager']);
  });

  it('passes with a receiver to Lookout and a ready cluster, naming the peers', async () => {
    const outcome = await alertmanagerCheck({ status: async () => status('url: http://lookout:3000/alertmanager') }).run(signal);
    expect(outcome).toEqual({ ok: true, detail: 'v0.27.0 · cluster ready, 2 peers · receiver sends to `http://lookout:3000/alertmanager` (webhook URL path is `/alertmanager`)' });
  });

  it('fails without a receiver pointing at Lookout, or while the cluster settles', async () => {
    const none = await alertmanagerCheck({ status: async () => status('url: http://other:3000/hook') }).run(signal);
    expect(none.ok).toBe(false);
    expect(none.detail).toContain('no receiver sends to Lookout');
    const settling = await alertmanagerCheck({ status: async () => status('url: http://lookout/alertmanager', { status: 'settling', peers: [] }) }).run(signal);
    expect(settling).toMatchObject({ ok: false, detail: 'v0.27.0 · cluster settling, 0 peers' });
  });
});

describe('the Slack check', () => {
  it('names the scopes the token lacks', async () => {
    const outcome = await slackCheck({ authTest: async () => ({ user: 'lookout', team: 'Acme', response_metadata: { scopes: ['chat:write', 'commands'] } }) }).run(signal);
    expect(outcome).toMatchObject({ ok: false, detail: 'token works (lookout in Acme) but lacks the scopes `users:read`, `users:read.email`, `usergroups:read`, `channels:history`, `groups:history`' });
  });

  it('fails on a refused token with Slack\'s error code, and on a Socket Mode connection that is down', async () => {
    const refused = await slackCheck({ authTest: () => Promise.reject(Object.assign(new Error('An API error occurred: invalid_auth'), { data: { error: 'invalid_auth' } })) }).run(signal);
    expect(refused).toMatchObject({ ok: false, detail: 'auth.test failed (invalid_auth)' });
    const down = await slackCheck({ authTest: async () => ({ response_metadata: { scopes: [...REQUIRED_SCOPES] } }), socketProblem: () => 'slack: Socket Mode not connected yet' }).run(signal);
    expect(down).toMatchObject({ ok: false, detail: 'token works (the bot in its workspace), but Socket Mode not connected yet' });
  });
});

describe('the outbox check', () => {
  const depth = (oldestMessageAt: number | null) => ({ store: { outboxDepth: async () => ({ messages: 3, replies: 1, oldestMessageAt }) }, maxWaitMs: 60_000, now: () => 1_000_000 });

  it('passes while nothing waits long, and fails once the oldest message waited past the limit', async () => {
    expect(await outboxCheck(depth(null)).run(signal)).toEqual({ ok: true, detail: '3 alert messages and 1 thread replies waiting; Slack shows every alert group as it is' });
    expect(await outboxCheck(depth(1_000_000 - 5000)).run(signal)).toEqual({ ok: true, detail: '3 alert messages and 1 thread replies waiting, the oldest for 5 s' });
    expect(await outboxCheck(depth(1_000_000 - 61_000)).run(signal)).toMatchObject({ ok: false, detail: '3 alert messages and 1 thread replies waiting, the oldest for 61 s' });
  });
});

describe('the quarantined notifications check', () => {
  const check = (count: number, oldestReceivedAt: number | null) => quarantineCheck({ store: { quarantinedNotifications: async () => ({ count, oldestReceivedAt }) }, now: () => Date.parse('2026-01-02T12:00:00Z') });

  it('passes with none, and fails with the count and the oldest when any are set aside', async () => {
    expect(await check(0, null).run(signal)).toEqual({ ok: true, detail: 'none: every accepted alert notification was folded into its group' });
    expect(await check(1, Date.parse('2026-01-02T09:00:00Z')).run(signal)).toMatchObject({
      ok: false,
      detail: '1 alert notification could not be folded and was set aside, the oldest received 3.0 h ago (2026-01-02T09:00:00.000Z)',
      fix: expect.stringContaining('docs/runbooks/lookout-notifications-quarantined.md'),
    });
    expect(await check(3, Date.parse('2026-01-01T12:00:00Z')).run(signal)).toMatchObject({ ok: false, detail: expect.stringMatching(/^3 alert notifications could not be folded and were set aside, the oldest received 24\.0 h ago/) });
  });
});

describe('the Vault check', () => {
  const vault = (capabilities: Record<string, string[]>, sealed = false) => ({
    send: async () => ({ status: 200, body: { sealed } }),
    request: async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      if (path === 'auth/token/lookup-self') return { data: { ttl: 3600, renewable: true } } as T;
      if (method === 'POST' && path === 'sys/capabilities-self') return Object.fromEntries((body as { paths: string[] }).paths.map((asked) => [asked, capabilities[asked] ?? ['deny']])) as T;
      throw new Error(`unexpected ${method} ${path}`);
    },
  });

  it('asks for the KV v2 data and metadata paths, and a database static role\'s, of each configured path', () => {
    expect(neededCapabilities(['secret/payments/*', 'database/static-role/app'])).toEqual([
      { path: 'secret/data/payments/*', capabilities: ['read', 'update'] },
      { path: 'secret/metadata/payments/*', capabilities: ['read', 'patch'] },
      { path: 'database/static-roles/app', capabilities: ['read'] },
      { path: 'database/rotate-role/app', capabilities: ['update'] },
    ]);
  });

  it('names the capabilities the policy lacks', async () => {
    const outcome = await vaultCheck(vault({ 'secret/data/payments/*': ['read', 'update'], 'secret/metadata/payments/*': ['read'] }), ['secret/payments/*']).run(signal);
    expect(outcome).toMatchObject({ ok: false, detail: 'unsealed · token valid (expires in 60 min, renewable), but its policy lacks `patch` on `secret/metadata/payments/*`' });
  });

  it('passes when the policy covers every path, and fails on a sealed Vault before asking anything else', async () => {
    const covered = await vaultCheck(vault({ 'secret/data/payments/*': ['create', 'read', 'update'], 'secret/metadata/payments/*': ['read', 'patch'] }), ['secret/payments/*']).run(signal);
    expect(covered).toEqual({ ok: true, detail: 'unsealed · token valid (expires in 60 min, renewable) · policy covers the 1 configured `vault.secrets` path' });
    expect(await vaultCheck(vault({}, true), ['secret/payments/*']).run(signal)).toMatchObject({ ok: false, detail: 'sealed' });
  });
});

describe('the certificate scanner check', () => {
  it('says when scans run on another replica rather than that none finished yet', async () => {
    const noScan = { lastScan: undefined };
    expect(await certificatesCheck(noScan, () => 0, () => true).run(signal)).toEqual({ ok: true, detail: 'no scan finished yet (the first runs shortly after start)' });
    expect(await certificatesCheck(noScan, () => 0, () => false).run(signal)).toEqual({
      ok: true,
      detail: 'scans run on another replica (the one holding the lease job:certificate-scan); its log and /metrics show them',
    });
  });
});
