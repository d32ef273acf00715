import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { HTTPReceiver } from '@slack/bolt';
import type { HttpLimitsConfig } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { limitConnections } from './connection-limits.ts';
import { sendText } from './respond.ts';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** One of Lookout's own endpoints (/alertmanager, /metrics, the health checks). */
export interface Route {
  method: 'GET' | 'POST';
  path: string;
  handler: Handler;
}

export interface HttpServerOptions {
  /** Lookout's own endpoints, served without Bolt. */
  routes: readonly Route[];
  /** Bolt's receiver: POST /slack/events (after slackGuard); anything else it refuses with 404. */
  receiver: HTTPReceiver;
  /** Runs before Bolt on POST /slack/events; false means it already answered. Absent in console mode. */
  slackGuard: ((req: IncomingMessage, res: ServerResponse) => Promise<boolean>) | undefined;
  log: Logger;
  metrics: Pick<Metrics, 'httpConnections' | 'httpConnectionsClosed'>;
  /** Timeouts, and the connection cap already resolved (config or defaultMaxConnections). */
  limits: Omit<HttpLimitsConfig, 'maxConnections'> & { maxConnections: number };
}

/**
 * One HTTP server for everything: Lookout's own routes, and /slack/events through the signature
 * guard to Bolt's receiver. Owning the server lets Lookout add the guard in front of Bolt and
 * shut down gracefully. Lookout's routes used to be Bolt custom routes, but Bolt compiles each
 * route's path-to-regexp pattern again on every request (~11 µs and ~4 KB of garbage a webhook,
 * measured in the webhook bench); they are matched here as Bolt matched them: by method, and by
 * path without regard to case and with one optional trailing slash.
 */
export function createHttpServer({ routes, receiver, slackGuard, log, metrics, limits }: HttpServerOptions): Server {
  const handlers = new Map(routes.map(({ method, path, handler }) => [routeKey(method, path), handler]));
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
    const handler = handlers.get(routeKey(req.method ?? '', url.pathname));
    if (handler !== undefined) {
      // An async handler not wrapped in safeRoute must not become an unhandled rejection either.
      Promise.resolve(handler(req, res)).catch((error: unknown) => fail(res, log, error));
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

/** "POST /alertmanager" for POST /Alertmanager/ too (path-to-regexp's defaults, which Bolt used). */
function routeKey(method: string, path: string): string {
  const withoutSlash = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  return `${method} ${withoutSlash.toLowerCase()}`;
}

function dispatch(receiver: HTTPReceiver, req: IncomingMessage, res: ServerResponse): void {
  try {
    receiver.requestListener(req, res);
  } catch {
    // Bolt throws for paths it does not serve.
    sendText(res, 404, 'not found\n');
  }
}

/** Route handlers may be async, and the server does not await them: catch here. */
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
