import { describe, expect, it } from 'vitest';
import { SourceUnavailable } from '../../../../alerts/enrichers/enrichment.ts';
import { defaultEnrichmentConfig, enrichmentSchema, type LokiConfig } from '../../../../alerts/enrichers/enrichment-config.ts';
import { createLogsEnricher } from '../../../../alerts/enrichers/logs.ts';
import { createRedactor } from '../../../../alerts/enrichers/redact.ts';
import { LokiError, type LokiEntry, type LokiPort, type LokiRangeQuery } from '../../../../src/integrations/loki.ts';
import { NOW, alertWith, never } from './kube-fixtures.ts';

const STARTS_AT = '2026-03-02T09:55:00Z';
const alert = alertWith({ namespace: 'shop', pod: 'cart-1' }, STARTS_AT);
const redactor = createRedactor(defaultEnrichmentConfig().redact);

/** Loki answers: error-filtered queries get `errors`, plain ones `all` (newest first, as Loki sends them). */
class FakeLoki implements LokiPort {
  readonly queries: LokiRangeQuery[] = [];
  errors: LokiEntry[] = [];
  all: LokiEntry[] = [];
  failWith: unknown;

  queryRange(query: LokiRangeQuery): Promise<LokiEntry[]> {
    this.queries.push(query);
    if (this.failWith !== undefined) return Promise.reject(this.failWith as Error);
    return Promise.resolve(query.query.includes('|~') ? this.errors : this.all);
  }
}

function entry(time: string, line: string, container = 'app'): LokiEntry {
  const ns = (BigInt(Date.parse(`2026-03-02T${time}Z`)) * 1_000_000n).toString();
  return { timestampNs: ns, line, labels: { namespace: 'shop', pod: 'cart-1', container } };
}

function enricher(loki: FakeLoki, config: LokiConfig = defaultEnrichmentConfig().loki, now = NOW) {
  return createLogsEnricher({ loki, config, redactor, now: () => now });
}

