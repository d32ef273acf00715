import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LookoutReads } from '../../../commands/command.ts';
import { CertificateScanner } from '../../../src/certificates/certificate-scanner.ts';
import { CertificateExpiryMetric } from '../../../src/certificates/expiry-metric.ts';
import type { CertificateScanConfig } from '../../../src/config.ts';
import { KubeApiError } from '../../../src/kube/kube-http.ts';
import type { Metrics } from '../../../src/metrics.ts';
import { inProcessStore } from '../../../src/state/in-process-store.ts';
import { SqliteStore } from '../../../src/state/sqlite-store.ts';
import { ManualClock, freshMetrics, metricValue, recordingLogger } from '../../helpers/fakes.ts';
import { TestAuthority, type TestCertificate } from '../../support/test-certificates.ts';

const DAY = 86_400_000;
const clock = new ManualClock(Date.now());
const at = (days: number) => new Date(clock.now() + days * DAY);
const b64 = (text: string) => Buffer.from(text).toString('base64');
const SECRETS = '/api/v1/secrets';
const CERTIFICATES = '/apis/cert-manager.io/v1/certificates';

let root: TestAuthority;
let intermediate: TestAuthority;
let soon: TestCertificate;
let later: TestCertificate;
let chained: TestCertificate;

beforeAll(async () => {
  root = await TestAuthority.root('Scanner Root');
  intermediate = await root.intermediate('Scanner Intermediate', { notBefore: at(-1), notAfter: at(5) });
  soon = await root.issue({ commonName: 'soon.example.com', notBefore: at(-30), notAfter: at(3) });
  later = await root.issue({ commonName: 'later.example.com', notBefore: at(-1), notAfter: at(60) });
  chained = await intermediate.issue({ commonName: 'api.example.com', notBefore: at(-1), notAfter: at(90) });
});

afterAll(() => {
  intermediate?.close();
  root?.close();
});

const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

function secret(namespace: string, name: string, crt: string, annotations?: Record<string, string>) {
  return { metadata: { namespace, name, ...(annotations ? { annotations } : {}) }, type: 'kubernetes.io/tls', data: { 'tls.crt': b64(crt), 'tls.key': b64('-----BEGIN PRIVATE KEY-----\nk\n-----END PRIVATE KEY-----\n') } };
}

