import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { ConfigError } from '../../src/errors.ts';

const base = { LOOKOUT_WEBHOOK_TOKEN: 'a-webhook-token-of-some-length', LOOKOUT_CONFIG: 'lookout.yaml' };
const files: Record<string, string> = { '/secrets/token': 'am-token-value\n', '/secrets/password': 's3cret-password', '/secrets/ca.pem': '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', '/secrets/empty': '  \n' };

function load(yaml: string, env: Record<string, string> = { ALERTMANAGER_URL: 'https://alertmanager.monitoring:9093' }) {
  return loadConfig({ ...base, ...env }, (path) => {
    if (path === 'lookout.yaml') return yaml;
    const text = files[path];
    if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return text;
  });
}

function problems(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('config: Alertmanager and silences', () => {
  it('has no Alertmanager without ALERTMANAGER_URL; silences last at most 7 days by default', () => {
    const config = load('{}', {});
    expect(config.alertmanager).toBeUndefined();
    expect(config.silences).toEqual({ maxDurationMs: 7 * 86_400_000 });
  });

  it('reads the URL, a bearer token file and a CA file; the timeout defaults to 5 s', () => {
    const config = load('alertmanager: { bearerTokenFile: /secrets/token, caFile: /secrets/ca.pem }\nsilences: { maxDuration: 2d }');
    expect(config.alertmanager).toEqual({ url: 'https://alertmanager.monitoring:9093', requestTimeoutMs: 5000, bearerToken: 'am-token-value', ca: files['/secrets/ca.pem']?.trim() });
    expect(config.silences.maxDurationMs).toBe(2 * 86_400_000);
  });

  it('reads basic auth with the password from a file', () => {
    expect(load('alertmanager: { basicAuth: { username: lookout, passwordFile: /secrets/password }, requestTimeoutMs: 2000 }').alertmanager).toEqual({
      url: 'https://alertmanager.monitoring:9093',
      requestTimeoutMs: 2000,
      basicAuth: { username: 'lookout', password: 's3cret-password' },
    });
  });

  it('reports every problem at once, naming keys and paths and never a file content', () => {
    const found = problems(() =>
      load('alertmanager: { bearerTokenFile: /secrets/missing, caFile: /secrets/empty }\nsilences: { maxDuration: 30s }', { ALERTMANAGER_URL: 'alertmanager:9093' }),
    );
    expect(found).toEqual(
      expect.arrayContaining([
        'env ALERTMANAGER_URL: must be an http(s) URL such as http://alertmanager:9093',
        'lookout.yaml: silences.maxDuration: must be at least 1m',
      ]),
    );
    const files = problems(() => load('alertmanager: { bearerTokenFile: /secrets/missing, caFile: /secrets/empty }'));
    expect(files).toEqual(['lookout.yaml: alertmanager.bearerTokenFile: cannot read /secrets/missing (ENOENT)', 'lookout.yaml: alertmanager.caFile: /secrets/empty is empty']);
    expect(problems(() => load('alertmanager: { bearerTokenFile: /secrets/token, basicAuth: { username: a, passwordFile: /secrets/password } }'))).toEqual([
      'lookout.yaml: alertmanager: set bearerTokenFile or basicAuth, not both',
    ]);
    expect(problems(() => load('alertmanager: { caFile: /secrets/ca.pem }', {}))).toEqual([
      'lookout.yaml: alertmanager: set ALERTMANAGER_URL too, or remove the section (it has no effect without it)',
    ]);
    expect(JSON.stringify(files)).not.toContain('am-token-value');
  });

  it('reconciles every 5 minutes with a 10 minute grace by default; 0s turns it off; bad values are named', () => {
    expect(load('{}').reconcile).toEqual({ intervalMs: 300_000, graceMs: 600_000 });
    expect(load('reconcile: { interval: 0s, grace: 0s }').reconcile).toEqual({ intervalMs: 0, graceMs: 0 });
    expect(load('reconcile: { interval: 30s, grace: 3m }').reconcile).toEqual({ intervalMs: 30_000, graceMs: 180_000 });
    const found = problems(() => load('reconcile: { interval: 500ms, grace: 2d, every: 5m }'));
    expect(found.join('\n')).toMatch(/reconcile\.interval.*must be 0s \(off\) or between 1s and 24h/);
    expect(found.join('\n')).toMatch(/reconcile\.grace.*must be at most 24h/);
    expect(found.join('\n')).toMatch(/every/);
  });
});
