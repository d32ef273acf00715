import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startFakeSlack, type FakeSlack, type FakeSlackOptions } from './fake-slack.ts';
import { processWatchdog } from './watchdog.ts';

/** What a test needs around Lookout: the fake Slack, a state directory and the env to start it with. */
export interface LookoutTestBed {
  slack: FakeSlack;
  /** A temporary directory of the bed's own (state file, config file), removed by close(). */
  dir: string;
  /**
   * Environment for `startLookout(env)` (or `loadConfig({...env, HOST, PORT})` in process):
   * the fake Slack's URL and token, the signing secret (or the app token: `socketMode`), webhook token, channel, LOOKOUT_STATE,
   * LOOKOUT_CONFIG if a config was given, and `extraEnv`.
   */
  env: Record<string, string>;
  webhookToken: string;
  signingSecret: string;
  channel: string;
  /** Closes the fake Slack and removes `dir`. Stop Lookout first. */
  close(): Promise<void>;
}

export interface LookoutTestBedOptions {
  /** Users, user groups, channels… of the fake Slack. */
  slack?: FakeSlackOptions;
  /** Written to `dir`/lookout.yaml and passed as LOOKOUT_CONFIG: YAML text, or an object to stringify. */
  config?: string | Record<string, unknown>;
  webhookToken?: string;
  signingSecret?: string;
  /** LOOKOUT_CHANNEL; default C0ALERTS. */
  channel?: string;
  /** More variables, e.g. KUBECONFIG or LOKI_URL. */
  extraEnv?: Record<string, string>;
  /** Socket Mode: SLACK_APP_TOKEN (the fake's app token) instead of SLACK_SIGNING_SECRET. */
  socketMode?: boolean;
}

/**
 * Starts the fake Slack and prepares Lookout's environment and files, so each integration test
 * file does not repeat it (and none forgets to remove its temporary directory).
 */
export async function startLookoutTestBed(options: LookoutTestBedOptions = {}): Promise<LookoutTestBed> {
  const webhookToken = options.webhookToken ?? 'integration-webhook-token-0123';
  const signingSecret = options.signingSecret ?? 'integration-signing-secret-0123456789';
  const channel = options.channel ?? 'C0ALERTS';
  const slack = await startFakeSlack(options.slack ?? {});
  const dir = mkdtempSync(join(tmpdir(), 'lookout-test-'));
  processWatchdog().removeIfOrphaned(dir);
  const env: Record<string, string> = {
    SLACK_BOT_TOKEN: slack.token,
    ...(options.socketMode ? { SLACK_APP_TOKEN: slack.appToken } : { SLACK_SIGNING_SECRET: signingSecret }),
    SLACK_API_URL: slack.url,
    LOOKOUT_WEBHOOK_TOKEN: webhookToken,
    LOOKOUT_CHANNEL: channel,
    LOOKOUT_STATE: join(dir, 'lookout.db'),
  };
  if (options.config !== undefined) {
    const configFile = join(dir, 'lookout.yaml');
    writeFileSync(configFile, typeof options.config === 'string' ? options.config : stringify(options.config));
    env['LOOKOUT_CONFIG'] = configFile;
  }
  Object.assign(env, options.extraEnv);
  return {
    slack,
    dir,
    env,
    webhookToken,
    signingSecret,
    channel,
    async close() {
      await slack.close();
      rmSync(dir, { recursive: true, force: true });
      processWatchdog().keep(dir);
    },
  };
}
