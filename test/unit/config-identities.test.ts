import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { ConfigError } from '../../src/errors.ts';

const env = { LOOKOUT_WEBHOOK_TOKEN: 'webhook-token-0123456789', LOOKOUT_CONFIG: '/etc/lookout/config.yaml' };
const load = (file: string) => loadConfig(env, () => file);

describe('the identities section of the config file', () => {
  it('maps nobody when absent', () => {
    expect(load('channel: C0ALERTS\n').identities).toEqual({ prefix: 'slack:', users: [], emails: [], usergroups: [], cacheTtlSeconds: 300 });
  });

  it('reads the documented example', () => {
    const file = [
      'identities:',
      '  prefix: "slack:"',
      '  users:',
      '    - { slack: U024BE7LH, user: alice, groups: [sre] }',
      '  emails:',
      '    - { domain: example.com, groups: [developers] }',
      '  usergroups:',
      '    - { slack: S0614TZR7, groups: [oncall] }',
    ].join('\n');
    expect(load(file).identities).toMatchObject({
      users: [{ slack: 'U024BE7LH', user: 'alice', groups: ['sre'] }],
      emails: [{ domain: 'example.com', groups: ['developers'] }],
      usergroups: [{ slack: 'S0614TZR7', groups: ['oncall'] }],
    });
  });

  it('refuses a system: prefix, a group with a comma, and unknown keys, all at once', () => {
    const file = ['identities:', '  prefix: "system:"', '  users:', '    - { slack: U024BE7LH, user: alice, groups: ["a,b"] }', '  admins: [U1]'].join('\n');
    let problems: readonly string[] = [];
    try {
      load(file);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems = error.problems;
    }
    expect(problems.some((problem) => problem.includes('identities.prefix'))).toBe(true);
    expect(problems.some((problem) => problem.includes('identities.users.0.groups.0'))).toBe(true);
    expect(problems.some((problem) => problem.includes('admins'))).toBe(true);
  });
});
