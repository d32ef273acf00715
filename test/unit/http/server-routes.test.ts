import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HTTPReceiver } from '@slack/bolt';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpServer, type Route } from '../../../src/http/server.ts';
import { freshMetrics, recordingLogger } from '../../helpers/fakes.ts';

/*
 * Lookout's own routes are matched by the server, no longer by Bolt: the same requests must reach
 * them as when Bolt matched them (path-to-regexp's defaults: any case, one optional trailing slash),
 * and everything else must still go where it went.
 */

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

async function start(routes: Route[]): Promise<{ call: (method: string, path: string) => Promise<{ status: number; body: string }>; errors: () => Array<Record<string, unknown>> }> {
  const { log, lines } = recordingLogger();
  const receiver = new HTTPReceiver({ signingSecret: randomBytes(16).toString('hex'), signatureVerification: false });
  server = createHttpServer({
    routes,
    receiver,
    slackGuard: undefined,
    log,
    metrics: freshMetrics(),
    limits: { headersTimeoutMs: 5000, requestTimeoutMs: 5000, keepAliveTimeoutMs: 5000, maxConnections: 100 },
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    async call(method, path) {
      const response = await fetch(`${base}${path}`, { method, ...(method === 'POST' ? { body: '{}' } : {}) });
      return { status: response.status, body: await response.text() };
    },
    errors: () => lines().filter((line) => line['level'] === 'error' || line['level'] === 50),
  };
}

const answer = (text: string): Route['handler'] => (_req, res) => {
  res.end(text);
};

describe('the HTTP server routes', () => {
  it("serves Lookout's routes by method and path, in any case and with one trailing slash, as Bolt did", async () => {
    const { call } = await start([
      { method: 'POST', path: '/alertmanager', handler: answer('webhook') },
      { method: 'GET', path: '/metrics', handler: answer('metrics') },
    ]);
    expect(await call('POST', '/alertmanager')).toEqual({ status: 200, body: 'webhook' });
    expect(await call('POST', '/Alertmanager/')).toEqual({ status: 200, body: 'webhook' });
    expect(await call('POST', '/alertmanager?x=1')).toEqual({ status: 200, body: 'webhook' });
    expect(await call('GET', '/metrics')).toEqual({ status: 200, body: 'metrics' });
    // Not theirs: the method differs, two trailing slashes, another path, a prefix.
    for (const [method, path] of [['GET', '/alertmanager'], ['POST', '/alertmanager//'], ['POST', '/alertmanager/x'], ['POST', '/alert'], ['POST', '/metrics']] as const) {
      expect((await call(method, path)).status, `${method} ${path}`).toBe(404);
    }
  });

  it('still sends POST /slack/events to the Slack side (503 in console mode, where there is no guard)', async () => {
    const { call } = await start([{ method: 'POST', path: '/alertmanager', handler: answer('webhook') }]);
    expect((await call('POST', '/slack/events')).status).toBe(503);
  });

  it('answers 500 and logs when a handler throws or its promise rejects, and keeps serving', async () => {
    const { call, errors } = await start([
      { method: 'GET', path: '/throws', handler: () => { throw new Error('sync failure'); } },
      { method: 'GET', path: '/rejects', handler: () => Promise.reject(new Error('async failure')) },
      { method: 'GET', path: '/healthz', handler: answer('ok') },
    ]);
    expect((await call('GET', '/throws')).status).toBe(500);
    expect((await call('GET', '/rejects')).status).toBe(500);
    expect(await call('GET', '/healthz')).toEqual({ status: 200, body: 'ok' });
    expect(errors()).toHaveLength(2);
  });
});
