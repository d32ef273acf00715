import { randomBytes } from 'node:crypto';
import { App, AuthorizationError, HTTPReceiver, type CustomRoute } from '@slack/bolt';
import { LINK_ACTION_PREFIX } from '../../alerts/render.ts';
import type { AnyCommand } from '../../commands/command.ts';
import type { Gate } from '../access/access-gate.ts';
import type { AuditTrail } from '../access/authorization.ts';
import type { WorkspaceSource } from '../access/home-workspace.ts';
import type { Config } from '../config.ts';
import type { KubeHttp } from '../kube/kube-http.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { cleanText, type Redactor } from '../redact-secrets.ts';
import { boltLogger } from './bolt-logger.ts';
import { cleanBlocks } from './clean-outgoing.ts';
import { createSlashCommandHandler, type CommandInteractivity } from './dispatcher.ts';
import type { InteractionRegistry } from './interaction-registry.ts';

export interface SlackAppOptions {
  config: Config;
  log: Logger;
  metrics: Metrics;
  commands: readonly AnyCommand[];
  customRoutes: CustomRoute[];
  /** The RBAC gate for commands that declare access. */
  gate: Gate;
  /** Where every attempt at a gated command is recorded. */
  audit: AuditTrail;
  /** Lookout's Kubernetes client, for calls commands make as the person; undefined without Kubernetes. */
  kube: Pick<KubeHttp, 'request'> | undefined;
  /** Every button and modal Lookout answers (alert-message actions, confirmations). */
  interactions: InteractionRegistry;
  /** Confirmations and follow-up edits of command replies. */
  interactive?: CommandInteractivity;
  /** Lookout's own Slack workspace (auth.test): commands from other workspaces are refused. */
  home?: WorkspaceSource;
  /** Applied to every reply made through Bolt (respond, postEphemeral), as the outbox's SlackApi applies it to posts. */
  redactor: Redactor;
}

/**
 * Bolt's App and HTTP receiver. The receiver serves Lookout's own routes (custom routes) and
 * /slack/events; listeners are registered here and hold no business logic.
 */
export function createSlackApp({ config, log, metrics, commands, customRoutes, interactions, interactive, gate, audit, kube, home, redactor }: SlackAppOptions): { app: App; receiver: HTTPReceiver } {
  const logger = boltLogger(log);
  const receiver = new HTTPReceiver({
    // Console mode has no signing secret; a random one means no request can ever verify.
    signingSecret: config.slack?.signingSecret ?? randomBytes(32).toString('hex'),
    customRoutes,
    logger,
    // Bolt's default logs only "An unhandled error occurred" and keeps the error at debug level.
    processEventErrorHandler: async ({ error, response }) => {
      if (error instanceof AuthorizationError) {
        if (!response.headersSent) response.writeHead(401).end();
        return true;
      }
      const ref = randomBytes(4).toString('hex');
      log.error({ err: error, ref }, `Bolt could not process a request to /slack/events (ref ${ref})`);
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`internal error (ref ${ref})\n`);
      return false;
    },
  });
  const app = new App({
    receiver,
    logger,
    ...(config.slack
      ? { token: config.slack.botToken, clientOptions: { slackApiUrl: config.slack.apiUrl } }
      : { authorize: async () => Promise.reject(new Error('console mode: Slack is not configured')) }),
  });
  const handleCommand = createSlashCommandHandler({ commands, slashCommand: config.slashCommand, log, metrics, gate, audit, kube, ...(home ? { home } : {}), ...(interactive ? { interactive } : {}), settings: config.commands });
  // Replies quote what people typed and what commands read (logs, Kubernetes messages): cleaned
  // here, the one place a command's reply leaves for Slack (src/slack/clean-outgoing.ts for posts).
  app.command(config.slashCommand, async ({ command, ack, respond }) =>
    handleCommand({ command, ack, respond: async (reply) => respond({ ...reply, text: cleanText(reply.text, redactor), ...(reply.blocks ? { blocks: cleanBlocks(reply.blocks, redactor) } : {}) }) }),
  );
  // URL buttons open their link in the browser; Slack still expects the click acknowledged.
  app.action(new RegExp(`^${LINK_ACTION_PREFIX}`), async ({ ack }) => ack());
  // Buttons and modals: one registry, one way in (src/slack/interaction-registry.ts).
  interactions.register(app, log);
  app.error(async (error) => {
    log.error({ err: error }, 'unhandled error in a Slack listener');
  });
  return { app, receiver };
}
