import { randomBytes } from 'node:crypto';
import { App, AuthorizationError, HTTPReceiver, SocketModeReceiver } from '@slack/bolt';
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
import type { Store } from '../state/store.ts';
import { boltLogger } from './bolt-logger.ts';
import { cleanBlocks } from './clean-outgoing.ts';
import { createSlashCommandHandler, type CommandInteractivity } from './dispatcher.ts';
import type { InteractionRegistry } from './interaction-registry.ts';
import { postToResponseUrl } from './post-response-url.ts';
import { createDeliveryFilter, ENVELOPE_ID_CONTEXT_KEY } from './socket-deliveries.ts';
import { SocketModeConnection } from './socket-mode-connection.ts';

/** apps.connections.open is one quick call; Slack's other Web API calls have their own deadlines. */
const CONNECTIONS_OPEN_TIMEOUT_MS = 10_000;

export interface SlackAppOptions {
  config: Config;
  log: Logger;
  metrics: Metrics;
  commands: readonly AnyCommand[];
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
  /** Socket Mode: where requests are claimed, so one Slack delivers twice runs once. */
  store: Pick<Store, 'claimSlackDelivery'>;
  now?: () => number;
}

export interface SlackApp {
  app: App;
  /** Serves Lookout's own routes, and /slack/events unless Slack is reached over Socket Mode. */
  receiver: HTTPReceiver;
  /** Socket Mode only (SLACK_APP_TOKEN): the connection to Slack, started by Lookout. */
  socket?: SocketModeConnection;
}

/**
 * Bolt's App and its receivers. The HTTP receiver serves Lookout's own routes (custom routes) and,
 * over HTTP, /slack/events. In Socket Mode the App takes Slack's requests from Bolt's Socket
 * Mode receiver instead; the same listeners answer them either way. Listeners are registered here
 * and hold no business logic.
 */
export function createSlackApp({ config, log, metrics, commands, interactions, interactive, gate, audit, kube, home, redactor, store, now = Date.now }: SlackAppOptions): SlackApp {
  const logger = boltLogger(log);
  const receiver = new HTTPReceiver({
    // Console mode has no signing secret; a random one means no request can ever verify.
    // Console mode and Socket Mode have no signing secret; a random one means no request can ever verify.
    signingSecret: config.slack?.transport === 'http' ? config.slack.signingSecret : randomBytes(32).toString('hex'),
    logger,
    // Checked once, in front of Bolt: every POST to /slack/events goes through
    // slack-request-guard.ts (src/http/server.ts, the same path parsing as Bolt's), which also
    // refuses replays and timestamps from the future. Bolt's second HMAC of the same bytes cost
    // ~4 % of the event loop in the slash bench (it builds a key object from the secret each time);
    // test/integration/http-hardening.test.ts sends unsigned commands to every spelling of the URL.
    signatureVerification: false,
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
  const socketReceiver =
    config.slack?.transport === 'socket'
      ? new SocketModeReceiver({
          appToken: config.slack.appToken,
          logger,
          // SocketModeConnection reconnects (see there why not Bolt's client).
          autoReconnectEnabled: false,
          // apps.connections.open goes to SLACK_API_URL too; SocketModeConnection retries, not the Web API client.
          // A bounded call: one that never answered would stop the reconnecting for good.
          installerOptions: { clientOptions: { slackApiUrl: config.slack.apiUrl, retryConfig: { retries: 0 }, timeout: CONNECTIONS_OPEN_TIMEOUT_MS } },
          customPropertiesExtractor: (args: { envelope_id?: unknown }) => ({ [ENVELOPE_ID_CONTEXT_KEY]: args.envelope_id }),
          // Acknowledged all the same: a redelivery would fail the same way, or run twice.
          processEventErrorHandler: async ({ error }) => {
            const ref = randomBytes(4).toString('hex');
            log.error({ err: error, ref }, `Bolt could not process a request from Slack over Socket Mode (ref ${ref})`);
            return true;
          },
        })
      : undefined;
  const app = new App({
    receiver: socketReceiver ?? receiver,
    logger,
    ...(config.slack
      ? { token: config.slack.botToken, clientOptions: { slackApiUrl: config.slack.apiUrl } }
      : { authorize: async () => Promise.reject(new Error('console mode: Slack is not configured')) }),
  });
  // First in line: a request Slack delivers again (retry, reconnect, another replica's connection) stops here.
  if (socketReceiver) app.use(createDeliveryFilter({ store, metrics, log: log.child({ component: 'socket-mode' }), now }));
  const handleCommand = createSlashCommandHandler({ commands, slashCommand: config.slashCommand, log, metrics, gate, audit, kube, ...(home ? { home } : {}), ...(interactive ? { interactive } : {}), settings: config.commands });
  // Replies quote what people typed and what commands read (logs, Kubernetes messages): cleaned
  // here, the one place a command's reply leaves for Slack (src/slack/clean-outgoing.ts for posts).
  // Posted with postToResponseUrl, not Bolt's respond (fetch): see post-response-url.ts.
  app.command(config.slashCommand, async ({ command, ack }) =>
    handleCommand({
      command,
      ack,
      respond: async (reply) =>
        postToResponseUrl(command.response_url, { ...reply, text: cleanText(reply.text, redactor), ...(reply.blocks ? { blocks: cleanBlocks(reply.blocks, redactor) } : {}) }, config.outbox.callTimeoutMs),
    }),
  );
  // URL buttons open their link in the browser; Slack still expects the click acknowledged.
  app.action(new RegExp(`^${LINK_ACTION_PREFIX}`), async ({ ack }) => ack());
  // Buttons and modals: one registry, one way in (src/slack/interaction-registry.ts).
  interactions.register(app, log);
  app.error(async (error) => {
    log.error({ err: error }, 'unhandled error in a Slack listener');
  });
  if (!socketReceiver) return { app, receiver };
  const socket = new SocketModeConnection({ client: socketReceiver.client, log: log.child({ component: 'socket-mode' }), connectedGauge: metrics.slackSocketConnected, now });
  return { app, receiver, socket };
}
