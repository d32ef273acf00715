import { randomBytes } from 'node:crypto';
import { App, HTTPReceiver, type CustomRoute } from '@slack/bolt';
import { LINK_ACTION_PREFIX } from '../../alerts/render.ts';
import type { AnyCommand } from '../../commands/command.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { boltLogger } from './bolt-logger.ts';
import { createSlashCommandHandler } from './dispatcher.ts';

export interface SlackAppOptions {
  config: Config;
  log: Logger;
  metrics: Metrics;
  commands: readonly AnyCommand[];
  customRoutes: CustomRoute[];
}

/**
 * Bolt's App and HTTP receiver. The receiver serves Lookout's own routes (custom routes) and
 * /slack/events; listeners are registered here and hold no business logic.
 */
export function createSlackApp({ config, log, metrics, commands, customRoutes }: SlackAppOptions): { app: App; receiver: HTTPReceiver } {
  const logger = boltLogger(log);
  const receiver = new HTTPReceiver({
    // Console mode has no signing secret; a random one means no request can ever verify.
    signingSecret: config.slack?.signingSecret ?? randomBytes(32).toString('hex'),
    customRoutes,
    logger,
  });
  const app = new App({
    receiver,
    logger,
    ...(config.slack
      ? { token: config.slack.botToken, clientOptions: { slackApiUrl: config.slack.apiUrl } }
      : { authorize: async () => Promise.reject(new Error('console mode: Slack is not configured')) }),
  });
  app.command(config.slashCommand, createSlashCommandHandler({ commands, slashCommand: config.slashCommand, log, metrics }));
  // URL buttons open their link in the browser; Slack still expects the click acknowledged.
  app.action(new RegExp(`^${LINK_ACTION_PREFIX}`), async ({ ack }) => ack());
  app.error(async (error) => {
    log.error({ err: error }, 'unhandled error in a Slack listener');
  });
  return { app, receiver };
}
