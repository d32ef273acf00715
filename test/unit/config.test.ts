import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { ConfigError } from '../../src/errors.ts';

const TOKEN = 'webhook-token-0123456789';

function problemsOf(env: Record<string, string | undefined>, file?: string): string[] {
  try {
    loadConfig(env, () => {
      if (file === undefined) throw new Error('ENOENT: no such file');
      return file;
    });
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

describe('loadConfig', () => {
  it('console mode needs only the webhook token', () => {
    const config = loadConfig({ LOOKOUT_WEBHOOK_TOKEN: TOKEN });
    expect(config.slack).toBeUndefined();
    expect(config.channel).toBe('console');
    expect(config.http).toEqual({ port: 3000, host: '0.0.0.0', headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5000 });
    expect(config.slashCommand).toBe('/ops');
  });

  it('reads the file, and LOOKOUT_CHANNEL overrides its channel', () => {
    const file = 'channel: CFILE\nroutes:\n  - match: { severity: critical }\n    matchRegex: { namespace: "pay.*" }\n    channel: CINCIDENTS\n';
    const config = loadConfig(
      { LOOKOUT_WEBHOOK_TOKEN: TOKEN, LOOKOUT_CONFIG: 'lookout.yaml', LOOKOUT_CHANNEL: 'CENV', SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's'.repeat(32) },
      () => file,
    );
    expect(config.channel).toBe('CENV');
    expect(config.routes).toEqual([{ match: { severity: 'critical' }, matchRegex: { namespace: 'pay.*' }, channel: 'CINCIDENTS' }]);
    expect(config.slack?.apiUrl).toBe('https://slack.com/api/');
  });

  it('reads the HTTP server limits from the file', () => {
    const config = loadConfig({ LOOKOUT_WEBHOOK_TOKEN: TOKEN, LOOKOUT_CONFIG: 'lookout.yaml' }, () => 'http: { maxConnections: 500, headersTimeoutMs: 2000 }\n');
    expect(config.http).toEqual({ port: 3000, host: '0.0.0.0', maxConnections: 500, headersTimeoutMs: 2000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5000 });
    // Node refuses a headers timeout longer than the request timeout; both problems at once.
    expect(problemsOf({ LOOKOUT_WEBHOOK_TOKEN: TOKEN, LOOKOUT_CONFIG: 'lookout.yaml' }, 'http: { headersTimeoutMs: 60000, requestTimeoutMs: 1000, maxConnections: 0 }\n')).toEqual([
      expect.stringMatching(/^lookout\.yaml: http\.maxConnections: /),
      'lookout.yaml: http.headersTimeoutMs: must not be more than requestTimeoutMs',
    ]);
  });

  it('reads the shutdown drain timeout, 20 s by default, and refuses one past 10 minutes', () => {
    expect(loadConfig({ LOOKOUT_WEBHOOK_TOKEN: TOKEN }).shutdown).toEqual({ drainTimeoutMs: 20_000 });
    const env = { LOOKOUT_WEBHOOK_TOKEN: TOKEN, LOOKOUT_CONFIG: 'lookout.yaml' };
    expect(loadConfig(env, () => 'shutdown: { drainTimeoutMs: 5000 }\n').shutdown.drainTimeoutMs).toBe(5000);
    expect(problemsOf(env, 'shutdown: { drainTimeoutMs: 700000 }\n')).toEqual([expect.stringMatching(/^lookout\.yaml: shutdown\.drainTimeoutMs: /)]);
  });

  it('reports every bad key at once', () => {
    const problems = problemsOf(
      { PORT: 'eighty', LOOKOUT_CONFIG: 'lookout.yaml' },
      'routes:\n  - matchRegex: { a: "(" }\n    channel: C1\noutbox: { minIntervalMs: -5 }\ntypo: 1\n',
    );
    expect(problems).toEqual([
      expect.stringMatching(/^env PORT: /),
      expect.stringMatching(/^env LOOKOUT_WEBHOOK_TOKEN: is required/),
      expect.stringMatching(/^lookout\.yaml: routes\.0\.matchRegex\.a: is not a valid regular expression/),
      expect.stringMatching(/^lookout\.yaml: outbox\.minIntervalMs: /),
      expect.stringMatching(/^lookout\.yaml: \(top level\): Unrecognized key: "typo"/),
    ]);
  });

  it('never repeats a secret value in its messages', () => {
    const secret = 'hunter2-super-secret-value';
    const problems = problemsOf({ LOOKOUT_WEBHOOK_TOKEN: 'short', SLACK_BOT_TOKEN: secret, SLACK_SIGNING_SECRET: 'tiny' });
    expect(problems.join('\n')).not.toContain(secret);
    expect(problems.join('\n')).not.toContain('short');
    expect(problems).toContainEqual(expect.stringMatching(/SLACK_BOT_TOKEN: must be a Slack bot token/));
  });

  it('wants the bot token with a signing secret or an app token, or none of them', () => {
    expect(problemsOf({ LOOKOUT_WEBHOOK_TOKEN: TOKEN, LOOKOUT_CHANNEL: 'C1', SLACK_BOT_TOKEN: 'xoxb-1' })).toEqual([
      expect.stringMatching(/^env SLACK_BOT_TOKEN: set SLACK_SIGNING_SECRET too .* or SLACK_APP_TOKEN \(Socket Mode/),
    ]);
    expect(problemsOf({ LOOKOUT_WEBHOOK_TOKEN: TOKEN, LOOKOUT_CHANNEL: 'C1', SLACK_APP_TOKEN: 'xapp-1-A1-1-abc' })).toEqual([
      expect.stringMatching(/^env SLACK_APP_TOKEN: set SLACK_BOT_TOKEN too/),
    ]);
    expect(problemsOf({ LOOKOUT_WEBHOOK_TOKEN: TOKEN, LOOKOUT_CHANNEL: 'C1', SLACK_SIGNING_SECRET: 's'.repeat(32) })).toEqual([
      expect.stringMatching(/^env SLACK_SIGNING_SECRET: set SLACK_BOT_TOKEN too/),
    ]);
  });

  it('SLACK_APP_TOKEN switches to Socket Mode, with or without a signing secret', () => {
    const appToken = 'xapp-1-A0123-1234-abcdef';
    const socket = { LOOKOUT_WEBHOOK_TOKEN: TOKEN, LOOKOUT_CHANNEL: 'C1', SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: appToken, SLACK_API_URL: 'http://127.0.0.1:9/api' };
    expect(loadConfig(socket).slack).toEqual({ botToken: 'xoxb-1', apiUrl: 'http://127.0.0.1:9/api/', transport: 'socket', appToken });
    expect(loadConfig({ ...socket, SLACK_SIGNING_SECRET: 's'.repeat(32) }).slack?.transport).toBe('socket');
    expect(loadConfig({ ...socket, SLACK_APP_TOKEN: undefined, SLACK_SIGNING_SECRET: 's'.repeat(32) }).slack?.transport).toBe('http');
  });

  it('refuses a bot token given as the app token, without repeating it', () => {
    const problems = problemsOf({ LOOKOUT_WEBHOOK_TOKEN: TOKEN, LOOKOUT_CHANNEL: 'C1', SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xoxb-not-an-app-token' });
    expect(problems).toEqual([expect.stringMatching(/^env SLACK_APP_TOKEN: must be a Slack app-level token \(xapp-…\)/)]);
    expect(problems.join('\n')).not.toContain('xoxb-not-an-app-token');
  });

  it('with Slack, wants a channel for unrouted alerts', () => {
    expect(problemsOf({ LOOKOUT_WEBHOOK_TOKEN: TOKEN, SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's'.repeat(32) })).toEqual([
      expect.stringMatching(/^channel: set LOOKOUT_CHANNEL/),
    ]);
  });

  it('says which file it could not read', () => {
    expect(problemsOf({ LOOKOUT_WEBHOOK_TOKEN: TOKEN, LOOKOUT_CONFIG: '/missing.yaml' })).toEqual([
      expect.stringMatching(/^LOOKOUT_CONFIG: cannot read \/missing\.yaml: ENOENT/),
    ]);
  });
});
