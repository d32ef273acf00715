import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlackWebDirectory } from '../../../src/identity/slack-web-directory.ts';
import { startFakeSlack, type FakeSlack } from '../../support/fake-slack.ts';

describe('SlackWebDirectory against the fake Slack Web API', () => {
  let slack: FakeSlack;
  let directory: SlackWebDirectory;

  beforeAll(async () => {
    slack = await startFakeSlack({
      users: [
        { id: 'UALICE', name: 'alice', email: 'alice@example.com' },
        { id: 'UBOB', name: 'bob', email: 'bob@example.com', emailConfirmed: false },
        { id: 'UGONE', deleted: true, email: 'gone@example.com' },
        { id: 'UBOT', isBot: true },
        { id: 'UAPP', isAppUser: true },
        { id: 'UGUEST', isRestricted: true, email: 'guest@example.com' },
        { id: 'USINGLE', isUltraRestricted: true },
        { id: 'UNOMAIL' },
        { id: 'UEXT', teamId: 'T0ELSEWHERE' },
        { id: 'USTRANGER', teamId: 'T0ELSEWHERE', isStranger: true },
      ],
      usergroups: { SONCALL: ['UALICE', 'UBOB'] },
    });
    directory = new SlackWebDirectory({ token: slack.token, apiUrl: slack.url, timeoutMs: 2000 });
  });
  afterAll(async () => slack.close());

  it('reads a person, with the email only because Slack confirmed it', async () => {
    expect(await directory.person('UALICE')).toEqual({ id: 'UALICE', deleted: false, isBot: false, isGuest: false, verifiedEmail: 'alice@example.com', teamId: 'T0LOOKOUT' });
    expect(slack.callsTo('users.info').at(-1)?.params).toEqual({ user: 'UALICE' });
  });

  it('ignores an unconfirmed email, and a missing one', async () => {
    expect(await directory.person('UBOB')).toEqual({ id: 'UBOB', deleted: false, isBot: false, isGuest: false, teamId: 'T0LOOKOUT' });
    expect(await directory.person('UNOMAIL')).toEqual({ id: 'UNOMAIL', deleted: false, isBot: false, isGuest: false, teamId: 'T0LOOKOUT' });
  });

  it('marks deactivated accounts, bots, app users and both kinds of guest', async () => {
    expect(await directory.person('UGONE')).toMatchObject({ deleted: true });
    expect(await directory.person('UBOT')).toMatchObject({ isBot: true });
    expect(await directory.person('UAPP')).toMatchObject({ isBot: true });
    expect(await directory.person('UGUEST')).toMatchObject({ isGuest: true });
    expect(await directory.person('USINGLE')).toMatchObject({ isGuest: true });
  });

  it("reads the person's own team and Slack's is_stranger mark", async () => {
    expect(await directory.person('UEXT')).toMatchObject({ teamId: 'T0ELSEWHERE' });
    expect(await directory.person('UEXT')).not.toHaveProperty('isStranger');
    expect(await directory.person('USTRANGER')).toMatchObject({ teamId: 'T0ELSEWHERE', isStranger: true });
  });

  it("names Lookout's own workspace and its address from auth.test", async () => {
    expect(await directory.workspace()).toEqual({ teamId: 'T0LOOKOUT', url: expect.stringMatching(/^https:\/\/[a-z0-9-]+\.slack\.com\/$/) });
    const grid = await startFakeSlack({ teamId: 'T0HOME', enterpriseId: 'E0ORG' });
    try {
      expect(await new SlackWebDirectory({ token: grid.token, apiUrl: grid.url }).workspace()).toMatchObject({ teamId: 'T0HOME', enterpriseId: 'E0ORG' });
    } finally {
      await grid.close();
    }
  });

  it('answers undefined for a user Slack does not know', async () => {
    expect(await directory.person('UNKNOWN')).toBeUndefined();
  });

  it('lets other Slack failures propagate: "unknown" must not be mistaken for "unmapped"', async () => {
    slack.failNext('users.info', 1, 'missing_scope');
    await expect(directory.person('UALICE')).rejects.toThrow(/missing_scope/);
  });

  it('lists the members of a user group', async () => {
    expect(await directory.usergroupMembers('SONCALL')).toEqual(['UALICE', 'UBOB']);
    expect(slack.callsTo('usergroups.users.list').at(-1)?.params).toEqual({ usergroup: 'SONCALL' });
    await expect(directory.usergroupMembers('SMISSING')).rejects.toThrow(/no_such_subteam/);
  });
});
