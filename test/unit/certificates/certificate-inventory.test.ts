import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LookoutReads } from '../../../commands/command.ts';
import { certificateFacts, issuanceBackoff } from '../../../src/certificates/cert-manager-certificates.ts';
import { readInventory } from '../../../src/certificates/certificate-inventory.ts';
import { tlsSecretPages } from '../../../src/certificates/tls-secrets.ts';
import { readChain } from '../../../src/certificates/x509-facts.ts';
import { KubeApiError } from '../../../src/kube/kube-http.ts';
import { TestAuthority, type TestCertificate } from '../../support/test-certificates.ts';

const DAY = 86_400_000;
const at = (days: number) => new Date(Date.now() + days * DAY);
const b64 = (text: string) => Buffer.from(text).toString('base64');
const KEY_MARKER = 'PRIVATE KEY';

let root: TestAuthority;
let intermediate: TestAuthority;
let valid: TestCertificate;
let expiring: TestCertificate;
let chained: TestCertificate;

beforeAll(async () => {
  root = await TestAuthority.root('Inventory Root');
  intermediate = await root.intermediate('Inventory Intermediate', { notBefore: at(-1), notAfter: at(5) });
  valid = await root.issue({ commonName: 'shop.example.com', sans: ['DNS:shop.example.com', 'DNS:www.shop.example.com'], notBefore: at(-1), notAfter: at(60) });
  expiring = await root.issue({ commonName: 'soon.example.com', notBefore: at(-30), notAfter: at(3) });
  chained = await intermediate.issue({ commonName: 'api.example.com', sans: ['DNS:api.example.com'], notBefore: at(-1), notAfter: at(90) });
});

afterAll(() => {
  intermediate?.close();
  root?.close();
});

const secret = (namespace: string, name: string, crt: string | undefined, extra: { annotations?: Record<string, string>; ownerReferences?: unknown[]; key?: string } = {}) => ({
  metadata: { namespace, name, ...(extra.annotations ? { annotations: extra.annotations } : {}), ...(extra.ownerReferences ? { ownerReferences: extra.ownerReferences } : {}) },
  type: 'kubernetes.io/tls',
  data: { ...(crt !== undefined ? { 'tls.crt': b64(crt) } : {}), 'tls.key': b64(extra.key ?? `-----BEGIN ${KEY_MARKER}-----\nsecret\n-----END ${KEY_MARKER}-----\n`) },
});

/** A fake API server's list endpoints, paged by `limit`/`continue`, recording every request. */
function pagedReads(lists: Record<string, unknown[]>, failures: Record<string, KubeApiError> = {}) {
  const requests: Array<{ path: string; query: Record<string, string> }> = [];
  const reads: LookoutReads = {
    async get<T>(path: string, query: Record<string, string> = {}): Promise<T> {
      requests.push({ path, query });
      const failure = failures[path];
      if (failure) throw failure;
      const items = lists[path] ?? [];
      const limit = Number(query['limit'] ?? items.length);
      const start = Number(query['continue'] ?? 0);
      const next = start + limit;
      return { items: items.slice(start, next), metadata: next < items.length ? { continue: String(next) } : {} } as T;
    },
  };
  return { reads, requests };
}

