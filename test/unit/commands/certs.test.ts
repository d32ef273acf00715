import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import certs from '../../../commands/certs.ts';
import { parseCerts, parseEndpoint } from '../../../commands/certs-args.ts';
import { MAX_LISTED, renderList } from '../../../commands/certs-list.ts';
import { renderProbe } from '../../../commands/certs-probe.ts';
import { renewButton } from '../../../commands/certs-renew.ts';
import type { PersonKube, PersonKubeRequest } from '../../../commands/command.ts';
import { certificateFacts } from '../../../src/certificates/cert-manager-certificates.ts';
import type { CertificateInventory, InventoryCertificate } from '../../../src/certificates/certificate-inventory.ts';
import { followRenewal, renewalState, renewCertificate } from '../../../src/certificates/renew-certificate.ts';
import type { TlsSecretFacts } from '../../../src/certificates/tls-secrets.ts';
import { readChain, type X509Facts } from '../../../src/certificates/x509-facts.ts';
import { Forbidden, NotFound } from '../../../src/errors.ts';
import { KubeApiError } from '../../../src/kube/kube-http.ts';
import { blockProblems } from '../../../src/slack/reply-limits.ts';
import { TestAuthority, type TestCertificate } from '../../support/test-certificates.ts';

const DAY = 86_400_000;
const NOW = Date.parse('2026-06-01T12:00:00Z');
const WARN = 21 * DAY;

describe('parseCerts', () => {
  it.each<[string, unknown]>([
    ['-n shop', { mode: 'list', namespace: 'shop' }],
    ['--namespace=shop --within 30d', { mode: 'list', namespace: 'shop', withinMs: 30 * DAY }],
    ['-A --within 12h', { mode: 'list', withinMs: 12 * 3_600_000 }],
    ['--all-namespaces --within 2w', { mode: 'list', withinMs: 14 * DAY }],
    ['--probe shop.example.com:443', { mode: 'probe', host: 'shop.example.com', port: 443 }],
    ['--probe 10.0.0.1:8443 -n shop', { mode: 'probe', host: '10.0.0.1', port: 8443, compareIn: { namespace: 'shop' } }],
    ['--probe [::1]:443 -A', { mode: 'probe', host: '::1', port: 443, compareIn: {} }],
    ['renew shop/web', { mode: 'renew', namespace: 'shop', name: 'web' }],
    ['renew -n shop web', { mode: 'renew', namespace: 'shop', name: 'web' }],
  ])('%s', (text, expected) => {
    expect(parseCerts(text.split(' '))).toEqual(expected);
  });

  it.each<[string, string]>([
    ['', 'needs `-n <namespace>` or `--all-namespaces`'],
    ['-n shop -A', 'give either `-n <namespace>` or `--all-namespaces`, not both'],
    ['-A -A', 'give `--all-namespaces` once'],
    ['-n Shop', '`Shop` is not a namespace name'],
    ['-n shop --within 30', '`--within 30` is not a period such as 30d, 12h or 2w'],
    ['-n shop --within 0d', '`--within 0d` is not a period such as 30d, 12h or 2w'],
    ['-n shop extra', 'unexpected `extra`'],
    ['-n shop --colour red', 'unknown option `--colour`'],
    ['--probe shop.example.com', '`shop.example.com` is not an endpoint: write `host:port`, e.g. `shop.example.com:443`'],
    ['--probe https://shop.example.com:443', '`https://shop.example.com:443` is not an endpoint: write `host:port`, e.g. `shop.example.com:443`'],
    ['--probe shop.example.com:0', '`0` is not a port (1–65535)'],
    ['--probe shop.example.com:70000', '`70000` is not a port (1–65535)'],
    ['--probe a:443 --within 3d', '`--within` filters the list; a probe shows one endpoint'],
    ['renew', 'renew needs a Certificate, e.g. `renew shop/web-tls`'],
    ['renew web', '`web` is not a Certificate: write `<namespace>/<name>` or `-n <namespace> <name>`'],
    ['renew shop/Web', '`Web` is not a Certificate name'],
    ['renew shop/web more', 'unexpected `more`'],
  ])('refuses "%s": %s', (text, error) => {
    expect(parseCerts(text === '' ? [] : text.split(' '))).toEqual({ error });
  });

  it('an endpoint host that is neither a name nor an address is refused', () => {
    expect(parseEndpoint('sh op:443')).toHaveProperty('error');
    expect(parseEndpoint('[not-v6]:443')).toHaveProperty('error');
    expect(parseEndpoint('a..b:443')).toHaveProperty('error');
  });
});

