import { failed, passed, type DoctorCheck } from '../doctor-check.ts';

/** The bot scopes Lookout's Slack app asks for (manifests/slack-app-manifest.yaml). */
export const REQUIRED_SCOPES = ['chat:write', 'commands', 'users:read', 'users:read.email', 'usergroups:read', 'channels:history', 'groups:history'] as const;

/** auth.test as @slack/web-api answers it: Slack's `x-oauth-scopes` header becomes `response_metadata.scopes`. */
export interface AuthTestAnswer {
  team?: string;
  user?: string;
  response_metadata?: { scopes?: string[] };
}

export interface SlackCheckOptions {
  authTest(): Promise<AuthTestAnswer>;
  /** Socket Mode only: why Lookout cannot hear Slack now, or undefined (src/slack/socket-mode-connection.ts). */
  socketProblem?: () => string | undefined;
}

/** Slack: the bot token works (auth.test), it has every scope Lookout uses, and Socket Mode is connected when used. */
export function slackCheck({ authTest, socketProblem }: SlackCheckOptions): DoctorCheck {
  return {
    name: 'Slack',
    async run() {
      let answer: AuthTestAnswer;
      try {
        answer = await authTest();
      } catch (error) {
        const code = (error as { data?: { error?: unknown } }).data?.error;
        return failed(`auth.test failed${typeof code === 'string' ? ` (${code})` : ''}`, 'Check SLACK_BOT_TOKEN (reinstall the app to the workspace for a new one) and that SLACK_API_URL reaches Slack.');
      }
      const who = `${answer.user ?? 'the bot'} in ${answer.team ?? 'its workspace'}`;
      const scopes = answer.response_metadata?.scopes;
      const missing = scopes === undefined ? [] : REQUIRED_SCOPES.filter((scope) => !scopes.includes(scope));
      if (missing.length > 0) return failed(`token works (${who}) but lacks the scopes ${missing.map((scope) => `\`${scope}\``).join(', ')}`, 'Add them under OAuth & Permissions (or from manifests/slack-app-manifest.yaml) and reinstall the app.');
      const problem = socketProblem?.();
      if (problem !== undefined) return failed(`token works (${who}), but ${problem.replace(/^slack: /, '')}`, 'Check SLACK_APP_TOKEN (an xapp- token with connections:write) and that Lookout reaches wss-primary.slack.com.');
      const scopeNote = scopes === undefined ? 'Slack did not list the scopes' : 'all scopes Lookout needs';
      return passed(`token works (${who}) · ${scopeNote}${socketProblem ? ' · Socket Mode connected' : ''}`);
    },
  };
}