describe('logs enricher', () => {
  it('asks Loki for error-like lines of the pod around startsAt, newest first', async () => {
    const loki = new FakeLoki();
    loki.errors = [entry('09:54:58', 'panic: runtime error: invalid memory address'), entry('09:54:10', 'level=error msg="db timeout"')];
    const fact = await enricher(loki).enrich(alert, { namespace: 'shop', pod: 'cart-1', container: 'app' }, never);

    expect(loki.queries).toHaveLength(1);
    const [query] = loki.queries;
    expect(query?.query).toBe(`{namespace="shop", pod="cart-1", container="app"} |~ ${JSON.stringify(defaultEnrichmentConfig().loki.errorPattern)}`);
    // 5 minutes before startsAt to 1 minute after, in nanoseconds.
    expect(query?.startNs).toBe(BigInt(Date.parse('2026-03-02T09:50:00Z')) * 1_000_000n);
    expect(query?.endNs).toBe(BigInt(Date.parse('2026-03-02T09:56:00Z')) * 1_000_000n);
    expect(query).toMatchObject({ limit: 20, direction: 'backward' });

    expect(fact?.summary).toBe('📜 2 error lines, last: `panic: runtime error: invalid memory address`');
    expect(fact?.detail).toBe(
      [
        '*Logs* `shop/cart-1/app` 09:50–09:56 UTC · 2 error-like lines',
        '```',
        '09:54:10 level=error msg="db timeout"',
        '09:54:58 panic: runtime error: invalid memory address',
        '```',
      ].join('\n'),
    );
  });

  it('falls back to the newest lines when none look like errors, and keeps the main line empty', async () => {
    const loki = new FakeLoki();
    loki.all = [entry('09:55:30', 'GET /cart 200 12ms', 'app'), entry('09:55:29', 'upstream connect ok', 'envoy')];
    const fact = await enricher(loki).enrich(alert, { namespace: 'shop', pod: 'cart-1' }, never);
    expect(loki.queries.map((query) => query.query)).toEqual([
      expect.stringContaining('|~'),
      '{namespace="shop", pod="cart-1"}',
    ]);
    expect(fact?.summary).toBe('');
    // Lines of several containers say which one wrote them.
    expect(fact?.detail).toContain('09:55:29 envoy | upstream connect ok\n09:55:30 app | GET /cart 200 12ms');
    expect(fact?.detail).toContain('newest 2 lines, none error-like');
  });

  it('uses the configured stream label names', async () => {
    const loki = new FakeLoki();
    const config = enrichmentSchema.parse({ loki: { labels: { namespace: 'k8s_namespace_name', pod: 'k8s_pod_name', container: 'k8s_container_name' } } }).loki;
    await enricher(loki, config).enrich(alert, { namespace: 'shop', pod: 'cart-1', container: 'app' }, never);
    expect(loki.queries[0]?.query).toMatch(/^\{k8s_namespace_name="shop", k8s_pod_name="cart-1", k8s_container_name="app"\} \|~ /);
  });

  it('never asks for lines from the future', async () => {
    const loki = new FakeLoki();
    const justStarted = Date.parse(STARTS_AT) + 10_000;
    await enricher(loki, defaultEnrichmentConfig().loki, justStarted).enrich(alert, { namespace: 'shop', pod: 'cart-1' }, never);
    expect(loki.queries[0]?.endNs).toBe(BigInt(justStarted) * 1_000_000n);
  });

  it('keeps a code block closed whatever the log lines contain', async () => {
    const loki = new FakeLoki();
    loki.errors = [entry('09:54:00', 'error: template ``` broke <here> & `there`')];
    const fact = await enricher(loki).enrich(alert, { namespace: 'shop', pod: 'cart-1' }, never);
    const detail = fact?.detail ?? '';
    expect(detail.match(/```/g)).toHaveLength(2);
    expect(detail).toContain('error: template ˋˋˋ broke &lt;here&gt; &amp; ˋthereˋ');
  });

  it('redacts secrets in the excerpt and in the summary line', async () => {
    const loki = new FakeLoki();
    loki.errors = [entry('09:54:00', 'error: auth failed for postgres://app:pa55w0rd@db:5432/shop with header Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl')];
    const fact = await enricher(loki).enrich(alert, { namespace: 'shop', pod: 'cart-1' }, never);
    for (const text of [fact?.summary ?? '', fact?.detail ?? '']) {
      expect(text).not.toContain('pa55w0rd');
      expect(text).not.toContain('eyJzdWIiOiJhIn0');
      expect(text).toContain('postgres://app:[REDACTED]@db:5432/shop');
    }
  });

  it('redacts a private key printed over several log lines', async () => {
    const loki = new FakeLoki();
    loki.all = [
      entry('09:54:04', 'done loading'),
      entry('09:54:03', '-----END RSA PRIVATE KEY-----'),
      entry('09:54:02', 'MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun'),
      entry('09:54:01', 'loaded key: -----BEGIN RSA PRIVATE KEY-----'),
    ];
    const fact = await enricher(loki).enrich(alert, { namespace: 'shop', pod: 'cart-1' }, never);
    expect(fact?.detail).not.toContain('MIIEow');
    expect(fact?.detail).toContain('09:54:01 loaded key: [REDACTED]\n09:54:02 [REDACTED]\n09:54:03 [REDACTED]\n09:54:04 done loading');
  });

  it('shows the newest lines when the excerpt is too long, and says how many were left out', async () => {
    const loki = new FakeLoki();
    loki.errors = Array.from({ length: 20 }, (_, index) => entry(`09:54:${String(59 - index).padStart(2, '0')}`, `error ${59 - index}: ${'x'.repeat(290)}`));
    const fact = await enricher(loki).enrich(alert, { namespace: 'shop', pod: 'cart-1' }, never);
    const detail = fact?.detail ?? '';
    expect(detail.length).toBeLessThanOrEqual(2800);
    expect(detail).toMatch(/``` *\n… \d+ older lines not shown\n/);
    expect(detail).toContain('09:54:59 error 59');
    expect(detail.endsWith('\n```')).toBe(true);
    expect(fact?.summary).toMatch(/^📜 20\+ error lines, last: `error 59: x+…`$/);
  });

  it('links to Grafana Explore with the same query and window when Grafana is configured', async () => {
    const loki = new FakeLoki();
    loki.errors = [entry('09:54:00', 'error: x')];
    const config = enrichmentSchema.parse({ loki: { grafanaUrl: 'https://grafana.example.com/', grafanaDatasourceUid: 'P8E80F9AEF21F6940' } }).loki;
    const fact = await enricher(loki, config).enrich(alert, { namespace: 'shop', pod: 'cart-1' }, never);
    const link = /<(https:\/\/grafana\.example\.com\/explore\?[^|>]+)\|Open in Grafana>/.exec(fact?.detail ?? '');
    expect(link).not.toBeNull();
    const url = new URL((link?.[1] ?? '').replace(/&amp;/g, '&'));
    expect(url.searchParams.get('schemaVersion')).toBe('1');
    const panes = JSON.parse(url.searchParams.get('panes') ?? '{}') as Record<string, { datasource: string; queries: Array<{ expr: string; datasource: { uid: string } }>; range: { from: string; to: string } }>;
    const pane = Object.values(panes)[0];
    expect(pane?.datasource).toBe('P8E80F9AEF21F6940');
    expect(pane?.queries[0]?.expr).toBe(loki.queries[0]?.query);
    expect(pane?.range).toEqual({ from: String(Date.parse('2026-03-02T09:50:00Z')), to: String(Date.parse('2026-03-02T09:56:00Z')) });
    // Grafana's first organisation unless configured otherwise.
    expect(url.searchParams.getAll('orgId')).toEqual(['1']);
  });

  it('opens Explore in the configured Grafana organisation', async () => {
    const loki = new FakeLoki();
    loki.errors = [entry('09:54:00', 'error: x')];
    const config = enrichmentSchema.parse({ loki: { grafanaUrl: 'https://grafana.example.com', grafanaOrgId: 7 } }).loki;
    const fact = await enricher(loki, config).enrich(alert, { namespace: 'shop', pod: 'cart-1' }, never);
    const link = /<(https:\/\/grafana\.example\.com\/explore\?[^|>]+)\|Open in Grafana>/.exec(fact?.detail ?? '');
    const url = new URL((link?.[1] ?? '').replace(/&amp;/g, '&'));
    expect(url.searchParams.getAll('orgId')).toEqual(['7']);
  });

  it('refuses a Grafana organisation id that is not a positive integer', () => {
    expect(enrichmentSchema.safeParse({ loki: { grafanaOrgId: 0 } }).success).toBe(false);
    expect(enrichmentSchema.safeParse({ loki: { grafanaOrgId: '2' } }).success).toBe(false);
  });

  it('says so in the thread when Loki has no lines at all', async () => {
    const fact = await enricher(new FakeLoki()).enrich(alert, { namespace: 'shop', pod: 'cart-1' }, never);
    expect(fact).toEqual({ source: 'logs', summary: '', detail: '*Logs* `shop/cart-1` 09:50–09:56 UTC: no lines in Loki.' });
  });

  it('fails with the client reason', async () => {
    const loki = new FakeLoki();
    loki.failWith = new LokiError('HTTP 503');
    const failure = await enricher(loki).enrich(alert, { namespace: 'shop', pod: 'cart-1' }, never).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SourceUnavailable);
    expect((failure as SourceUnavailable).reason).toBe('HTTP 503');
  });

  it('does nothing without a pod', async () => {
    const loki = new FakeLoki();
    expect(await enricher(loki).enrich(alert, { namespace: 'shop', workload: { kind: 'Deployment', name: 'cart' } }, never)).toBeUndefined();
    expect(loki.queries).toEqual([]);
  });
});
