import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { sendText } from './respond.ts';

/** GET /healthz: the process is alive and serving HTTP. */
export function healthz(_req: IncomingMessage, res: ServerResponse): void {
  sendText(res, 200, 'ok\n');
}

/** GET /readyz: ready while `check` returns no problem; 503 naming it otherwise. */
export function createReadyz(check: () => string | undefined) {
  return (_req: IncomingMessage, res: ServerResponse): void => {
    const problem = check();
    if (problem === undefined) sendText(res, 200, 'ready\n');
    else sendText(res, 503, `not ready: ${problem}\n`);
  };
}

/** GET /metrics in Prometheus text format. */
export function createMetricsRoute(registry: Registry) {
  return async (_req: IncomingMessage, res: ServerResponse): Promise<void> => {
    sendText(res, 200, await registry.metrics(), registry.contentType);
  };
}