let root: TestAuthority;
let intermediate: TestAuthority;
let fresh: TestCertificate;
let soon: TestCertificate;
let expired: TestCertificate;
let chained: TestCertificate;

beforeAll(async () => {
  root = await TestAuthority.root('List Root', { notBefore: new Date(NOW - 400 * DAY), notAfter: new Date(NOW + 400 * DAY) });
  intermediate = await root.intermediate('List Intermediate', { notBefore: new Date(NOW - 100 * DAY), notAfter: new Date(NOW + 5 * DAY) });
  fresh = await root.issue({ commonName: 'fresh.example.com', sans: ['DNS:fresh.example.com'], notBefore: new Date(NOW - DAY), notAfter: new Date(NOW + 60 * DAY) });
  soon = await root.issue({ commonName: 'soon.example.com', notBefore: new Date(NOW - 80 * DAY), notAfter: new Date(NOW + 3 * DAY) });
  expired = await root.issue({ commonName: 'old.example.com', notBefore: new Date(NOW - 90 * DAY), notAfter: new Date(NOW - 2 * DAY) });
  chained = await intermediate.issue({ commonName: 'api.example.com', notBefore: new Date(NOW - DAY), notAfter: new Date(NOW + 80 * DAY) });
});

afterAll(() => {
  intermediate?.close();
  root?.close();
});

const tlsSecret = (name: string, pem: string, certificateName?: string): TlsSecretFacts => ({ namespace: 'shop', name, ...(certificateName ? { certificateName } : {}), chain: readChain(pem) });
const managed = (name: string, extra: Partial<InventoryCertificate> = {}): InventoryCertificate => ({ namespace: 'shop', name, generation: 1, secretName: `${name}-tls`, issuer: { name: 'letsencrypt', kind: 'ClusterIssuer' }, ...extra });

