import { describe, expect, it } from 'vitest';
import { checkConfig } from '../../src/check-config.ts';
import { KubeCredentialsError, type KubeCredentials } from '../../src/kube/kube-credentials.ts';

const WEBHOOK_TOKEN = 'webhook-token-0123456789';
const files: Record<string, string> = {
  '/etc/lookout/config.yaml': 'channel: C0ALERTS\nroutes:\n  - match: { severity: critical }\n    channel: C0INCIDENTS\n',
  '/etc/lookout/broken.yaml': 'channel: "not a channel"\noutbox: { minIntervalMs: -1 }\nrouts: []\n',
};
const readFile = (path: string): string => {
  const text = files[path];
  if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
  return text;
};
const noKube = () => Promise.resolve(undefined);
const someKube = () => Promise.resolve({ server: new URL('https://kube.example:6443'), apply: () => Promise.resolve() } satisfies KubeCredentials);

describe('checkConfig (--check-config)', () => {
  it('passes a good configuration and says what Lookout would run as', async () => {
    const check = await checkConfig(
      { LOOKOUT_WEBHOOK_TOKEN: WEBHOOK_TOKEN, LOOKOUT_CONFIG: '/etc/lookout/config.yaml', SLACK_BOT_TOKEN: 'xoxb-1-abc', SLACK_SIGNING_SECRET: 's'.repeat(32) },
      { readFile, loadKubeCredentials: someKube },
    );
    expect(check).toEqual({
      ok: true,
      lines: ['configuration OK: Slack, default channel C0ALERTS, 1 route, file /etc/lookout/config.yaml, Kubernetes credentials loaded'],
    });
  });

  it('lists every problem of the environment, the file and the Kubernetes credentials together', async () => {
    const check = await checkConfig(
      { LOOKOUT_WEBHOOK_TOKEN: 'short', PORT: 'eighty', LOOKOUT_CONFIG: '/etc/lookout/broken.yaml' },
      { readFile, loadKubeCredentials: () => Promise.reject(new KubeCredentialsError('/home/me/.kube/config: user "me" has no credentials')) },
    );
    expect(check.ok).toBe(false);
    expect(check.lines).toEqual([
      expect.stringMatching(/^env PORT: /),
      expect.stringMatching(/^env LOOKOUT_WEBHOOK_TOKEN: must be at least 16 characters/),
      expect.stringMatching(/^\/etc\/lookout\/broken\.yaml: channel: must be a Slack channel id/),
      expect.stringMatching(/^\/etc\/lookout\/broken\.yaml: outbox\.minIntervalMs: /),
      expect.stringMatching(/^\/etc\/lookout\/broken\.yaml: \(top level\): Unrecognized key: "routs"/),
      'cannot load Kubernetes credentials (KUBECONFIG or the in-cluster service account): /home/me/.kube/config: user "me" has no credentials',
    ]);
  });

  it('checks keys that go together even when other keys are wrong, without repeating a problem', async () => {
    files['/etc/lookout/mixed.yaml'] = 'channel: "#general channel"\nalertmanager: { bearerTokenFile: /run/token }\ntypo: 1\n';
    const check = await checkConfig(
      { LOOKOUT_WEBHOOK_TOKEN: WEBHOOK_TOKEN, PORT: 'eighty', SLACK_BOT_TOKEN: 'xoxb-1-abc', LOOKOUT_CONFIG: '/etc/lookout/mixed.yaml' },
      { readFile, loadKubeCredentials: noKube },
    );
    expect(check.lines).toEqual([
      expect.stringMatching(/^env PORT: /),
      expect.stringMatching(/mixed\.yaml: channel: must be a Slack channel id/),
      expect.stringMatching(/mixed\.yaml: \(top level\): Unrecognized key: "typo"/),
      expect.stringMatching(/^env SLACK_BOT_TOKEN: set SLACK_SIGNING_SECRET too/),
      // Not "set LOOKOUT_CHANNEL or channel": the file's channel is there, and wrong, as said above.
      expect.stringMatching(/mixed\.yaml: alertmanager: set ALERTMANAGER_URL too/),
    ]);
  });

  it('names a missing config file and still checks the Kubernetes credentials', async () => {
    const check = await checkConfig(
      { LOOKOUT_WEBHOOK_TOKEN: WEBHOOK_TOKEN, LOOKOUT_CONFIG: '/etc/lookout/missing.yaml' },
      { readFile, loadKubeCredentials: () => Promise.reject(Object.assign(new Error('EACCES: permission denied, open /kubeconfig'), { code: 'EACCES' })) },
    );
    expect(check).toEqual({
      ok: false,
      lines: [
        expect.stringMatching(/^LOOKOUT_CONFIG: cannot read \/etc\/lookout\/missing\.yaml: ENOENT/),
        'cannot load Kubernetes credentials (KUBECONFIG or the in-cluster service account): EACCES',
      ],
    });
  });

  it('never prints a secret, valid or not, nor a URL that may carry one', async () => {
    const secrets = {
      SLACK_BOT_TOKEN: 'xoxb-1111-2222-SECRETBOT',
      SLACK_SIGNING_SECRET: 'tiny-secret',
      LOOKOUT_WEBHOOK_TOKEN: 'shorttok',
      VAULT_TOKEN: 's.VAULTSECRETTOKEN',
      LOKI_URL: 'https://reader:LOKIPASSWORD@loki.example:3100',
    };
    const failing = await checkConfig({ ...secrets, VAULT_ADDR: 'https://vault.example:8200' }, { readFile, loadKubeCredentials: noKube });
    expect(failing.ok).toBe(false);
    const passing = await checkConfig(
      { ...secrets, SLACK_SIGNING_SECRET: 'signing-SECRET-0123456789', LOOKOUT_WEBHOOK_TOKEN: 'webhook-SECRET-0123456789', LOOKOUT_CHANNEL: 'C1', VAULT_ADDR: 'https://vault.example:8200' },
      { readFile, loadKubeCredentials: noKube },
    );
    expect(passing.ok).toBe(true);
    expect(passing.lines[0]).toContain('Loki');
    expect(passing.lines[0]).toContain('Vault (token auth)');
    const printed = [...failing.lines, ...passing.lines].join('\n');
    for (const value of ['SECRETBOT', 'tiny-secret', 'shorttok', 'VAULTSECRETTOKEN', 'LOKIPASSWORD', 'signing-SECRET', 'webhook-SECRET']) expect(printed).not.toContain(value);
  });
});