function certificate(namespace: string, name: string, notAfter: Date | undefined) {
  return {
    metadata: { namespace, name, generation: 1 },
    spec: { secretName: `${name}-tls`, issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer' } },
    status: notAfter ? { notAfter: notAfter.toISOString() } : {},
  };
}

/** List endpoints of a fake API server, paged by limit/continue; a path may fail instead. */
function fakeApi(lists: Record<string, unknown[]>) {
  const requests: Array<{ path: string; query: Record<string, string> }> = [];
  const failures: Record<string, KubeApiError> = {};
  const reads: LookoutReads = {
    async get<T>(path: string, query: Record<string, string> = {}): Promise<T> {
      requests.push({ path, query });
      await new Promise((resolve) => setImmediate(resolve));
      if (failures[path]) throw failures[path];
      const items = lists[path] ?? [];
      const limit = Number(query['limit'] ?? items.length);
      const start = Number(query['continue'] ?? 0);
      return { items: items.slice(start, start + limit), metadata: start + limit < items.length ? { continue: String(start + limit) } : {} } as T;
    },
  };
  return { reads, requests, failures, lists };
}

function scanner(api: ReturnType<typeof fakeApi>, config: Partial<CertificateScanConfig> = {}, metrics: Metrics = freshMetrics()) {
  const engine = new SqliteStore(':memory:');
  const logs = recordingLogger();
  const digests: number[] = [];
  const instance = new CertificateScanner({
    reads: api.reads,
    metric: new CertificateExpiryMetric(metrics.certificateExpiry),
    scans: metrics.certificateScans,
    duration: metrics.certificateScanDuration,
    store: inProcessStore(engine),
    config: { intervalMs: 3_600_000, warnWithinMs: 21 * DAY, ...config },
    log: logs.log,
    now: clock.now,
    onDigestQueued: () => digests.push(clock.now()),
    pageSize: 2,
  });
  return { scanner: instance, metrics, engine, logs, digests };
}

async function series(metrics: Metrics): Promise<Record<string, number>> {
  const { values } = await metrics.certificateExpiry.get();
  return Object.fromEntries(values.map((sample) => [`${sample.labels.kind}/${sample.labels.source}/${sample.labels.namespace}/${sample.labels.name}`, sample.value]));
}

describe('CertificateScanner', () => {
  it('exports each certificate\'s notAfter exactly, reading every list a page at a time with the TLS field selector', async () => {
    const api = fakeApi({
      [CERTIFICATES]: [certificate('shop', 'cart', new Date(soon.notAfter)), certificate('shop', 'never-issued', undefined)],
      [SECRETS]: [secret('shop', 'cart-tls', soon.certPem, { 'cert-manager.io/certificate-name': 'cart' }), secret('shop', 'web-tls', later.certPem), secret('pay', 'api-tls', chained.certPem + intermediate.certificate.certPem)],
    });
    const { scanner: scan, metrics } = scanner(api);
    const status = await scan.scan();

    expect(await series(metrics)).toEqual({
      'Certificate/status/shop/cart': seconds(soon.notAfter),
      'Secret/leaf/shop/cart-tls': seconds(soon.notAfter),
      'Secret/leaf/shop/web-tls': seconds(later.notAfter),
      'Secret/leaf/pay/api-tls': seconds(chained.notAfter),
      // The intermediate runs out (5 days) before the leaf (90 days).
      'Secret/chain/pay/api-tls': seconds(intermediate.certificate.notAfter),
    });
    expect(status).toMatchObject({ series: 5, unreadable: 0, errors: [] });
    const secretReads = api.requests.filter((request) => request.path === SECRETS);
    expect(secretReads).toHaveLength(2);
    expect(secretReads.every((request) => request.query['fieldSelector'] === 'type=kubernetes.io/tls' && request.query['limit'] === '2')).toBe(true);
    expect(await metricValue(metrics, 'lookout_certificate_scans_total', { outcome: 'ok' })).toBe(1);
  });

  it('removes the series of deleted objects at the next scan, and keeps them when a list failed', async () => {
    const api = fakeApi({ [SECRETS]: [secret('shop', 'a-tls', soon.certPem), secret('shop', 'b-tls', later.certPem)] });
    const { scanner: scan, metrics } = scanner(api);
    await scan.scan();
    expect(Object.keys(await series(metrics))).toEqual(['Secret/leaf/shop/a-tls', 'Secret/leaf/shop/b-tls']);

    // b-tls deleted, but the list fails: nothing may be removed on the strength of a partial read.
    api.lists[SECRETS] = [secret('shop', 'a-tls', soon.certPem)];
    api.failures[SECRETS] = new KubeApiError('GET', SECRETS, 403, 'Forbidden', 'secrets is forbidden: User "lookout" cannot list');
    const failed = await scan.scan();
    expect(failed.errors).toEqual(['GET /api/v1/secrets: 403 Forbidden']);
    expect(Object.keys(await series(metrics))).toEqual(['Secret/leaf/shop/a-tls', 'Secret/leaf/shop/b-tls']);
    expect(await metricValue(metrics, 'lookout_certificate_scans_total', { outcome: 'error' })).toBe(1);

    delete api.failures[SECRETS];
    await scan.scan();
    expect(await series(metrics)).toEqual({ 'Secret/leaf/shop/a-tls': seconds(soon.notAfter) });
  });

  it('survives a malformed Secret: counted as unreadable, the others exported', async () => {
    const api = fakeApi({
      [SECRETS]: [
        secret('shop', 'broken-tls', '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n'),
        secret('shop', 'empty-tls', ''),
        secret('shop', 'web-tls', later.certPem),
      ],
    });
    const { scanner: scan, metrics } = scanner(api);
    const status = await scan.scan();
    expect(status).toMatchObject({ unreadable: 2, errors: [] });
    expect(await series(metrics)).toEqual({ 'Secret/leaf/shop/web-tls': seconds(later.notAfter) });
  });

  it('cert-manager not installed (404 on its API) is no error; only the namespaces configured are read', async () => {
    const api = fakeApi({ '/api/v1/namespaces/shop/secrets': [secret('shop', 'web-tls', later.certPem)], [SECRETS]: [secret('other', 'x-tls', soon.certPem)] });
    api.failures['/apis/cert-manager.io/v1/namespaces/shop/certificates'] = new KubeApiError('GET', '/apis/cert-manager.io/v1/namespaces/shop/certificates', 404, 'Not Found', '');
    const { scanner: scan, metrics } = scanner(api, { namespaces: ['shop'] });
    expect((await scan.scan()).errors).toEqual([]);
    expect(Object.keys(await series(metrics))).toEqual(['Secret/leaf/shop/web-tls']);
    expect(api.requests.some((request) => request.path === SECRETS)).toBe(false);
  });

  it('a second scan asked for while one runs joins it instead of overlapping', async () => {
    const api = fakeApi({ [SECRETS]: [secret('shop', 'a-tls', soon.certPem), secret('shop', 'b-tls', later.certPem), secret('shop', 'c-tls', later.certPem)] });
    const { scanner: scan } = scanner(api);
    const [first, second] = await Promise.all([scan.scan(), scan.scan()]);
    expect(second).toBe(first);
    expect(api.requests.filter((request) => request.path === SECRETS)).toHaveLength(2);
  });

  it('queues a digest of what is in the warning window: a managed Secret under its Certificate, and not again that day', async () => {
    const api = fakeApi({
      [CERTIFICATES]: [certificate('shop', 'cart', new Date(soon.notAfter))],
      [SECRETS]: [secret('shop', 'cart-tls', soon.certPem, { 'cert-manager.io/certificate-name': 'cart' }), secret('shop', 'web-tls', later.certPem), secret('pay', 'api-tls', chained.certPem + intermediate.certificate.certPem)],
    });
    const { scanner: scan, engine, digests } = scanner(api, { channel: 'C0CERTS' });
    const status = await scan.scan();
    expect(status.digested).toBe(2);
    expect(digests).toHaveLength(1);
    const [notice] = engine.nextNoticePerChannel(Number.MAX_SAFE_INTEGER);
    expect(notice?.channel).toBe('C0CERTS');
    expect(notice?.text).toContain('`shop/cart` (Certificate) expires in 2d');
    expect(notice?.text).toContain('`pay/api-tls` (Secret, an intermediate of its chain) expires in 4d');
    expect(notice?.text).not.toContain('cart-tls');
    expect(notice?.text).not.toContain('web-tls');

    clock.advance(3_600_000);
    expect((await scan.scan()).digested).toBe(0);
    expect(digests).toHaveLength(1);
    expect(engine.pendingNotices()).toBe(1);
  });

  it('without a digest channel, no digest', async () => {
    const api = fakeApi({ [SECRETS]: [secret('shop', 'a-tls', soon.certPem)] });
    const { scanner: scan, engine } = scanner(api);
    expect((await scan.scan()).digested).toBe(0);
    expect(engine.pendingNotices()).toBe(0);
  });

  it('stop() (the job lost to another replica) removes its expiry series, also those of a scan it cut short', async () => {
    const api = fakeApi({ [SECRETS]: [secret('shop', 'a-tls', soon.certPem), secret('shop', 'b-tls', later.certPem), secret('pay', 'c-tls', later.certPem)] });
    const { scanner: scan, metrics } = scanner(api);
    await scan.scan();
    expect(Object.keys(await series(metrics))).toHaveLength(3);
    await scan.stop();
    expect(await series(metrics)).toEqual({});

    // Taken back, scanning again, and stopped while its second page (of two) is read: the page is
    // exported before the scan sees the stop, and nothing of it stays either.
    const read = api.reads.get.bind(api.reads);
    let secondPageAsked = false;
    let answerSecondPage = (): void => undefined;
    const secondPage = new Promise<void>((resolve) => (answerSecondPage = resolve));
    api.reads.get = (async (path: string, query: Record<string, string> = {}) => {
      if (path === SECRETS && query['continue'] !== undefined) {
        secondPageAsked = true;
        await secondPage;
      }
      return read(path, query);
    }) as typeof api.reads.get;
    scan.start();
    await vi.waitFor(() => expect(secondPageAsked).toBe(true));
    const stopped = scan.stop();
    answerSecondPage();
    await stopped;
    expect(await series(metrics)).toEqual({});
    expect(scan.lastScan?.errors).toEqual(['stopped before the end']);
  });

  it('start() scans at once and then every interval; stop() ends the schedule', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const api = fakeApi({ [SECRETS]: [secret('shop', 'a-tls', soon.certPem)] });
      const { scanner: scan } = scanner(api, { intervalMs: 60_000 });
      const scans = () => api.requests.filter((request) => request.path === SECRETS).length;
      scan.start();
      await vi.advanceTimersByTimeAsync(0);
      await vi.waitFor(() => expect(scan.lastScan).toBeDefined());
      expect(scans()).toBe(1);
      await vi.advanceTimersByTimeAsync(59_000);
      expect(scans()).toBe(1);
      await vi.advanceTimersByTimeAsync(1_000);
      await vi.waitFor(() => expect(scans()).toBe(2));
      await scan.stop();
      await vi.advanceTimersByTimeAsync(300_000);
      expect(scans()).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });
});