describe('renderList', () => {
  it('one list, soonest expiry first, the chain’s expiring intermediate counting; marks and counts', () => {
    const inventory: CertificateInventory = {
      certificates: [
        managed('web', { notAfter: fresh.notAfter.getTime(), ready: { status: 'True', reason: 'Ready' }, secret: tlsSecret('web-tls', fresh.certPem, 'web') }),
        managed('stuck', { ready: { status: 'False', reason: 'Failed' }, issuing: { status: 'False', reason: 'Failed', message: 'ACME order failed' }, failedIssuanceAttempts: 2, lastFailureTime: NOW - 3_600_000 }),
      ],
      secrets: [tlsSecret('api-tls', chained.certPem + intermediate.certificate.certPem), tlsSecret('old-tls', expired.certPem), tlsSecret('soon-tls', soon.certPem), tlsSecret('broken-tls', 'garbage')],
      notes: [],
    };
    const reply = renderList(inventory, { now: NOW, warnWithinMs: WARN, namespace: 'shop' });
    const lines = reply.text.split('\n');
    expect(lines[0]).toBe('*6 certificates in shop* (2 not issued or unreadable, 1 expired, 2 < 7 d)');
    const order = lines.filter((line) => /^\S+ \*(Certificate|Secret) /.test(line)).map((line) => /\*(?:Certificate|Secret) (\S+)\*/.exec(line)?.[1]);
    expect(order).toEqual(['shop/broken-tls', 'shop/stuck', 'shop/old-tls', 'shop/soon-tls', 'shop/api-tls', 'shop/web']);
    expect(reply.text).toContain('🔴 *Secret shop/old-tls* — *expired 2 d 0 h ago* (2026-05-30 12:00 UTC)');
    expect(reply.text).toContain('🟠 *Secret shop/soon-tls* — *3 d 0 h left* (2026-06-04 12:00 UTC)');
    // The leaf has 80 days; its intermediate 5: the entry is urgent and says which certificate.
    expect(reply.text).toMatch(/🟠 \*Secret shop\/api-tls\* — 80 d left .* · 🟠 chain: `CN=List Intermediate` \*5 d 0 h left\*/);
    expect(reply.text).toContain('⚠️ *Secret shop/broken-tls* — unreadable: no PEM certificate in it');
    expect(reply.text).toContain('in issuance backoff (2 failed issuances, last at 2026-06-01 11:00 UTC): ACME order failed');
    expect(reply.text).toMatch(/🟢 \*Certificate shop\/web\* — 60 d left .* · issuer ClusterIssuer\/letsencrypt · Ready True \(Ready\)\n {4}↳ Secret `web-tls`: 60 d left .*SANs DNS:fresh\.example\.com/);
    // Renew on Certificates only.
    const buttons = (reply.blocks ?? []).flatMap((block) => (block.type === 'section' && block.accessory?.type === 'button' ? [block.accessory.value] : []));
    expect(buttons).toEqual(['renew shop/stuck', 'renew shop/web']);
  });

  it('--within keeps what expires within the window, and what cannot tell', () => {
    const inventory: CertificateInventory = { certificates: [], secrets: [tlsSecret('fresh', fresh.certPem), tlsSecret('soon', soon.certPem), tlsSecret('broken', 'x')], notes: [] };
    const reply = renderList(inventory, { now: NOW, warnWithinMs: WARN, withinMs: 30 * DAY, namespace: 'shop' });
    expect(reply.text.split('\n')[0]).toBe('*2 certificates in shop expiring within 30 d* (1 not issued or unreadable, 1 < 7 d)');
    expect(reply.text).not.toContain('shop/fresh');
  });

  it('a long list stays within Slack’s limits and counts what it does not show', () => {
    const secrets = Array.from({ length: 75 }, (_, index) => tlsSecret(`tls-${String(index).padStart(2, '0')}`, fresh.certPem));
    const reply = renderList({ certificates: [], secrets, notes: ['cert-manager is not installed (no Certificate API), so only TLS Secrets are listed.'] }, { now: NOW, warnWithinMs: WARN });
    expect(blockProblems(reply.blocks ?? [])).toEqual([]);
    expect(reply.blocks?.filter((block) => block.type === 'section')).toHaveLength(MAX_LISTED + 1);
    expect(reply.text).toContain(`…and ${75 - MAX_LISTED} more, later expiries`);
    expect(reply.text).toContain('_cert-manager is not installed');
    expect(reply.text.length).toBeLessThan(40_000);
  });

  it('text a Secret’s writer chooses cannot mention people or break out of its code span', () => {
    const reply = renderList({ certificates: [], secrets: [tlsSecret('odd', 'garbage', '<!channel> `x`')], notes: [] }, { now: NOW, warnWithinMs: WARN });
    expect(reply.text).toContain('(Certificate `&lt;!channel&gt; ˋxˋ` not found)');
    expect(reply.text).not.toContain('<!channel>');
  });

  it('an empty scope says so', () => {
    expect(renderList({ certificates: [], secrets: [], notes: [] }, { now: NOW, warnWithinMs: WARN }).text).toBe('No certificates in all namespaces.');
  });
});

