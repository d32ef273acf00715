import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import { loadConfig } from '../../src/config.ts';

const env = { LOOKOUT_WEBHOOK_TOKEN: 'a-webhook-token-of-some-length', LOOKOUT_CONFIG: 'lookout.yaml' };
const load = (yaml: string, extra: Record<string, string> = {}) => loadConfig({ ...env, ...extra }, () => yaml);

describe('config: enrichment', () => {
  it('has defaults for the pipeline and the sources, and no Loki without LOKI_URL', () => {
    const config = load('{}');
    expect(config.enrichment).toMatchObject({ budgetMs: 1500, timeoutMs: 10_000, maxConcurrentGroups: 8, cacheTtlMs: 10_000 });
    expect(config.enrichment.loki.labels).toEqual({ namespace: 'namespace', pod: 'pod', container: 'container' });
    expect(config.lokiUrl).toBeUndefined();
  });

  it('reads the budget and the sources settings from the file, and LOKI_URL from env', () => {
    const config = load('enrichment: { budgetMs: 500, loki: { maxLines: 5 } }', { LOKI_URL: 'http://loki:3100' });
    expect(config.enrichment.budgetMs).toBe(500);
    expect(config.enrichment.loki.maxLines).toBe(5);
    expect(config.lokiUrl).toBe('http://loki:3100');
  });

  it('reports unknown keys, bad values and a bad LOKI_URL together, without values', () => {
    let error: unknown;
    try {
      load('enrichment: { budgetMs: -1, bugdetMs: 5 }', { LOKI_URL: 'ftp://secret@loki' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/enrichment\.budgetMs/);
    expect(message).toMatch(/bugdetMs/);
    expect(message).toMatch(/env LOKI_URL: must be an http\(s\) URL/);
    expect(message).not.toContain('secret');
  });
});
