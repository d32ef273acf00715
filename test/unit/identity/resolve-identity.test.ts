import { describe, expect, it } from 'vitest';
import { AccessGate } from '../../../src/access/access-gate.ts';
import { FOREIGN_WORKSPACE_MESSAGE } from '../../../src/access/home-workspace.ts';
import { identitiesSchema } from '../../../src/identity/identity-config.ts';
import { IdentityResolver } from '../../../src/identity/resolve-identity.ts';
import type { SlackDirectory, SlackPerson } from '../../../src/identity/slack-directory.ts';
import { ManualClock, recordingLogger } from '../../helpers/fakes.ts';

class FakeDirectory implements SlackDirectory {
  lookups = 0;
  readonly people: Record<string, Omit<SlackPerson, 'id'>>;
  readonly groups: Record<string, string[]>;

  constructor(people: Record<string, Omit<SlackPerson, 'id'>>, groups: Record<string, string[]> = {}) {
    this.people = people;
    this.groups = groups;
  }
  async person(userId: string): Promise<SlackPerson | undefined> {
    this.lookups += 1;
    const person = this.people[userId];
    return person && { id: userId, ...person };
  }
  async usergroupMembers(id: string): Promise<readonly string[]> {
    this.lookups += 1;
    return this.groups[id] ?? [];
  }
}

const human = { deleted: false, isBot: false, isGuest: false };
const config = identitiesSchema.parse({
  prefix: 'slack:',
  users: [{ slack: 'UALICE', user: 'alice', groups: ['sre'] }],
  emails: [{ domain: 'example.com', groups: ['developers'] }],
  usergroups: [{ slack: 'SONCALL', groups: ['oncall'] }],
});

describe('IdentityResolver', () => {
  const directory = new FakeDirectory(
    {
      UALICE: { ...human, verifiedEmail: 'alice@example.com' },
      UBOB: { ...human, verifiedEmail: 'Bob@Example.com' },
      UCAROL: { ...human },
      UDAVE: { ...human, verifiedEmail: 'dave@elsewhere.org' },
      UGONE: { ...human, deleted: true, verifiedEmail: 'gone@example.com' },
      UBOT: { ...human, isBot: true, verifiedEmail: 'bot@example.com' },
      UGUEST: { ...human, isGuest: true, verifiedEmail: 'guest@example.com' },
    },
    { SONCALL: ['UALICE', 'UCAROL'] },
  );
  const resolver = new IdentityResolver({ config, directory });

  it('takes the username from the user-id rule and unions the groups of every rule', async () => {
    const result = await resolver.resolve('UALICE');
    expect(result).toEqual({
      ok: true,
      identity: {
        username: 'slack:alice',
        groups: ['slack:developers', 'slack:oncall', 'slack:sre'],
        derivation: [expect.stringContaining('UALICE'), expect.stringContaining('example.com'), expect.stringContaining('SONCALL')],
      },
    });
  });

  it('maps by verified email, case-insensitively', async () => {
    expect(await resolver.resolve('UBOB')).toMatchObject({ ok: true, identity: { username: 'slack:bob@example.com', groups: ['slack:developers'] } });
  });

  it('names a person matched only by user group by their Slack id', async () => {
    expect(await resolver.resolve('UCAROL')).toMatchObject({ ok: true, identity: { username: 'slack:UCAROL', groups: ['slack:oncall'] } });
  });

  it.each([
    ['UDAVE', /no identity rule/],
    ['UNOBODY', /does not know/],
    ['UGONE', /deactivated/],
    ['UBOT', /bots/],
    ['UGUEST', /guest/],
  ])('denies %s', async (id, reason) => {
    const result = await resolver.resolve(id);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(reason);
  });

  it('reuses Slack answers within the TTL and asks again after it', async () => {
    const clock = new ManualClock();
    const counting = new FakeDirectory({ UALICE: { ...human } }, { SONCALL: [] });
    const cached = new IdentityResolver({ config, directory: counting, now: clock.now });
    await Promise.all([cached.resolve('UALICE'), cached.resolve('UALICE')]);
    await cached.resolve('UALICE');
    expect(counting.lookups).toBe(2); // one users.info, one usergroups.users.list
    clock.advance(config.cacheTtlSeconds * 1000 + 1);
    await cached.resolve('UALICE');
    expect(counting.lookups).toBe(4);
  });

  it('does not remember a failed Slack lookup: the next request asks again', async () => {
    let failing = true;
    const flaky: SlackDirectory = {
      person: async (id) => {
        if (failing) throw new Error('slack is down');
        return { id, ...human };
      },
      usergroupMembers: async () => [],
    };
    const resolver = new IdentityResolver({ config, directory: flaky, now: new ManualClock().now });
    await expect(resolver.resolve('UALICE')).rejects.toThrow('slack is down');
    failing = false;
    // Same instant, so only a remembered failure could still be answered.
    expect(await resolver.resolve('UALICE')).toMatchObject({ ok: true, identity: { username: 'slack:alice' } });
  });

  it('leaves out a user group Slack cannot list instead of failing the whole mapping', async () => {
    const groupsDown: SlackDirectory = {
      person: async (id) => ({ id, ...human, verifiedEmail: `${id.toLowerCase()}@example.com` }),
      usergroupMembers: async () => {
        throw new Error('usergroups.users.list failed');
      },
    };
    const resolver = new IdentityResolver({ config, directory: groupsDown });
    const result = await resolver.resolve('UALICE');
    expect(result).toMatchObject({ ok: true, identity: { username: 'slack:alice', groups: ['slack:developers', 'slack:sre'] } });
    expect(result.ok && result.identity.derivation.at(-1)).toMatch(/SONCALL could not be read/);
  });

  it('fails rather than calling someone unmapped when only an unreadable user group could map them', async () => {
    const groupsOnly = identitiesSchema.parse({ usergroups: [{ slack: 'SONCALL', groups: ['oncall'] }] });
    const groupsDown: SlackDirectory = {
      person: async (id) => ({ id, ...human }),
      usergroupMembers: async () => {
        throw new Error('usergroups.users.list failed');
      },
    };
    const resolver = new IdentityResolver({ config: groupsOnly, directory: groupsDown });
    await expect(resolver.resolve('UCAROL')).rejects.toThrow(/SONCALL/);
  });

  it('refuses prefixes that could collide with cluster identities', () => {
    expect(identitiesSchema.safeParse({ prefix: 'system:' }).success).toBe(false);
    expect(identitiesSchema.safeParse({ prefix: 'slack' }).success).toBe(false);
  });
});

