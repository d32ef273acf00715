import type { AddressInfo } from 'node:net';
import type { Writable } from 'node:stream';
import { processPendingNotifications } from '../alerts/process-notifications.ts';
import { renderGroupMessage } from '../alerts/render.ts';
import { compileRoute } from '../alerts/route-channel.ts';
import { commands } from '../commands/index.ts';
import type { Config } from './config.ts';
import { createAlertmanagerHandler } from './http/alertmanager-route.ts';
import { createMetricsRoute, createReadyz, healthz } from './http/health-routes.ts';
import { createHttpServer, safeRoute } from './http/server.ts';
import type { Logger } from './log.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { ConsoleSlackApi } from './slack/console-slack-api.ts';
import { Outbox } from './slack/outbox.ts';
import { WebSlackApi } from './slack/slack-api.ts';
import { createSlackApp } from './slack/slack-app.ts';
import { createSlackRequestGuard } from './slack/slack-request-guard.ts';
import { SqliteStore } from './state/sqlite-store.ts';
import type { Store } from './state/store.ts';

export interface LookoutOptions {
  config: Config;
  log: Logger;
  /** Where console mode prints messages. */
  stdout: Writable;
  now?: () => number;
}

export interface Lookout {
  /** Listen, and resume anything a previous run left in the inbox or outbox. */
  start(): Promise<AddressInfo>;
  /** Stop taking requests, finish Slack calls in flight, close the store. */
  stop(): Promise<void>;
  readonly metrics: Metrics;
  readonly store: Store;
}

/** Builds Lookout from validated configuration; reads no environment. */
export function createLookout({ config, log, stdout, now = Date.now }: LookoutOptions): Lookout {
  const metrics = createMetrics();
  const store = new SqliteStore(config.statePath);
  const routes = config.routes.map(compileRoute);
  const slack = config.slack
    ? new WebSlackApi({ token: config.slack.botToken, apiUrl: config.slack.apiUrl, metrics })
    : new ConsoleSlackApi(stdout);
  const outbox = new Outbox({ store, slack, render: renderGroupMessage, metrics, log: log.child({ component: 'outbox' }), config: config.outbox, now });

  let processing: NodeJS.Immediate | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let stopping = false;
  const processInbox = (): void => {
    processing = undefined;
    try {
      if (processPendingNotifications({ store, routes, defaultChannel: config.channel, log }) > 0) outbox.wake();
    } catch (error) {
      // The notifications stay in the inbox; try again shortly.
      log.error({ err: error }, 'processing alert notifications failed; retrying in 1 s');
      retryTimer = setTimeout(scheduleProcessing, 1000);
    }
  };
  function scheduleProcessing(): void {
    if (!stopping) processing ??= setImmediate(processInbox);
  }

  const { receiver } = createSlackApp({
    config,
    log,
    metrics,
    commands,
    customRoutes: [
      {
        path: '/alertmanager',
        method: 'POST',
        handler: safeRoute(
          createAlertmanagerHandler({
            store,
            webhookToken: config.webhookToken,
            maxBodyBytes: config.webhookMaxBodyBytes,
            metrics,
            log,
            now,
            onAccepted: scheduleProcessing,
          }),
          log,
        ),
      },
      { path: '/metrics', method: 'GET', handler: safeRoute(createMetricsRoute(metrics.registry), log) },
      { path: '/healthz', method: 'GET', handler: healthz },
      { path: '/readyz', method: 'GET', handler: createReadyz(() => (stopping ? 'shutting down' : store.ping())) },
    ],
  });
  const server = createHttpServer({
    receiver,
    slackGuard: config.slack ? createSlackRequestGuard({ signingSecret: config.slack.signingSecret, log, now }) : undefined,
    log,
  });

  return {
    metrics,
    store,
    async start() {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.http.port, config.http.host, () => resolve());
      });
      outbox.start();
      scheduleProcessing();
      const address = server.address() as AddressInfo;
      if (config.slack) log.info({ port: address.port, host: address.address }, 'Lookout is listening');
      else log.info({ port: address.port, host: address.address }, 'Lookout is listening in console mode: no SLACK_BOT_TOKEN, messages are printed to stdout');
      return address;
    },
    async stop() {
      stopping = true;
      if (processing) clearImmediate(processing);
      clearTimeout(retryTimer);
      server.closeIdleConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await outbox.stop();
      store.close();
    },
  };
}
