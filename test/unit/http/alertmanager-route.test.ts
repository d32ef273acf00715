import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createAlertmanagerHandler } from '../../../src/http/alertmanager-route.ts';
import { inProcessStore } from '../../../src/state/in-process-store.ts';
import { SqliteStore } from '../../../src/state/sqlite-store.ts';
import { freshMetrics, metricValue, payload, recordingLogger } from '../../helpers/fakes.ts';

const TOKEN = 'route-webhook-token-0123456789';

function request(body: unknown): IncomingMessage {
  return Object.assign(Readable.from([Buffer.from(JSON.stringify(body))]), {
    headers: { authorization: `Bearer ${TOKEN}` },
    socket: { remoteAddress: '127.0.0.1' },
  }) as unknown as IncomingMessage;
}

function response() {
  const sent = { status: 0, headers: {} as Record<string, string | number>, body: '' };
  const res = {
    setHeader: (name: string, value: string) => (sent.headers[name] = value),
    writeHead: (status: number, headers: Record<string, string | number>) => {
      sent.status = status;
      Object.assign(sent.headers, headers);
    },
    end: (text: string) => (sent.body = text),
  } as unknown as ServerResponse;
  return { res, sent };
}

describe('POST /alertmanager while the store cannot write', () => {
  function setUp(problem: () => string | undefined) {
    const store = new SqliteStore(':memory:');
    let writes = 0;
    const watched = Object.assign(Object.create(store) as SqliteStore, {
      ping: problem,
      transaction: <T>(fn: () => T): T => {
        writes += 1;
        return store.transaction(fn);
      },
    });
    const metrics = freshMetrics();
    const recorded = recordingLogger();
    let accepted = 0;
    const handler = createAlertmanagerHandler({ store: inProcessStore(watched), webhookToken: TOKEN, maxBodyBytes: 1 << 20, metrics, log: recorded.log, now: () => 1, onAccepted: () => accepted++ });
    return { store, handler, metrics, lines: recorded.lines, writes: () => writes, accepted: () => accepted };
  }

  it('answers 503 with Retry-After, names the problem, and does not try the write', async () => {
    const { store, handler, metrics, lines, writes, accepted } = setUp(() => 'state store cannot write (SQLITE_FULL (13): database or disk is full); retrying');
    const { res, sent } = response();
    await handler(request(payload('g', [{ fingerprint: 'a' }])), res);

    expect(sent.status).toBe(503);
    expect(sent.headers['retry-after']).toBe('10');
    expect(JSON.parse(sent.body)).toEqual({ error: expect.stringMatching(/^cannot store notifications now: state store cannot write \(SQLITE_FULL/) });
    expect(writes()).toBe(0);
    expect(accepted()).toBe(0);
    expect(store.pendingNotifications(10)).toEqual([]);
    expect(await metricValue(metrics, 'lookout_webhook_requests_total', { outcome: 'store_unavailable' })).toBe(1);
    // The store logged its problem once; a refused webhook adds no warning or error of its own.
    expect(lines().filter((line) => line.level === 'error' || line.level === 'warn')).toEqual([]);
  });

  it('still refuses what can never be stored with 4xx first: Alertmanager must not retry those', async () => {
    const { handler } = setUp(() => 'state file is damaged');
    const { res, sent } = response();
    await handler(request({ version: '4' }), res);
    expect(sent.status).toBe(400);
  });

  it('answers 200 once stored while the store is healthy', async () => {
    const { store, handler, accepted } = setUp(() => undefined);
    const { res, sent } = response();
    await handler(request(payload('g', [{ fingerprint: 'a' }])), res);
    expect(sent.status).toBe(200);
    expect(accepted()).toBe(1);
    expect(store.pendingNotifications(10)).toHaveLength(1);
  });
});
