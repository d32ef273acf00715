import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { sendText } from './respond.ts';

/** GET /healthz: the process is alive and serving HTTP. */
export function healthz(_req: IncomingMessage, res: ServerResponse): void {
  sendText(res, 200, 'ok\n');
}

/** A readiness check: a short reason Lookout cannot do its job now, or undefined when it can. */
export type ReadinessCheck = () => string | undefined;

/**
 * GET /readyz: ready while every check returns no problem; 503 naming each problem otherwise.
 * Every check runs, so an operator sees all that is wrong at once ("store: …; slack: …").
 */
export function createReadyz(checks: readonly ReadinessCheck[]) {
  return (_req: IncomingMessage, res: ServerResponse): void => {
    const problems = checks.map((check) => check()).filter((problem) => problem !== undefined);
    if (problems.length === 0) sendText(res, 200, 'ready\n');
    else sendText(res, 503, `not ready: ${problems.join('; ')}\n`);
  };
}

/** GET /metrics in Prometheus text format. */
export function createMetricsRoute(registry: Registry) {
  return async (_req: IncomingMessage, res: ServerResponse): Promise<void> => {
    sendText(res, 200, await registry.metrics(), registry.contentType);
  };
}
