import { WebAPIPlatformError, WebClient } from '@slack/web-api';
import type { Workspace } from '../access/home-workspace.ts';
import type { SlackDirectory, SlackPerson } from './slack-directory.ts';

export interface SlackWebDirectoryOptions {
  token: string;
  apiUrl: string;
  /** Per call; a person is waiting for the answer. */
  timeoutMs?: number;
}

/**
 * SlackDirectory over Slack's Web API: `users.info` (scopes users:read, and users:read.email
 * for email rules) and `usergroups.users.list` (usergroups:read). Caching is the resolver's job.
 */
export class SlackWebDirectory implements SlackDirectory {
  private readonly client: WebClient;

  constructor({ token, apiUrl, timeoutMs = 5000 }: SlackWebDirectoryOptions) {
    this.client = new WebClient(token, {
      slackApiUrl: apiUrl,
      // Someone is waiting on a slash command: one quick retry, not the client's half hour of them.
      retryConfig: { retries: 1, factor: 1, minTimeout: 200, maxTimeout: 200 },
      rejectRateLimitedCalls: true,
      timeout: timeoutMs,
    });
  }

  async person(userId: string): Promise<SlackPerson | undefined> {
    let user;
    try {
      ({ user } = await this.client.users.info({ user: userId }));
    } catch (error) {
      if (error instanceof WebAPIPlatformError && error.data.error === 'user_not_found') return undefined;
      throw error;
    }
    if (user?.id === undefined) return undefined;
    const email = user.profile?.email;
    const enterpriseId = user.enterprise_user?.enterprise_id ?? user.enterprise_id;
    return {
      id: user.id,
      deleted: user.deleted === true,
      // App users are bots too: an app's user must never borrow a person's rights.
      isBot: user.is_bot === true || user.is_app_user === true || user.id === 'USLACKBOT',
      isGuest: user.is_restricted === true || user.is_ultra_restricted === true,
      // An address Slack has not confirmed is only a claim; email rules would grant rights on it.
      ...(email && user.is_email_confirmed === true ? { verifiedEmail: email } : {}),
      ...(user.team_id ? { teamId: user.team_id } : {}),
      ...(enterpriseId ? { enterpriseId } : {}),
      ...(user.is_stranger === true ? { isStranger: true } : {}),
    };
  }

  /** Lookout's own workspace, from `auth.test` (no scope needed). */
  async workspace(): Promise<Workspace> {
    const { team_id: teamId, enterprise_id: enterpriseId, url } = await this.client.auth.test();
    return { ...(teamId ? { teamId } : {}), ...(enterpriseId ? { enterpriseId } : {}), ...(url?.startsWith('https://') ? { url } : {}) };
  }

  async usergroupMembers(usergroupId: string): Promise<readonly string[]> {
    const { users } = await this.client.usergroups.users.list({ usergroup: usergroupId });
    return users ?? [];
  }
}
