import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { HTTPReceiver } from '@slack/bolt';
import type { HttpLimitsConfig } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { limitConnections } from './connection-limits.ts';
import { sendText } from './respond.ts';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface HttpServerOptions {
  receiver: HTTPReceiver;
  /** Runs before Bolt on POST /slack/events; false means it already answered. Absent in console mode. */
  slackGuard: ((req: IncomingMessage, res: ServerResponse) => Promise<boolean>) | undefined;
  log: Logger;
  metrics: Pick<Metrics, 'httpConnections' | 'httpConnectionsClosed'>;
  /** Timeouts, and the connection cap already resolved (config or defaultMaxConnections). */
  limits: Omit<HttpLimitsConfig, 'maxConnections'> & { maxConnections: number };
}

/**
 * One HTTP server for everything. Requests go to Bolt's receiver, which serves Lookout's custom
 * routes and /slack/events; owning the server lets Lookout add the signature guard in front of
 * Bolt and shut down gracefully.
 */
export function createHttpServer({ receiver, slackGuard, log, metrics, limits }: HttpServerOptions): Server {
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Node checks the two timeouts above only this often (default 30 s, which lets a slow
      // client hold a socket up to 30 s past them).
      connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
    },
    (req, res) => {
      try {
        route(req, res);
      } catch (error) {
        // A throw here would be an uncaught exception, which ends the process.
        fail(res, log, error);
      }
    },
  );
  limitConnections(server, { maxConnections: limits.maxConnections, firstRequestTimeoutMs: limits.headersTimeoutMs, log, metrics });
  return server;

  function route(req: IncomingMessage, res: ServerResponse): void {
    // The request line can carry a URL that `new URL` refuses (`GET http://[ HTTP/1.1`).
    const url = URL.parse(req.url ?? '/', 'http://localhost');
    if (url === null) {
      sendText(res, 400, 'bad request: the URL cannot be parsed\n');
      return;
    }
    if (url.pathname === '/slack/events' && req.method === 'POST') {
      if (slackGuard === undefined) {
        sendText(res, 503, 'Slack is not configured (console mode)\n');
        return;
      }
      slackGuard(req, res).then(
        (allowed) => allowed && dispatch(receiver, req, res),
        (error: unknown) => fail(res, log, error),
      );
      return;
    }
    dispatch(receiver, req, res);
  }
}

function dispatch(receiver: HTTPReceiver, req: IncomingMessage, res: ServerResponse): void {
  try {
    receiver.requestListener(req, res);
  } catch {
    // Bolt throws for paths it does not serve.
    sendText(res, 404, 'not found\n');
  }
}

/** Custom-route handlers may be async, and Bolt does not await them: catch here. */
export function safeRoute(handler: Handler, log: Logger): Handler {
  return (req, res) => {
    Promise.resolve()
      .then(() => handler(req, res))
      .catch((error: unknown) => fail(res, log, error));
  };
}

function fail(res: ServerResponse, log: Logger, error: unknown): void {
  log.error({ err: error }, 'HTTP handler failed');
  if (!res.headersSent) sendText(res, 500, 'internal error\n');
  else res.destroy();
}