describe('IdentityResolver and people of other workspaces (Slack Connect)', () => {
  const home = { get: async () => ({ teamId: 'T0HOME' }) };
  // UEXT has a user-id rule: Slack user ids are unique per workspace only, so a rule written for
  // a colleague must not map a stranger who happens to carry the same id elsewhere.
  const rules = identitiesSchema.parse({ users: [{ slack: 'UEXT', user: 'ext' }, { slack: 'UALICE', user: 'alice' }], emails: [{ domain: 'example.com' }] });

  it("denies a person users.info places in another team, even one a rule names, and says Lookout only acts for its own members", async () => {
    const directory = new FakeDirectory({ UEXT: { ...human, teamId: 'T0ELSEWHERE', verifiedEmail: 'ext@example.com' } });
    const resolver = new IdentityResolver({ config: rules, directory, home });
    expect(await resolver.resolve('UEXT')).toEqual({ ok: false, reason: 'the Slack account belongs to another workspace', foreign: true });
  });

  it('denies a person Slack marks is_stranger, whatever team it reports', async () => {
    const directory = new FakeDirectory({ UEXT: { ...human, teamId: 'T0HOME', isStranger: true } });
    expect(await new IdentityResolver({ config: rules, directory, home }).resolve('UEXT')).toMatchObject({ ok: false, foreign: true });
    // Without knowing the home workspace (no Slack to ask), is_stranger alone still denies.
    expect(await new IdentityResolver({ config: rules, directory }).resolve('UEXT')).toMatchObject({ ok: false, foreign: true });
  });

  it('denies a person whose team users.info does not state', async () => {
    const directory = new FakeDirectory({ UALICE: { ...human } });
    expect(await new IdentityResolver({ config: rules, directory, home }).resolve('UALICE')).toMatchObject({ ok: false, foreign: true });
  });

  it('maps members of its own workspace, and of its Enterprise Grid organisation', async () => {
    const directory = new FakeDirectory({ UALICE: { ...human, teamId: 'T0HOME' }, UEXT: { ...human, teamId: 'T0SISTER', enterpriseId: 'E0ORG' } });
    expect(await new IdentityResolver({ config: rules, directory, home }).resolve('UALICE')).toMatchObject({ ok: true, identity: { username: 'slack:alice' } });
    const gridHome = { get: async () => ({ teamId: 'T0HOME', enterpriseId: 'E0ORG' }) };
    expect(await new IdentityResolver({ config: rules, directory, home: gridHome }).resolve('UEXT')).toMatchObject({ ok: true, identity: { username: 'slack:ext' } });
  });

  it('the gate tells a foreign person that this Lookout only acts for its own members, not to ask for a rule', async () => {
    const directory = new FakeDirectory({ UEXT: { ...human, teamId: 'T0ELSEWHERE' } });
    const gate = new AccessGate({ resolver: new IdentityResolver({ config: rules, directory, home }), kube: undefined, log: recordingLogger().log });
    const identification = await gate.identify({ slackUserId: 'UEXT', slackUserName: 'ext' });
    expect(identification).toEqual({ mapped: false, message: FOREIGN_WORKSPACE_MESSAGE });
  });
});
