import { isHomeTeam, type WorkspaceSource } from '../access/home-workspace.ts';
import type { IdentitiesConfig } from './identity-config.ts';
import type { SlackDirectory, SlackPerson } from './slack-directory.ts';

/** A Kubernetes identity for a Slack person, prefixed, with how it was derived. */
export interface KubeIdentity {
  username: string;
  groups: string[];
  /** Human-readable lines for `/ops whoami`, e.g. "user from Slack user id U024BE7LH". */
  derivation: string[];
}

/** `foreign`: the person belongs to another Slack workspace, so no rule could ever map them. */
export type IdentityResolution = { ok: true; identity: KubeIdentity } | { ok: false; reason: string; foreign?: true };

export interface IdentityResolverOptions {
  config: IdentitiesConfig;
  directory: SlackDirectory;
  /**
   * Lookout's own workspace: a person users.info places in another team is never mapped, even
   * by a user-id rule (ids are only unique within a workspace). Set whenever Slack is configured.
   */
  home?: WorkspaceSource;
  now?: () => number;
}

interface Cached<T> {
  value: Promise<T>;
  expiresAt: number;
}

/**
 * Maps a Slack user to the Kubernetes identity Lookout acts as for them. Unmapped, deleted,
 * bot and guest accounts get no identity (guests only through an explicit user-id rule).
 * Slack answers are cached for `cacheTtlSeconds`, and concurrent lookups share one request.
 */
export class IdentityResolver {
  private readonly config: IdentitiesConfig;
  private readonly directory: SlackDirectory;
  private readonly home: WorkspaceSource | undefined;
  private readonly now: () => number;
  private readonly people = new Map<string, Cached<SlackPerson | undefined>>();
  private readonly usergroups = new Map<string, Cached<ReadonlySet<string>>>();

  constructor({ config, directory, home, now = Date.now }: IdentityResolverOptions) {
    this.config = config;
    this.directory = directory;
    this.home = home;
    this.now = now;
  }

  async resolve(slackUserId: string): Promise<IdentityResolution> {
    const person = await this.cached(this.people, slackUserId, () => this.directory.person(slackUserId));
    if (person === undefined) return { ok: false, reason: 'Slack does not know this user' };
    if (person.deleted) return { ok: false, reason: 'the Slack account is deactivated' };
    if (person.isBot) return { ok: false, reason: 'bots cannot act through Lookout' };
    // Slack Connect: someone of another organisation, seen through a shared channel.
    if (person.isStranger === true || (this.home !== undefined && !isHomeTeam(await this.home.get(), person))) {
      return { ok: false, reason: 'the Slack account belongs to another workspace', foreign: true };
    }

    const { prefix } = this.config;
    const derivation: string[] = [];
    const groups = new Set<string>();
    let username: string | undefined;

    const byId = this.config.users.find((rule) => rule.slack === person.id);
    if (byId) {
      username = byId.user;
      byId.groups.forEach((group) => groups.add(group));
      derivation.push(`user ${prefix}${byId.user} from the rule for Slack user ${person.id}`);
    }
    if (person.isGuest && !byId) return { ok: false, reason: 'guest accounts need an explicit user-id rule' };

    const email = person.verifiedEmail?.toLowerCase();
    const domain = email?.split('@')[1];
    for (const rule of this.config.emails.filter((candidate) => candidate.domain.toLowerCase() === domain)) {
      username ??= email;
      rule.groups.forEach((group) => groups.add(group));
      derivation.push(`verified email ${email} matches domain ${rule.domain}${rule.groups.length ? ` → groups ${rule.groups.join(', ')}` : ''}`);
    }

    // Groups only ever add permissions (RBAC has no deny), so a user group Slack cannot list right
    // now is left out rather than failing everyone's mapping; the person sees it in `whoami`.
    const unreadable: string[] = [];
    for (const rule of this.config.usergroups) {
      let members: ReadonlySet<string>;
      try {
        members = await this.cached(this.usergroups, rule.slack, async () => new Set(await this.directory.usergroupMembers(rule.slack)));
      } catch {
        unreadable.push(rule.slack);
        continue;
      }
      if (!members.has(person.id)) continue;
      rule.groups.forEach((group) => groups.add(group));
      derivation.push(`member of Slack user group ${rule.slack} → groups ${rule.groups.join(', ')}`);
    }

    if (derivation.length === 0) {
      // Without those groups the person may look unmapped when they are not: fail, don't mislead.
      if (unreadable.length > 0) throw new Error(`Slack did not list the user groups ${unreadable.join(', ')}`);
      return { ok: false, reason: 'no identity rule maps this Slack user' };
    }
    if (unreadable.length > 0) derivation.push(`Slack user groups ${unreadable.join(', ')} could not be read just now; their groups are left out`);
    // Only user-group rules matched: the Slack user id is the stable name for the person.
    username ??= person.id;
    return {
      ok: true,
      identity: { username: `${prefix}${username}`, groups: [...groups].sort().map((group) => `${prefix}${group}`), derivation },
    };
  }

  private cached<T>(cache: Map<string, Cached<T>>, key: string, load: () => Promise<T>): Promise<T> {
    const now = this.now();
    const hit = cache.get(key);
    if (hit && hit.expiresAt > now) return hit.value;
    const value = load();
    cache.set(key, { value, expiresAt: now + this.config.cacheTtlSeconds * 1000 });
    // A failed lookup must not be remembered: the next request asks Slack again.
    value.catch(() => {
      if (cache.get(key)?.value === value) cache.delete(key);
    });
    return value;
  }
}
