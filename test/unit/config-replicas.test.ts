import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import { loadConfig } from '../../src/config.ts';

const base = { LOOKOUT_WEBHOOK_TOKEN: 'a-webhook-token-of-some-length', LOOKOUT_CONFIG: 'lookout.yaml' };
const load = (yaml: string, env: Record<string, string> = {}) => loadConfig({ ...base, ...env }, () => yaml);

function problems(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('config: replicas', () => {
  it('on a shared database, names the replica after the pod, with a suffix new at each start, and leases for 10 s', () => {
    const shared = { HOSTNAME: 'lookout-7d9f-abcde', LOOKOUT_DATABASE_URL: 'postgres://lookout@db/lookout' };
    const first = load('{}', shared);
    const second = load('{}', shared);
    expect(first.replicas.id).toMatch(/^lookout-7d9f-abcde-[0-9a-f]{8}$/);
    expect(second.replicas.id).not.toBe(first.replicas.id);
    expect(first.replicas.leaseDurationMs).toBe(10_000);
  });

  it('on SQLite, is the one replica under one name, so a restart after a crash takes its leases back at once', () => {
    expect(load('{}', { HOSTNAME: 'lookout-7d9f-abcde' }).replicas.id).toBe('lookout');
    expect(load('{}', { HOSTNAME: 'lookout-7d9f-fghij' }).replicas.id).toBe('lookout');
  });

  it('takes LOOKOUT_REPLICA_ID as it is, and the lease duration from the file', () => {
    const config = load('replicas: { leaseDuration: 30s }', { LOOKOUT_REPLICA_ID: 'lookout-0' });
    expect(config.replicas).toEqual({ id: 'lookout-0', leaseDurationMs: 30_000 });
  });

  it('refuses a replica id that is not a plain name, and lease durations out of range, naming the key', () => {
    expect(problems(() => load('{}', { LOOKOUT_REPLICA_ID: 'a b' }))).toEqual([expect.stringMatching(/^env LOOKOUT_REPLICA_ID: must be 1 to 128/)]);
    expect(problems(() => load('replicas: { leaseDuration: 1s }'))).toEqual([expect.stringMatching(/replicas\.leaseDuration: must be between 3s and 60s/)]);
    expect(problems(() => load('replicas: { leaseDuration: 2m }'))).toEqual([expect.stringMatching(/replicas\.leaseDuration: must be between 3s and 60s/)]);
  });

  it('refuses a lease whose last third is shorter than Slack\'s per-channel interval', () => {
    expect(problems(() => load('replicas: { leaseDuration: 6s }\noutbox: { minIntervalMs: 2500 }'))).toEqual([
      'lookout.yaml: replicas.leaseDuration: must be at least 3 × outbox.minIntervalMs (2500 ms)',
    ]);
    expect(load('replicas: { leaseDuration: 6s }\noutbox: { minIntervalMs: 2000 }').replicas.leaseDurationMs).toBe(6000);
  });
});