describe('renderProbe', () => {
  const facts = (pem: string): X509Facts => {
    const chain = readChain(pem);
    if (!chain.readable) throw new Error(chain.problem);
    return chain.leaf;
  };

  it('flags an expired intermediate, a hostname mismatch, and finds the stored Secret by serial and issuer', () => {
    const leaf = facts(chained.certPem);
    const reply = renderProbe(
      { reached: true, chain: [leaf, { ...facts(intermediate.certificate.certPem), notAfter: NOW - DAY }], hostnameMismatch: true, untrusted: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' },
      { compared: true, where: 'in shop', inventory: { certificates: [managed('api', { secret: tlsSecret('api-tls', chained.certPem) })], secrets: [], notes: [] } },
      { host: 'shop.example.com', port: 443, now: NOW, warnWithinMs: WARN },
    );
    expect(reply.text).toContain(`🔴 *TLS probe of shop.example.com:443* (SNI shop.example.com): serves \`CN=api.example.com\`, 80 d left (2026-08-20 12:00 UTC), serial ${chained.serialNumber}`);
    expect(reply.text).toContain('⚠️ *Hostname mismatch*: the certificate is not for shop.example.com (it names only `CN=api.example.com`).');
    expect(reply.text).toContain('🔴 chain 2: `CN=List Intermediate` (CA), *expired 1 d 0 h ago*');
    expect(reply.text).toContain('expired intermediate');
    expect(reply.text).toContain('✅ Served certificate = the one stored in Secret shop/api-tls (Certificate api).');
    expect(reply.auditDetail).toBe('probe shop.example.com:443: valid, hostname mismatch, expired intermediate');
  });

  it('a served certificate no Secret holds says so; same serial from another issuer is not a match', () => {
    const leaf = facts(fresh.certPem);
    const impostor: TlsSecretFacts = { namespace: 'shop', name: 'other', chain: { readable: true, leaf: { ...leaf, issuer: 'CN=Someone Else' }, earliest: { ...leaf, issuer: 'CN=Someone Else' }, count: 1 } };
    const reply = renderProbe({ reached: true, chain: [leaf], hostnameMismatch: false }, { compared: true, where: 'in shop', inventory: { certificates: [], secrets: [impostor], notes: [] } }, { host: 'fresh.example.com', port: 443, now: NOW, warnWithinMs: WARN });
    expect(reply.text).toContain(`⚠️ No TLS Secret in shop holds the served certificate (serial ${leaf.serialNumber})`);
    expect(reply.text).not.toContain('Hostname mismatch');
  });

  it('an unreachable endpoint is an answer, not an error', () => {
    const reply = renderProbe({ reached: false, problem: 'connection refused' }, { compared: false, why: 'x' }, { host: 'a.example.com', port: 443, now: NOW, warnWithinMs: WARN });
    expect(reply.text).toBe('🔴 *a.example.com:443*: no certificate read — connection refused.');
  });
});

describe('renew', () => {
  type Condition = { type: string; status: string; reason?: string; message?: string };
  const object = (conditions: Condition[], resourceVersion = '10') => ({
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: { namespace: 'shop', name: 'web', generation: 7, resourceVersion },
    spec: { secretName: 'web-tls', issuerRef: { name: 'ca' } },
    status: { notAfter: '2026-06-03T00:00:00Z', conditions },
  });
  const READY = { type: 'Ready', status: 'True', reason: 'Ready', message: 'up to date' };
  const path = '/apis/cert-manager.io/v1/namespaces/shop/certificates/web';

  function person(answers: Array<KubeApiError | 'ok'>) {
    const writes: PersonKubeRequest[] = [];
    const kube: PersonKube = {
      async request<T>(request: PersonKubeRequest): Promise<T> {
        writes.push(request);
        const answer = answers.shift() ?? 'ok';
        if (answer !== 'ok') throw answer;
        return request.body as T;
      },
    };
    return { kube, writes };
  }
  const reads = (...versions: unknown[]) => {
    const gets: string[] = [];
    return { gets, reads: { get: async <T>(p: string) => (gets.push(p), (versions.length > 1 ? versions.shift() : versions[0]) as T) } };
  };

  it('PUTs the status subresource with Issuing=True, ManuallyTriggered and observedGeneration, keeping other conditions', async () => {
    const { kube, writes } = person(['ok']);
    const outcome = await renewCertificate(kube, reads(object([READY])).reads, 'shop', 'web', 'slack:alice', () => Date.parse('2026-06-01T12:00:00.123Z'));
    expect(outcome.renewed).toBe(true);
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatchObject({ method: 'PUT', path: `${path}/status` });
    const body = writes[0]?.body as ReturnType<typeof object>;
    expect(body.metadata.resourceVersion).toBe('10');
    expect(body.status.conditions).toEqual([
      READY,
      { type: 'Issuing', status: 'True', reason: 'ManuallyTriggered', message: 'Certificate re-issuance manually triggered by slack:alice (Lookout)', lastTransitionTime: '2026-06-01T12:00:00Z', observedGeneration: 7 },
    ]);
  });

  it('409: reads again and retries once with the new resourceVersion; a second 409 is a conflict', async () => {
    const conflict = () => new KubeApiError('PUT', `${path}/status`, 409, 'Conflict', '');
    const once = person([conflict(), 'ok']);
    const twice = reads(object([READY], '10'), object([READY], '11'));
    await renewCertificate(once.kube, twice.reads, 'shop', 'web', 'slack:alice');
    expect(once.writes.map((write) => (write.body as ReturnType<typeof object>).metadata.resourceVersion)).toEqual(['10', '11']);
    expect(twice.gets).toHaveLength(2);

    const always = person([conflict(), conflict()]);
    await expect(renewCertificate(always.kube, reads(object([READY])).reads, 'shop', 'web', 'slack:alice')).rejects.toThrow(/changed while Lookout was changing it/);
    expect(always.writes).toHaveLength(2);
  });

  it('403 names the person’s missing update on certificates/status; 404 names the Certificate', async () => {
    const { kube } = person([new KubeApiError('PUT', `${path}/status`, 403, 'Forbidden', 'certificates.cert-manager.io "web" is forbidden')]);
    const refused = await renewCertificate(kube, reads(object([READY])).reads, 'shop', 'web', 'slack:bob').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(Forbidden);
    expect((refused as Error).message).toBe('Not allowed: this needs `update` on `certificates/status.cert-manager.io` named web in namespace shop.');
    const missing = { get: async () => Promise.reject(new KubeApiError('GET', path, 404, 'NotFound', '')) };
    await expect(renewCertificate(person([]).kube, missing, 'shop', 'web', 'slack:bob')).rejects.toThrow(new NotFound('There is no Certificate shop/web.'));
  });

  it('a Certificate already issuing is left alone (nothing written)', async () => {
    const { kube, writes } = person([]);
    const outcome = await renewCertificate(kube, reads(object([READY, { type: 'Issuing', status: 'True', reason: 'Renewing' }])).reads, 'shop', 'web', 'slack:alice');
    expect(outcome.renewed).toBe(false);
    expect(writes).toEqual([]);
  });

  it.each<[string, Condition[], string, boolean]>([
    ['issuing', [READY, { type: 'Issuing', status: 'True', reason: 'ManuallyTriggered' }], '⏳ Issuing (ManuallyTriggered) · Ready True', false],
    ['renewed', [READY], '✅ Renewed: Ready, expires 2026-06-03 00:00 UTC', true],
    ['failed', [{ type: 'Ready', status: 'False', reason: 'Expired' }, { type: 'Issuing', status: 'False', reason: 'Failed', message: 'issuer not ready' }], '⚠️ Issuance failed (Failed: issuer not ready)', true],
    ['not ready', [{ type: 'Ready', status: 'False', reason: 'DoesNotExist', message: 'Issuing certificate as Secret does not exist' }], '⚠️ Not Ready (DoesNotExist: Issuing certificate as Secret does not exist)', true],
  ])('renewal state: %s', (_what, conditions, line, done) => {
    expect(renewalState(certificateFacts(object(conditions)))).toEqual({ done, line });
  });

  it('follows until Ready, showing each new state once', async () => {
    const issuing = object([READY, { type: 'Issuing', status: 'True', reason: 'ManuallyTriggered' }]);
    const states = [issuing, issuing, object([READY])];
    const shown: string[] = [];
    const final = await followRenewal({ reads: { get: async <T>() => states.shift() as T }, namespace: 'shop', name: 'web', timeoutMs: 60_000, pollIntervalMs: 1, headline: 'H' })({ update: (content) => shown.push(content.text), signal: new AbortController().signal });
    expect(shown).toEqual(['H\n⏳ Issuing (ManuallyTriggered) · Ready True']);
    expect(final.text).toBe('H\n✅ Renewed: Ready, expires 2026-06-03 00:00 UTC');
  });

  it('the Renew button runs `certs renew <namespace>/<name>` with a confirm dialog', () => {
    const button = renewButton('shop', 'web');
    expect(button).toMatchObject({ action_id: 'command:run:certs', value: 'renew shop/web', confirm: { confirm: { text: 'Renew' } } });
  });
});

describe('the certs command’s permissions', () => {
  const lookup = {};
  it.each<[string, unknown]>([
    ['-n shop', { verb: 'list', group: 'lookout.dev', resource: 'certificates', namespace: 'shop' }],
    ['-A', { verb: 'list', group: 'lookout.dev', resource: 'certificates' }],
    ['--probe web.shop.svc:8443 -n shop', { verb: 'probe', group: 'lookout.dev', resource: 'certificates', name: 'web.shop.svc:8443', namespace: 'shop' }],
    ['--probe web.shop.svc:8443', { verb: 'probe', group: 'lookout.dev', resource: 'certificates', name: 'web.shop.svc:8443' }],
    ['renew shop/web', { verb: 'renew', group: 'lookout.dev', resource: 'certificates', namespace: 'shop', name: 'web' }],
  ])('%s is reviewed as %o', async (text, attributes) => {
    const args = certs.args.parse(text.split(' '));
    expect(await certs.access?.(args, lookup)).toEqual(attributes);
  });

  it('audits a renewal on the Certificate, nothing else on an object', () => {
    expect(certs.target?.(certs.args.parse(['renew', 'shop/web']))).toEqual({ apiVersion: 'cert-manager.io/v1', kind: 'Certificate', namespace: 'shop', name: 'web' });
    expect(certs.target?.(certs.args.parse(['-n', 'shop']))).toBeUndefined();
  });
});
