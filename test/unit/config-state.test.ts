import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import { loadConfig } from '../../src/config.ts';

const env = { LOOKOUT_WEBHOOK_TOKEN: 'a-webhook-token-of-some-length', LOOKOUT_CONFIG: 'lookout.yaml' };
const load = (yaml: string) => loadConfig(env, () => yaml);

describe('config: retention and the state file check', () => {
  it('defaults: resolved groups kept 30 days, the file checked every 10 minutes', () => {
    const config = load('{}');
    expect(config.retention).toEqual({ resolvedGroupsMs: 30 * 86_400_000 });
    expect(config.state).toEqual({ checkIntervalMs: 600_000 });
  });

  it.each([
    ['500ms', 500],
    ['45s', 45_000],
    ['10m', 600_000],
    ['12h', 43_200_000],
    ['7d', 604_800_000],
  ])('reads the duration %s', (text, ms) => {
    expect(load(`state: { checkInterval: ${text} }`).state.checkIntervalMs).toBe(ms);
  });

  it('0s turns the periodic check off; retention reads the same durations', () => {
    const config = load('state: { checkInterval: 0s }\nretention: { resolvedGroups: 90d }');
    expect(config.state.checkIntervalMs).toBe(0);
    expect(config.retention.resolvedGroupsMs).toBe(90 * 86_400_000);
  });

  it('reports a bad duration, a retention under a second and an unknown key together', () => {
    let error: unknown;
    try {
      load('retention: { resolvedGroups: 0s, resolvedGroup: 30d }\nstate: { checkInterval: 30 days }');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toMatch(/retention\.resolvedGroups: must be at least 1s/);
    expect(message).toMatch(/retention.*resolvedGroup/);
    expect(message).toMatch(/state\.checkInterval: must be a duration such as 30d, 12h, 10m, 30s or 500ms/);
  });
});
