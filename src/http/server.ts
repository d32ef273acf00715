import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { HTTPReceiver } from '@slack/bolt';
import type { Logger } from '../log.ts';
import { sendText } from './respond.ts';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface HttpServerOptions {
  receiver: HTTPReceiver;
  /** Runs before Bolt on POST /slack/events; false means it already answered. Absent in console mode. */
  slackGuard: ((req: IncomingMessage, res: ServerResponse) => Promise<boolean>) | undefined;
  log: Logger;
}

/**
 * One HTTP server for everything. Requests go to Bolt's receiver, which serves Lookout's custom
 * routes and /slack/events; owning the server lets Lookout add the signature guard in front of
 * Bolt and shut down gracefully.
 */
export function createHttpServer({ receiver, slackGuard, log }: HttpServerOptions): Server {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/slack/events' && req.method === 'POST') {
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
  });
  // Slow clients must not hold sockets for long; Alertmanager and Slack send small bodies quickly.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  return server;
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
