import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { ConfigError } from '../../src/errors.ts';

const BASE = { LOOKOUT_WEBHOOK_TOKEN: 'webhook-token-0123456789', LOOKOUT_CONFIG: 'lookout.yaml' };
const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

function load(yaml: string, env: Record<string, string> = {}) {
  return loadConfig({ ...BASE, ...env }, (path) => {
    if (path === 'lookout.yaml') return yaml;
    if (path === '/vault/ca.pem') return CA;
    throw Object.assign(new Error('missing'), { code: 'ENOENT' });
  });
}

function problems(yaml: string, env: Record<string, string> = {}): string[] {
  try {
    load(yaml, env);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

const SECRETS = 'vault:\n  secrets:\n    - path: secret/payments/*\n      namespace: payments\n      generate: { length: 48, charset: urlsafe }\n    - path: database/static-role/app\n      namespace: payments\n';

describe('the vault: section and VAULT_* variables', () => {
  it('has no Vault without VAULT_ADDR', () => {
    expect(load('').vault).toBeUndefined();
  });

  it('uses VAULT_TOKEN when it is set, with every secret rule and its generation defaults', () => {
    const config = load(SECRETS, { VAULT_ADDR: 'https://vault.vault:8200/', VAULT_TOKEN: 's.sometoken', VAULT_NAMESPACE: 'team-a/', VAULT_CACERT: '/vault/ca.pem' });
    expect(config.vault).toEqual({
      addr: 'https://vault.vault:8200',
      namespace: 'team-a/',
      ca: CA,
      requestTimeoutMs: 10_000,
      auth: { method: 'token', token: 's.sometoken' },
      secrets: [
        { path: 'secret/payments/*', namespace: 'payments', generate: { length: 48, charset: 'urlsafe' } },
        { path: 'database/static-role/app', namespace: 'payments', generate: { length: 32, charset: 'alphanumeric' } },
      ],
      sync: { timeoutMs: 60_000, pollIntervalMs: 1000 },
    });
  });

  it('uses Kubernetes auth with the pod token by default; VAULT_K8S_ROLE wins over the file', () => {
    const config = load('vault:\n  auth: { method: kubernetes, role: from-file, audience: vault, mountPath: k8s/prod }\n', { VAULT_ADDR: 'http://127.0.0.1:8200', VAULT_K8S_ROLE: 'lookout' });
    expect(config.vault?.auth).toEqual({ method: 'kubernetes', role: 'lookout', mountPath: 'k8s/prod', audience: 'vault', tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token' });
    expect(load('vault:\n  auth: { method: kubernetes, role: from-file }\n', { VAULT_ADDR: 'http://127.0.0.1:8200' }).vault?.auth).toMatchObject({ role: 'from-file', mountPath: 'kubernetes' });
  });

  it('reports every problem at once, naming keys and variables but never the token', () => {
    const found = problems(
      'vault:\n  requestTimeout: 5h\n  secrets:\n    - path: "*/db"\n      namespace: Payments\n      generate: { length: 4, charset: emoji }\n',
      { VAULT_ADDR: 'http://127.0.0.1:8200' },
    );
    expect(found).toEqual([
      expect.stringMatching(/^lookout\.yaml: vault\.requestTimeout: /),
      'lookout.yaml: vault.secrets.0.path: must start with the mount, not `*`',
      'lookout.yaml: vault.secrets.0.namespace: must be a namespace name',
      'lookout.yaml: vault.secrets.0.generate.length: must be at least 16 characters',
      expect.stringMatching(/^lookout\.yaml: vault\.secrets\.0\.generate\.charset: /),
    ]);
    expect(problems('', { VAULT_ADDR: 'http://127.0.0.1:8200' })).toEqual([expect.stringMatching(/^env VAULT_K8S_ROLE: is required for Kubernetes auth/)]);
    expect(problems('vault:\n  auth: { method: token }\n', { VAULT_ADDR: 'http://127.0.0.1:8200' })).toEqual([expect.stringMatching(/^env VAULT_TOKEN: is required/)]);
    expect(problems(SECRETS)).toEqual(['lookout.yaml: vault: set VAULT_ADDR too, or remove the section (it has no effect without it)']);
    const secret = 'hvs.very-secret-token-value';
    const bad = problems('', { VAULT_ADDR: 'ftp://vault', VAULT_TOKEN: secret, VAULT_CACERT: '/missing.pem' });
    expect(bad).toEqual(['env VAULT_ADDR: must be an http(s) URL such as https://vault.vault:8200']);
    expect(problems('', { VAULT_ADDR: 'http://127.0.0.1:8200', VAULT_TOKEN: secret, VAULT_CACERT: '/missing.pem' })).toEqual(['env VAULT_CACERT: cannot read /missing.pem (ENOENT)']);
    expect(bad.join('\n')).not.toContain(secret);
  });
});
