import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCertificateEnricher } from '../../../../alerts/enrichers/certificate.ts';
import { readCertificateTarget } from '../../../../alerts/enrichers/certificate-target.ts';
import { createEnrichmentSources } from '../../../../alerts/enrichers/index.ts';
import { defaultEnrichmentConfig } from '../../../../alerts/enrichers/enrichment-config.ts';
import { createRedactor } from '../../../../alerts/enrichers/redact.ts';
import { KubeApiError, type KubeRequest } from '../../../../src/kube/kube-http.ts';
import { freshMetrics } from '../../../helpers/fakes.ts';
import { TestAuthority, type TestCertificate } from '../../../support/test-certificates.ts';
import { alertWith, never } from './kube-fixtures.ts';

const DAY = 86_400_000;
const NOW = Date.now();
const at = (days: number) => new Date(NOW + days * DAY);
const b64 = (text: string) => Buffer.from(text).toString('base64');

let root: TestAuthority;
let intermediate: TestAuthority;
let chained: TestCertificate;
let managedLeaf: TestCertificate;

beforeAll(async () => {
  root = await TestAuthority.root('Enricher Root');
  intermediate = await root.intermediate('Enricher Intermediate', { notBefore: at(-1), notAfter: at(4) });
  chained = await intermediate.issue({ commonName: 'api.example.com', sans: ['DNS:api.example.com'], notBefore: at(-1), notAfter: at(90) });
  managedLeaf = await root.issue({ commonName: 'cart.example.com', notBefore: at(-60), notAfter: at(3) });
});

afterAll(() => {
  intermediate?.close();
  root?.close();
});

