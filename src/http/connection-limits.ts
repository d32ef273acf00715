import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';

/** Open files kept for everything but inbound connections: stdio, the store, Slack, Kubernetes, Loki. */
export const OPEN_FILE_RESERVE = 128;

/**
 * The most connections by default, whatever the open-file limit: containers often get a limit
 * of 1,048,576, and each idle connection costs memory (about 8 KB on the server side, measured
 * with 4,000), so the file limit alone would let idle sockets exhaust the memory limit instead.
 * Alertmanager and Slack need a few dozen.
 */
export const DEFAULT_MAX_CONNECTIONS_CEILING = 4096;

/**
 * The default connection cap: below the open-file limit by a reserve, so that however many
 * connections arrive, Lookout can still open its store and call Slack, and at most
 * DEFAULT_MAX_CONNECTIONS_CEILING. Without a known limit (not Linux) the usual 1024 is assumed.
 */
export function defaultMaxConnections(openFileLimit: number | undefined): number {
  const limit = openFileLimit ?? 1024;
  const belowLimit = limit > 2 * OPEN_FILE_RESERVE ? limit - OPEN_FILE_RESERVE : Math.max(8, Math.floor(limit / 2));
  return Math.min(belowLimit, DEFAULT_MAX_CONNECTIONS_CEILING);
}

/** The soft "Max open files" of /proc/self/limits, or undefined when the text has none. */
export function parseOpenFileLimit(procSelfLimits: string): number | undefined {
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(procSelfLimits);
  if (!match || match[1] === 'unlimited') return undefined;
  return Number(match[1]);
}

export interface ConnectionLimitOptions {
  maxConnections: number;
  /** A connection that has not delivered complete request headers this long after opening is closed. */
  firstRequestTimeoutMs: number;
  log: Logger;
  metrics: Pick<Metrics, 'httpConnections' | 'httpConnectionsClosed'>;
  now?: () => number;
}

/**
 * Keeps the server's connections within `maxConnections` without letting idle ones lock out
 * real requests. Node's own `maxConnections` drops the NEW connection when full, so a few
 * hundred sockets that never send anything would shut out /healthz and Alertmanager for as long
 * as they stay open. Here a new connection over the cap closes the connection that has been
 * idle longest instead (one that has never sent a request, or is waiting between keep-alive
 * requests); only when every connection is busy with a request is the new one refused.
 *
 * Node's headersTimeout only runs once a request has started, so a connection that never sends
 * a byte would stay open for good: it is closed after `firstRequestTimeoutMs`. Idle keep-alive
 * connections are closed by Node's keepAliveTimeout.
 */
export function limitConnections(server: Server, options: ConnectionLimitOptions): void {
  const { maxConnections, firstRequestTimeoutMs, log, metrics } = options;
  const now = options.now ?? Date.now;
  let open = 0;
  /** Idle connections, oldest first (Map keeps insertion order), with their first-request timer. */
  const idle = new Map<Socket, NodeJS.Timeout | undefined>();
  /** Requests in flight per connection (HTTP/1.1 pipelining can have several). */
  const busy = new Map<Socket, number>();
  let lastWarning = 0;
  let closedSinceWarning = 0;

  const close = (socket: Socket, reason: 'evicted_idle' | 'refused' | 'no_request'): void => {
    forgetIdle(socket);
    metrics.httpConnectionsClosed.inc({ reason });
    socket.destroy();
    if (reason === 'no_request') return;
    closedSinceWarning += 1;
    if (now() - lastWarning >= 10_000) {
      log.warn({ maxConnections, closed: closedSinceWarning }, 'HTTP connection limit reached: closing the connections idle longest (lookout_http_connections_closed_total)');
      lastWarning = now();
      closedSinceWarning = 0;
    }
  };
  const forgetIdle = (socket: Socket): void => {
    clearTimeout(idle.get(socket));
    idle.delete(socket);
  };

  server.on('connection', (socket: Socket) => {
    open += 1;
    metrics.httpConnections.set(open);
    socket.once('close', () => {
      open -= 1;
      metrics.httpConnections.set(open);
      forgetIdle(socket);
      busy.delete(socket);
    });
    const timer = setTimeout(() => {
      if (idle.has(socket) && !busy.has(socket)) close(socket, 'no_request');
    }, firstRequestTimeoutMs);
    timer.unref();
    idle.set(socket, timer);

    if (open <= maxConnections) return;
    const oldest = idle.keys().next().value;
    if (oldest !== undefined && oldest !== socket) close(oldest, 'evicted_idle');
    else close(socket, 'refused');
  });

  server.on('request', (req, res) => {
    const socket = req.socket;
    forgetIdle(socket);
    busy.set(socket, (busy.get(socket) ?? 0) + 1);
    res.once('close', () => {
      const left = (busy.get(socket) ?? 1) - 1;
      if (left > 0) {
        busy.set(socket, left);
        return;
      }
      busy.delete(socket);
      // Waiting for its next keep-alive request: evictable again, newest idle last.
      if (!socket.destroyed) idle.set(socket, undefined);
    });
  });
}
