/** What Lookout needs to know about a Slack person to map them; read from users.info. */
export interface SlackPerson {
  id: string;
  deleted: boolean;
  isBot: boolean;
  /** Guests (single- and multi-channel). */
  isGuest: boolean;
  /** Present only with the users:read.email scope and only when Slack confirmed the address. */
  verifiedEmail?: string;
}

/** The Slack lookups identity mapping needs; the Slack client implements it, tests fake it. */
export interface SlackDirectory {
  /** @returns undefined when Slack does not know the user. */
  person(userId: string): Promise<SlackPerson | undefined>;
  usergroupMembers(usergroupId: string): Promise<readonly string[]>;
}