const certificateObject = {
  metadata: { namespace: 'shop', name: 'cart', generation: 2 },
  spec: { secretName: 'cart-tls', issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer' } },
  status: {
    notAfter: at(3).toISOString(),
    conditions: [
      { type: 'Ready', status: 'False', reason: 'Expiring', message: 'Certificate expires soon' },
      { type: 'Issuing', status: 'False', reason: 'Failed', message: 'ACME order failed: https://acme:hunter2@ca.example.com/order rejected', lastTransitionTime: at(-0.1).toISOString() },
    ],
    failedIssuanceAttempts: 2,
    lastFailureTime: at(-0.1).toISOString(),
  },
};

function secretItem(name: string, crt: string, annotations?: Record<string, string>) {
  return { metadata: { namespace: 'shop', name, ...(annotations ? { annotations } : {}) }, data: { 'tls.crt': b64(crt), 'tls.key': b64('-----BEGIN PRIVATE KEY-----\nsecret-key\n-----END PRIVATE KEY-----\n') } };
}

/** A fake API server: the Certificate above, and TLS Secrets listed by name. */
function fakeKube(secrets: Record<string, ReturnType<typeof secretItem>>) {
  const requests: KubeRequest[] = [];
  const kube = {
    async request<T>(request: KubeRequest): Promise<T> {
      requests.push(request);
      if (request.path === '/apis/cert-manager.io/v1/namespaces/shop/certificates/cart') return certificateObject as T;
      if (request.path.startsWith('/apis/cert-manager.io/')) throw new KubeApiError('GET', request.path, 404, 'Not Found', '');
      if (request.path === '/api/v1/namespaces/shop/secrets') {
        const name = /metadata\.name=([^,]+)/.exec(request.query?.['fieldSelector'] ?? '')?.[1] ?? '';
        return { items: secrets[name] ? [secrets[name]] : [] } as T;
      }
      throw new Error(`unexpected ${request.path}`);
    },
  };
  return { kube, requests };
}

describe('certificate target', () => {
  it.each([
    [{ name: 'cart', namespace: 'shop', issuer_name: 'letsencrypt', issuer_kind: 'ClusterIssuer' }, { namespace: 'shop', certificate: { kind: 'Certificate', name: 'cart' } }],
    [{ name: 'cart-tls', namespace: 'shop', kind: 'Secret', job: 'lookout', pod: 'lookout-1' }, { namespace: 'shop', certificate: { kind: 'Secret', name: 'cart-tls' } }],
    [{ name: 'cart', exported_namespace: 'shop', namespace: 'monitoring', kind: 'Certificate' }, { namespace: 'shop', certificate: { kind: 'Certificate', name: 'cart' } }],
    // cAdvisor's `name` is a container's, not a certificate's; a kind that is no certificate; names that cannot be objects.
    [{ name: 'k8s_POD_cart', namespace: 'shop', pod: 'cart-1' }, undefined],
    [{ name: 'cart', namespace: 'shop', kind: 'Deployment' }, undefined],
    [{ name: '<none>', namespace: 'shop', issuer_name: 'x' }, undefined],
    [{ name: 'cart', namespace: '', kind: 'Secret' }, undefined],
  ])('%o names %o', (labels, expected) => {
    expect(readCertificateTarget(labels)).toEqual(expected);
  });

  it('an alert about a managed Secret targets the Secret and its Certificate, and nothing else (the pod label is the exporter\'s)', async () => {
    const { kube } = fakeKube({ 'cart-tls': secretItem('cart-tls', managedLeaf.certPem, { 'cert-manager.io/certificate-name': 'cart' }) });
    const sources = createEnrichmentSources({ kube, config: defaultEnrichmentConfig(), metrics: freshMetrics(), now: () => NOW });
    const target = await sources.resolveTarget(alertWith({ name: 'cart-tls', namespace: 'shop', kind: 'Secret', pod: 'lookout-5d8' }), never);
    expect(target).toEqual({ namespace: 'shop', certificate: { kind: 'Secret', name: 'cart-tls', managedBy: 'cart' } });
  });
});

describe('certificate enricher', () => {
  const enricherFor = (kube: ReturnType<typeof fakeKube>['kube']) =>
    createCertificateEnricher({ kube, now: () => NOW, redactor: createRedactor(defaultEnrichmentConfig().redact), warnWithinMs: 21 * DAY });

  it('a cert-manager Certificate: expiry, issuer, Ready, and the issuance backoff, with messages redacted', async () => {
    const { kube } = fakeKube({});
    const fact = await enricherFor(kube).enrich(alertWith({}), { namespace: 'shop', certificate: { kind: 'Certificate', name: 'cart' } }, never);
    expect(fact?.summary).toBe('Certificate `cart` · *expires in 3d* · issuer `letsencrypt` · ⚠️ Ready=False (Expiring): Certificate expires soon · *in issuance backoff*');
    expect(fact?.detail).toContain('*Certificate* `shop/cart` · issuer ClusterIssuer `letsencrypt` · Secret `cart-tls`');
    expect(fact?.detail).toContain('⚠️ Issuing=False (Failed): ACME order failed:');
    expect(fact?.detail).toContain('2 failed issuances');
    expect(fact?.detail).not.toContain('hunter2');
  });

  it('a Secret with an intermediate expiring before its leaf says so, and never shows the key', async () => {
    const { kube } = fakeKube({ 'api-tls': secretItem('api-tls', chained.certPem + intermediate.certificate.certPem) });
    const fact = await enricherFor(kube).enrich(alertWith({}), { namespace: 'shop', certificate: { kind: 'Secret', name: 'api-tls' } }, never);
    expect(fact?.summary).toMatch(/^Secret `api-tls` · expires in (89|90)d · issuer CN=Enricher Intermediate · \*intermediate CN=Enricher Intermediate \*expires in [34]d\*\*$/);
    expect(fact?.detail).toContain(`serial \`${chained.serialNumber}\``);
    expect(fact?.detail).toContain('DNS:api.example.com');
    expect(fact?.detail).toContain('in the chain expires first');
    expect(JSON.stringify(fact)).not.toContain('secret-key');
  });

  it('a managed Secret shows its Certificate first, then the Secret', async () => {
    const { kube } = fakeKube({ 'cart-tls': secretItem('cart-tls', managedLeaf.certPem, { 'cert-manager.io/certificate-name': 'cart' }) });
    const fact = await enricherFor(kube).enrich(alertWith({}), { namespace: 'shop', certificate: { kind: 'Secret', name: 'cart-tls', managedBy: 'cart' } }, never);
    expect(fact?.summary).toMatch(/^Certificate `cart` · \*expires in 3d\*/);
    expect(fact?.detail?.indexOf('*Certificate*')).toBeLessThan(fact?.detail?.indexOf('*TLS Secret*') ?? -1);
  });

  it('a deleted object is "not found", an unreadable tls.crt says why; a refused read is a safe reason', async () => {
    const { kube } = fakeKube({ 'bad-tls': secretItem('bad-tls', 'not a certificate') });
    const enricher = enricherFor(kube);
    expect((await enricher.enrich(alertWith({}), { namespace: 'shop', certificate: { kind: 'Secret', name: 'gone-tls' } }, never))?.summary).toBe('TLS Secret `shop/gone-tls` not found');
    expect((await enricher.enrich(alertWith({}), { namespace: 'shop', certificate: { kind: 'Certificate', name: 'gone' } }, never))?.summary).toBe('Certificate `shop/gone` not found');
    expect((await enricher.enrich(alertWith({}), { namespace: 'shop', certificate: { kind: 'Secret', name: 'bad-tls' } }, never))?.summary).toBe('Secret `bad-tls`: tls.crt unreadable (no PEM certificate in it)');
    const refusing = { request: async () => Promise.reject(new KubeApiError('GET', '/x', 403, 'Forbidden', 'secrets is forbidden: User "lookout"')) };
    await expect(enricherFor(refusing).enrich(alertWith({}), { namespace: 'shop', certificate: { kind: 'Secret', name: 'x' } }, never)).rejects.toMatchObject({ reason: 'forbidden' });
  });

  it('has nothing to say about an alert that names no certificate', async () => {
    const { kube, requests } = fakeKube({});
    expect(await enricherFor(kube).enrich(alertWith({}), { namespace: 'shop', pod: 'cart-1' }, never)).toBeUndefined();
    expect(requests).toHaveLength(0);
  });
});
