import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LokiClient, LokiError, logqlSelector, logqlString, msToNs } from '../../../src/integrations/loki.ts';
import { freshMetrics, metricValue } from '../../helpers/fakes.ts';

const LOKI = 'http://loki.monitoring:3100';
const START = msToNs(Date.parse('2026-03-02T09:50:00Z'));
const END = msToNs(Date.parse('2026-03-02T09:56:00Z'));
const QUERY = '{namespace="shop", pod="cart-1"}';

function client(options: Partial<ConstructorParameters<typeof LokiClient>[0]> = {}) {
  const metrics = freshMetrics();
  return { metrics, loki: new LokiClient({ baseUrl: LOKI, maxConcurrent: 4, requestTimeoutMs: 2000, requests: metrics.lokiRequests, ...options }) };
}

function streams(result: unknown[]): unknown {
  return { status: 'success', data: { resultType: 'streams', result, stats: {} } };
}

beforeAll(() => nock.disableNetConnect());
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});
afterAll(() => nock.enableNetConnect());

describe('LokiClient.queryRange', () => {
  it('sends query_range with ns bounds, limit and direction=backward, and merges streams newest first', async () => {
    nock(LOKI)
      .get('/loki/api/v1/query_range')
      .query({ query: QUERY, start: '1772445000000000000', end: '1772445360000000000', limit: '20', direction: 'backward' })
      .matchHeader('accept', /application\/json/)
      .reply(
        200,
        streams([
          { stream: { namespace: 'shop', pod: 'cart-1', container: 'app' }, values: [['1772445300000000002', 'panic: out of memory'], ['1772445100000000000', 'starting']] },
          { stream: { namespace: 'shop', pod: 'cart-1', container: 'envoy' }, values: [['1772445300000000001', 'upstream reset'], ['1772445200000000000', 'GET /cart 200', { trace_id: 'abc' }]] },
        ]),
      );
    const { loki, metrics } = client();
    const entries = await loki.queryRange({ query: QUERY, startNs: START, endNs: END, limit: 20 });
    expect(entries.map((entry) => entry.line)).toEqual(['panic: out of memory', 'upstream reset', 'GET /cart 200', 'starting']);
    expect(entries[0]?.labels).toEqual({ namespace: 'shop', pod: 'cart-1', container: 'app' });
    expect(await metricValue(metrics, 'lookout_loki_requests_total', { outcome: 'ok' })).toBe(1);
  });

  it('keeps a path prefix of LOKI_URL and sends the tenant header', async () => {
    nock('http://gateway.example')
      .get('/loki-prefix/loki/api/v1/query_range')
      .query(true)
      .matchHeader('X-Scope-OrgID', 'team-shop')
      .reply(200, streams([]));
    const { loki } = client({ baseUrl: 'http://gateway.example/loki-prefix/', tenant: 'team-shop' });
    expect(await loki.queryRange({ query: QUERY, startNs: START, endNs: END, limit: 5 })).toEqual([]);
  });

  it('reports an HTTP error by status only, without the body that quotes the query', async () => {
    nock(LOKI)
      .get('/loki/api/v1/query_range')
      .query(true)
      .reply(400, 'parse error at line 1, col 12: syntax error: unexpected IDENTIFIER, query {password="hunter2"}');
    const { loki, metrics } = client();
    const error = await loki.queryRange({ query: QUERY, startNs: START, endNs: END, limit: 5 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LokiError);
    expect((error as LokiError).reason).toBe('HTTP 400');
    expect(JSON.stringify(error) + String(error) + String((error as Error).cause)).not.toContain('hunter2');
    expect(await metricValue(metrics, 'lookout_loki_requests_total', { outcome: 'http_error' })).toBe(1);
  });

  it('classifies a refused connection as unreachable', async () => {
    nock(LOKI).get('/loki/api/v1/query_range').query(true).replyWithError(Object.assign(new Error('connect ECONNREFUSED 10.0.0.9:3100'), { code: 'ECONNREFUSED' }));
    const { loki } = client();
    await expect(loki.queryRange({ query: QUERY, startNs: START, endNs: END, limit: 5 })).rejects.toMatchObject({ reason: 'unreachable' });
  });

  it('classifies a slow answer as a timeout', async () => {
    nock(LOKI).get('/loki/api/v1/query_range').query(true).delay(500).reply(200, streams([]));
    const { loki, metrics } = client({ requestTimeoutMs: 20 });
    await expect(loki.queryRange({ query: QUERY, startNs: START, endNs: END, limit: 5 })).rejects.toMatchObject({ reason: 'timeout' });
    expect(await metricValue(metrics, 'lookout_loki_requests_total', { outcome: 'timeout' })).toBe(1);
  });

  it('rejects an answer that is not a streams result', async () => {
    nock(LOKI)
      .get('/loki/api/v1/query_range')
      .query(true)
      .reply(200, { status: 'success', data: { resultType: 'matrix', result: [] } });
    const { loki } = client();
    await expect(loki.queryRange({ query: QUERY, startNs: START, endNs: END, limit: 5 })).rejects.toMatchObject({ reason: 'invalid response' });
  });

  it('stops reading an answer past the size limit and says so, without the body', async () => {
    const secretLine = 'token=hunter2 '.repeat(200);
    nock(LOKI)
      .get('/loki/api/v1/query_range')
      .query(true)
      .reply(200, streams([{ stream: { pod: 'cart-1' }, values: [['1772445300000000000', secretLine]] }]));
    const { loki, metrics } = client({ maxResponseBytes: 1024 });
    const error = await loki.queryRange({ query: QUERY, startNs: START, endNs: END, limit: 5 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LokiError);
    expect((error as LokiError).reason).toBe('response too large');
    expect(JSON.stringify(error) + String(error) + String((error as Error).cause)).not.toContain('hunter2');
    expect(await metricValue(metrics, 'lookout_loki_requests_total', { outcome: 'too_large' })).toBe(1);
  });

  it('reads an answer under the size limit', async () => {
    nock(LOKI)
      .get('/loki/api/v1/query_range')
      .query(true)
      .reply(200, streams([{ stream: { pod: 'cart-1' }, values: [['1772445300000000000', 'x'.repeat(500)]] }]));
    const { loki } = client({ maxResponseBytes: 1024 });
    expect(await loki.queryRange({ query: QUERY, startNs: START, endNs: END, limit: 5 })).toHaveLength(1);
  });

  it('bounds answers at 2 MiB by default', async () => {
    const line = 'y'.repeat(64 * 1024);
    const values = Array.from({ length: 40 }, (_, i) => [String(1772445300000000000n + BigInt(i)), line]);
    nock(LOKI).get('/loki/api/v1/query_range').query(true).reply(200, streams([{ stream: { pod: 'cart-1' }, values }]));
    const { loki } = client();
    await expect(loki.queryRange({ query: QUERY, startNs: START, endNs: END, limit: 5 })).rejects.toMatchObject({ reason: 'response too large' });
  });

  it('classifies a truncated JSON answer as an invalid response, without the body', async () => {
    nock(LOKI)
      .get('/loki/api/v1/query_range')
      .query(true)
      .reply(200, '{"status":"success","data":{"resultType":"streams","result":[{"stream":{"password":"hunter2"}', { 'content-type': 'application/json' });
    const { loki, metrics } = client();
    const error = await loki.queryRange({ query: QUERY, startNs: START, endNs: END, limit: 5 }).catch((caught: unknown) => caught);
    expect((error as LokiError).reason).toBe('invalid response');
    expect(String(error) + String((error as Error).cause)).not.toContain('hunter2');
    expect(await metricValue(metrics, 'lookout_loki_requests_total', { outcome: 'invalid' })).toBe(1);
  });

  it('shares one request between identical queries that are pending together', async () => {
    nock(LOKI)
      .get('/loki/api/v1/query_range')
      .query(true)
      .once()
      .reply(200, streams([{ stream: { pod: 'cart-1' }, values: [['1772445300000000000', 'error: x']] }]));
    const { loki } = client();
    const query = { query: QUERY, startNs: START, endNs: END, limit: 5 };
    const [a, b] = await Promise.all([loki.queryRange(query), loki.queryRange(query)]);
    expect(a).toEqual(b);
    expect(a).toHaveLength(1);
  });
});

describe('LogQL building', () => {
  it('quotes values so that no value can end the selector', () => {
    expect(logqlString('plain-name')).toBe('"plain-name"');
    expect(logqlString('a"b\\c\nd')).toBe('"a\\"b\\\\c\\nd"');
    expect(logqlString('x\u0001y')).toBe('"x\\x01y"');
    expect(logqlSelector([['namespace', 'shop'], ['pod', 'cart"} |= "x']])).toBe('{namespace="shop", pod="cart\\"} |= \\"x"}');
  });

  it('refuses label names LogQL would not read as names', () => {
    expect(() => logqlSelector([['k8s.pod', 'x']])).toThrow('not a label name');
  });

  it('converts milliseconds to nanoseconds exactly', () => {
    expect(msToNs(1772445000123).toString()).toBe('1772445000123000000');
  });
});
