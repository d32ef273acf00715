import { describe, expect, it } from 'vitest';
import { HomeWorkspace, isHomeTeam } from '../../../src/access/home-workspace.ts';

describe('isHomeTeam', () => {
  const workspace = { teamId: 'T0HOME' };
  const grid = { teamId: 'T0HOME', enterpriseId: 'E0ORG' };
  const orgWide = { enterpriseId: 'E0ORG' };

  it('accepts the own workspace and refuses any other team', () => {
    expect(isHomeTeam(workspace, { teamId: 'T0HOME' })).toBe(true);
    expect(isHomeTeam(workspace, { teamId: 'T0ELSEWHERE' })).toBe(false);
  });

  it('refuses a person whose team Slack did not state', () => {
    expect(isHomeTeam(workspace, {})).toBe(false);
    expect(isHomeTeam(grid, {})).toBe(false);
  });

  it("outside Enterprise Grid, an enterprise id proves nothing (another org's Grid)", () => {
    expect(isHomeTeam(workspace, { teamId: 'T0ELSEWHERE', enterpriseId: 'E0OTHER' })).toBe(false);
  });

  it("on Enterprise Grid accepts the organisation, as Slack reports a member's user.team_id (E…) or their enterprise_id", () => {
    expect(isHomeTeam(grid, { teamId: 'E0ORG' })).toBe(true);
    expect(isHomeTeam(grid, { teamId: 'T0SISTER', enterpriseId: 'E0ORG' })).toBe(true);
    expect(isHomeTeam(orgWide, { teamId: 'T0SISTER', enterpriseId: 'E0ORG' })).toBe(true);
  });

  it('on Enterprise Grid still refuses another organisation', () => {
    expect(isHomeTeam(grid, { teamId: 'E0OTHER' })).toBe(false);
    expect(isHomeTeam(grid, { teamId: 'T0THEIRS', enterpriseId: 'E0OTHER' })).toBe(false);
    expect(isHomeTeam(orgWide, { teamId: 'T0THEIRS' })).toBe(false);
  });
});

describe('HomeWorkspace', () => {
  it('asks Slack once, sharing the answer between concurrent and later callers', async () => {
    let lookups = 0;
    const home = new HomeWorkspace({ lookup: async () => ((lookups += 1), { teamId: 'T0HOME' }) });
    const answers = await Promise.all([home.get(), home.get()]);
    expect(await home.get()).toEqual({ teamId: 'T0HOME' });
    expect(answers).toEqual([{ teamId: 'T0HOME' }, { teamId: 'T0HOME' }]);
    expect(lookups).toBe(1);
  });

  it('does not remember a failure: the next caller asks again', async () => {
    const results: Array<() => Promise<{ teamId: string }>> = [async () => Promise.reject(new Error('ratelimited')), async () => ({ teamId: 'T0HOME' })];
    const home = new HomeWorkspace({ lookup: () => (results.shift() ?? (async () => Promise.reject(new Error('asked too often'))))() });
    await expect(home.get()).rejects.toThrow('ratelimited');
    expect(await home.get()).toEqual({ teamId: 'T0HOME' });
  });

  it('fails when auth.test names neither a team nor an enterprise, rather than accepting everyone', async () => {
    const home = new HomeWorkspace({ lookup: async () => ({}) });
    await expect(home.get()).rejects.toThrow(/neither a team nor an enterprise/);
  });
});