describe('readChain', () => {
  it('reads subject, SANs, issuer, serial and notAfter of the leaf', () => {
    const chain = readChain(valid.certPem);
    expect(chain).toMatchObject({ readable: true, count: 1, leaf: { subject: 'CN=shop.example.com', issuer: 'CN=Inventory Root', serialNumber: valid.serialNumber, sans: ['DNS:shop.example.com', 'DNS:www.shop.example.com'], notAfter: valid.notAfter.getTime() } });
  });

  it('reports the earliest-expiring certificate of a chain apart from the leaf', () => {
    const chain = readChain(chained.certPem + intermediate.certificate.certPem);
    if (!chain.readable) throw new Error(chain.problem);
    expect(chain.count).toBe(2);
    expect(chain.leaf.subject).toBe('CN=api.example.com');
    expect(chain.earliest.subject).toBe('CN=Inventory Intermediate');
    expect(chain.earliest.ca).toBe(true);
    expect(chain.earliest.notAfter).toBe(intermediate.certificate.notAfter.getTime());
  });

  it.each([
    ['no PEM at all', 'not a certificate', 'no PEM certificate in it'],
    ['a broken block', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', 'certificate 1 of 1 cannot be parsed'],
    ['a good block then a broken one', () => `${valid.certPem}-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n`, 'certificate 2 of 2 cannot be parsed'],
    ['a truncated block', () => valid.certPem.slice(0, valid.certPem.length / 2) + '\n-----END CERTIFICATE-----\n', 'certificate 1 of 1 cannot be parsed'],
    ['binary garbage', '\u0000\u00ff-----BEGIN CERTIFICATE-----\u0000-----END CERTIFICATE-----', 'certificate 1 of 1 cannot be parsed'],
  ])('malformed PEM (%s) is unreadable, not an exception', (_what, pem, problem) => {
    expect(readChain(typeof pem === 'function' ? pem() : pem)).toEqual({ readable: false, problem });
  });
});

describe('tlsSecretPages', () => {
  it('lists with the type field selector, page by page, and keeps no key', async () => {
    const items = Array.from({ length: 7 }, (_, index) => secret('shop', `tls-${index}`, valid.certPem));
    const { reads, requests } = pagedReads({ '/api/v1/namespaces/shop/secrets': items });
    const pages = [];
    for await (const page of tlsSecretPages(reads, { namespace: 'shop' }, 3)) pages.push(page);
    expect(pages.map((page) => page.length)).toEqual([3, 3, 1]);
    expect(requests.map((request) => request.query)).toEqual([
      { fieldSelector: 'type=kubernetes.io/tls', limit: '3' },
      { fieldSelector: 'type=kubernetes.io/tls', limit: '3', continue: '3' },
      { fieldSelector: 'type=kubernetes.io/tls', limit: '3', continue: '6' },
    ]);
    const kept = JSON.stringify(pages);
    expect(kept).not.toContain(KEY_MARKER);
    expect(kept).not.toContain(b64('secret'));
    expect(kept).not.toContain('tls.key');
    expect(pages.flat().map((facts) => facts.name)).toEqual(items.map((item) => item.metadata.name));
  });

  it('lists every namespace at /api/v1/secrets when no namespace is given', async () => {
    const { reads, requests } = pagedReads({ '/api/v1/secrets': [secret('a', 'x', valid.certPem), secret('b', 'y', valid.certPem)] });
    const names = [];
    for await (const page of tlsSecretPages(reads, {})) names.push(...page.map((facts) => `${facts.namespace}/${facts.name}`));
    expect(names).toEqual(['a/x', 'b/y']);
    expect(requests[0]?.path).toBe('/api/v1/secrets');
  });
});

describe('readInventory', () => {
  const certificate = (name: string, secretName: string, status: Record<string, unknown> = {}) => ({
    metadata: { namespace: 'shop', name, generation: 3 },
    spec: { secretName, issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer' } },
    status,
  });

  it('puts a Secret its Certificate manages under it, once, whether marked by annotation, ownerReference or secretName', async () => {
    const { reads } = pagedReads({
      '/apis/cert-manager.io/v1/namespaces/shop/certificates': [certificate('web', 'web-tls'), certificate('api', 'api-tls'), certificate('new', 'new-tls')],
      '/api/v1/namespaces/shop/secrets': [
        secret('shop', 'web-tls', valid.certPem, { annotations: { 'cert-manager.io/certificate-name': 'web' } }),
        secret('shop', 'api-tls', chained.certPem + intermediate.certificate.certPem, { ownerReferences: [{ apiVersion: 'cert-manager.io/v1', kind: 'Certificate', name: 'api', uid: 'u' }] }),
        secret('shop', 'new-tls', expiring.certPem),
        secret('shop', 'orphan-tls', valid.certPem, { annotations: { 'cert-manager.io/certificate-name': 'deleted' } }),
        secret('shop', 'manual-tls', expiring.certPem),
        secret('shop', 'broken-tls', 'garbage'),
        secret('shop', 'empty-tls', undefined),
      ],
    });
    const inventory = await readInventory(reads, { namespace: 'shop' });
    expect(inventory.notes).toEqual([]);
    expect(inventory.certificates.map((entry) => [entry.name, entry.secret?.name])).toEqual([['web', 'web-tls'], ['api', 'api-tls'], ['new', 'new-tls']]);
    expect(inventory.secrets.map((entry) => entry.name)).toEqual(['orphan-tls', 'manual-tls', 'broken-tls', 'empty-tls']);
    expect(inventory.secrets.find((entry) => entry.name === 'orphan-tls')?.certificateName).toBe('deleted');
    expect(inventory.secrets.find((entry) => entry.name === 'broken-tls')?.chain).toEqual({ readable: false, problem: 'no PEM certificate in it' });
    expect(inventory.secrets.find((entry) => entry.name === 'empty-tls')?.chain).toEqual({ readable: false, problem: 'no tls.crt' });
    expect(JSON.stringify(inventory)).not.toContain(KEY_MARKER);
  });

  it('without cert-manager (404) lists the Secrets and says why there are no Certificates', async () => {
    const { reads } = pagedReads(
      { '/api/v1/namespaces/shop/secrets': [secret('shop', 'web-tls', valid.certPem)] },
      { '/apis/cert-manager.io/v1/namespaces/shop/certificates': new KubeApiError('GET', '/apis/cert-manager.io/v1/namespaces/shop/certificates', 404, 'NotFound', '') },
    );
    const inventory = await readInventory(reads, { namespace: 'shop' });
    expect(inventory.secrets.map((entry) => entry.name)).toEqual(['web-tls']);
    expect(inventory.notes).toEqual(['cert-manager is not installed (no Certificate API), so only TLS Secrets are listed.']);
  });

  it('a list Lookout may not make (403) is a note naming the resource; other failures are thrown', async () => {
    const forbidden = new KubeApiError('GET', '/api/v1/secrets', 403, 'Forbidden', 'secrets is forbidden: …');
    const { reads } = pagedReads({ '/apis/cert-manager.io/v1/certificates': [certificate('web', 'web-tls')] }, { '/api/v1/secrets': forbidden });
    const inventory = await readInventory(reads, {});
    expect(inventory.certificates).toHaveLength(1);
    expect(inventory.notes).toEqual(['Lookout may not list secrets here (its ClusterRole, docs/rbac.md), so TLS Secrets are not shown.']);

    const broken = pagedReads({}, { '/api/v1/secrets': new KubeApiError('GET', '/api/v1/secrets', 500, 'InternalError', '') });
    await expect(readInventory(broken.reads, {})).rejects.toThrow('500');
  });
});

describe('certificateFacts and issuanceBackoff', () => {
  it('reads notAfter, renewalTime, issuer and the Ready and Issuing conditions', () => {
    const facts = certificateFacts({
      metadata: { namespace: 'shop', name: 'web', generation: 4 },
      spec: { secretName: 'web-tls', issuerRef: { name: 'ca' } },
      status: {
        notAfter: '2026-03-01T00:00:00Z',
        renewalTime: '2026-02-01T00:00:00Z',
        conditions: [
          { type: 'Ready', status: 'True', reason: 'Ready', message: 'Certificate is up to date and has not expired', observedGeneration: 4 },
          { type: 'Issuing', status: 'True', reason: 'ManuallyTriggered', message: 'renew', lastTransitionTime: '2026-01-01T00:00:00Z' },
        ],
      },
    });
    expect(facts).toEqual({
      namespace: 'shop',
      name: 'web',
      generation: 4,
      secretName: 'web-tls',
      issuer: { name: 'ca', kind: 'Issuer' },
      notAfter: Date.parse('2026-03-01T00:00:00Z'),
      renewalTime: Date.parse('2026-02-01T00:00:00Z'),
      ready: { status: 'True', reason: 'Ready', message: 'Certificate is up to date and has not expired', observedGeneration: 4 },
      issuing: { status: 'True', reason: 'ManuallyTriggered', message: 'renew', lastTransitionTime: Date.parse('2026-01-01T00:00:00Z') },
    });
    expect(issuanceBackoff(facts)).toBeUndefined();
  });

  it('says a certificate is in issuance backoff, with attempts, when and why', () => {
    const facts = certificateFacts({
      metadata: { namespace: 'shop', name: 'web' },
      spec: { secretName: 'web-tls', issuerRef: { name: 'acme', kind: 'ClusterIssuer' } },
      status: {
        failedIssuanceAttempts: 3,
        lastFailureTime: '2026-01-02T10:30:00Z',
        conditions: [{ type: 'Issuing', status: 'False', reason: 'Failed', message: 'The certificate request has failed to complete and will be retried: ACME order failed' }],
      },
    });
    expect(issuanceBackoff(facts)).toBe('in issuance backoff (3 failed issuances, last at 2026-01-02 10:30 UTC): The certificate request has failed to complete and will be retried: ACME order failed');
  });
});
