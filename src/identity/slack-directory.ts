/** What Lookout needs to know about a Slack person to map them; read from users.info. */
export interface SlackPerson {
  id: string;
  deleted: boolean;
  isBot: boolean;
  /** Guests (single- and multi-channel). */
  isGuest: boolean;
  /** Present only with the users:read.email scope and only when Slack confirmed the address. */
  verifiedEmail?: string;
  /** The person's own team (`team_id`); another workspace's for a Slack Connect member. */
  teamId?: string;
  /** Their Enterprise Grid organisation (`enterprise_user.enterprise_id`), on Grid only. */
  enterpriseId?: string;
  /** Slack's `is_stranger`: a member of another organisation, seen through a shared channel. */
  isStranger?: boolean;
}

/** The Slack lookups identity mapping needs; the Slack client implements it, tests fake it. */
export interface SlackDirectory {
  /** @returns undefined when Slack does not know the user. */
  person(userId: string): Promise<SlackPerson | undefined>;
  usergroupMembers(usergroupId: string): Promise<readonly string[]>;
}
