import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { createSecureContext, createServer as createTlsServer, type SecureContext, type Server as TlsServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reviewAccess } from '../../src/kube/access-review.ts';
import type { KubeHttp } from '../../src/kube/kube-http.ts';
import type { FakeSlack } from '../support/fake-slack.ts';
import { eventually, freshNamespace, impersonateOnly, roleBinding, writeStatus } from '../support/kube-test-helpers.ts';
import { freePort, waitFor } from '../support/free-port.ts';
import { startLookout, type LookoutProcess } from '../support/lookout-process.ts';
import { startLookoutTestBed, type LookoutTestBed } from '../support/lookout-test-bed.ts';
import { expectNoSecretLeaks } from '../support/secret-leaks.ts';
import { createOrReplace, type KubeObject } from '../support/servers/kube-objects.ts';
import { kubeHttpFor } from '../support/servers/kubeconfigs.ts';
import { testServers } from '../support/servers/test-servers.ts';
import { signedSlackForm, slashCommandBody } from '../support/sign-slack-request.ts';
import { blockActionsPayload, postSignedInteraction } from '../support/slack-interactions.ts';
import { TestAuthority, type TestCertificate } from '../support/test-certificates.ts';

/*
 * `/ops certs`, `--probe` and Renew end to end: Lookout as `npm start` runs it (the bot's
 * kubeconfig, so its reads are the ClusterRole of manifests/base/rbac.yaml), the real
 * kube-apiserver with the harness's Certificate CRD, real X.509 certificates made here (openssl),
 * local TLS servers for the probes, the fake Slack. No cert-manager runs: status is written as
 * admin where cert-manager would write it.
 *
 *   alice  slack:alice  Role "certs": list, probe, renew on certificates.lookout.dev, and her own
 *                       update on certificates/status (cert-manager.io)
 *   bob    slack:bob    Role "lister": list on certificates.lookout.dev only
 *   carol  slack:carol  Role "renewer": renew on certificates.lookout.dev, no certificates/status
 */

const SIGNING_SECRET = 'certificates-signing-secret-0123456';
const ALICE = { id: 'U0ALICE', name: 'alice' };
const BOB = { id: 'U0BOB', name: 'bob' };
const CAROL = { id: 'U0CAROL', name: 'carol' };
const DAY = 86_400_000;
const at = (days: number) => new Date(Date.now() + days * DAY);
const b64 = (text: string) => Buffer.from(text).toString('base64');
const OPAQUE_VALUE = 'opaque-secret-value-never-listed-0123';

describe('/ops certs against the real kube-apiserver', () => {
  const servers = testServers();
  let namespace: string;
  let admin: KubeHttp;
  let bed: LookoutTestBed;
  let slack: FakeSlack;
  let lookout: LookoutProcess;
  let restoreImpersonation: (() => Promise<void>) | undefined;
  const authorities: TestAuthority[] = [];
  const keys: string[] = [];
  const tlsServers: Array<TlsServer | TcpServer> = [];
  const ports: Record<'served' | 'expired' | 'wrongHost' | 'badChain' | 'hang' | 'closed' | 'unlisted', number> = { served: 0, expired: 0, wrongHost: 0, badChain: 0, hang: 0, closed: 0, unlisted: 0 };
  let unlistedConnections = 0;
  let served: TestCertificate;
  let expiredIntermediateLeaf: TestCertificate;

  const certificatePath = (name: string) => `/apis/cert-manager.io/v1/namespaces/${namespace}/certificates/${name}`;
  const tlsSecret = (name: string, crt: string, key: string, metadata: Record<string, unknown> = {}): KubeObject => {
    keys.push(key);
    return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace, ...metadata }, type: 'kubernetes.io/tls', data: { 'tls.crt': b64(crt), 'tls.key': b64(key) } } as KubeObject;
  };
  const certificate = (name: string, secretName: string): KubeObject =>
    ({ apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name, namespace }, spec: { secretName, dnsNames: [`${name}.example.com`], issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer' } } }) as KubeObject;
  const create = async (object: KubeObject, plural: string, group = '/api/v1') => admin.request<{ metadata: { uid: string; generation?: number } }>({ method: 'POST', path: `${group}/namespaces/${namespace}/${plural}`, body: object });
  const role = (name: string, rules: unknown[]): KubeObject => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace }, rules }) as KubeObject;
  const statusOfCertificate = async (name: string) => (await admin.request<{ metadata: { generation: number }; status?: { conditions?: Array<Record<string, unknown>> } }>({ method: 'GET', path: certificatePath(name) }));

  /** A TLS server on 127.0.0.1; with `bySni`, a client that sends that SNI name gets that certificate instead. */
  async function tlsServer(certificate: TestCertificate, chain: string[] = [], bySni?: { name: string; certificate: TestCertificate }): Promise<number> {
    const sniContext = bySni && createSecureContext({ cert: bySni.certificate.certPem, key: bySni.certificate.keyPem });
    const server = createTlsServer(
      {
        cert: certificate.certPem + chain.join(''),
        key: certificate.keyPem,
        ...(sniContext ? { SNICallback: (name: string, done: (error: Error | null, context?: SecureContext) => void) => done(null, name === bySni?.name ? sniContext : undefined) } : {}),
      },
      (socket) => socket.end(),
    );
    // A probe never completes a request: errors from its hang-ups are expected.
    server.on('tlsClientError', () => undefined);
    tlsServers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as { port: number }).port;
  }

  beforeAll(async () => {
    admin = kubeHttpFor(servers.kube.kubeconfigs.admin);
    namespace = await freshNamespace(admin, 'certs');

    const root = await TestAuthority.root('Lookout Test Root');
    const shortIntermediate = await root.intermediate('Short Intermediate', { notBefore: at(-30), notAfter: at(2) });
    const deadIntermediate = await root.intermediate('Dead Intermediate', { notBefore: at(-60), notAfter: at(-1) });
    authorities.push(root, shortIntermediate, deadIntermediate);
    const localhost = ['DNS:localhost', 'IP:127.0.0.1'];
    const [web, valid, threeDays, expired, chained, renewMe] = await Promise.all([
      root.issue({ commonName: 'web.example.com', sans: ['DNS:web.example.com'], notBefore: at(-1), notAfter: at(45) }),
      root.issue({ commonName: 'valid.example.com', sans: ['DNS:valid.example.com'], notBefore: at(-1), notAfter: at(200) }),
      root.issue({ commonName: 'three.example.com', sans: ['DNS:three.example.com'], notBefore: at(-60), notAfter: at(3) }),
      root.issue({ commonName: 'expired.example.com', sans: localhost, notBefore: at(-90), notAfter: at(-1) }),
      shortIntermediate.issue({ commonName: 'chained.example.com', sans: ['DNS:chained.example.com'], notBefore: at(-1), notAfter: at(90) }),
      root.issue({ commonName: 'renew.example.com', notBefore: at(-80), notAfter: at(5) }),
    ]);
    served = await root.issue({ commonName: 'localhost', sans: localhost, notBefore: at(-1), notAfter: at(30) });
    const wrongHost = await root.issue({ commonName: 'other.example.com', sans: ['DNS:other.example.com'], notBefore: at(-1), notAfter: at(30) });
    expiredIntermediateLeaf = await deadIntermediate.issue({ commonName: 'localhost', sans: localhost, notBefore: at(-10), notAfter: at(30) });

    // cert-manager Certificates, status as cert-manager would write it.
    const webCertificate = await create(certificate('web', 'web-tls'), 'certificates', '/apis/cert-manager.io/v1');
    await create(certificate('stuck', 'stuck-tls'), 'certificates', '/apis/cert-manager.io/v1');
    for (const name of ['renewme', 'failing', 'guarded']) await create(certificate(name, `${name}-tls`), 'certificates', '/apis/cert-manager.io/v1');
    const ready = (notAfter: Date) => ({ notAfter: notAfter.toISOString().replace(/\.\d{3}Z$/, 'Z'), conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: 'Certificate is up to date and has not expired', lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') }] });
    await writeStatus(admin, certificatePath('web'), ready(web.notAfter));
    for (const name of ['renewme', 'failing', 'guarded']) await writeStatus(admin, certificatePath(name), ready(renewMe.notAfter));
    await writeStatus(admin, certificatePath('stuck'), {
      failedIssuanceAttempts: 2,
      lastFailureTime: new Date(Date.now() - 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      conditions: [
        { type: 'Ready', status: 'False', reason: 'DoesNotExist', message: 'Issuing certificate as Secret does not exist', lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') },
        { type: 'Issuing', status: 'False', reason: 'Failed', message: 'The certificate request has failed to complete and will be retried: ACME order rejected', lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') },
      ],
    });

    // TLS Secrets: owned by `web` (ownerReference and annotation), and on their own.
    const owner = { apiVersion: 'cert-manager.io/v1', kind: 'Certificate', name: 'web', uid: webCertificate.metadata.uid };
    for (const secret of [
      tlsSecret('web-tls', web.certPem, web.keyPem, { ownerReferences: [owner], annotations: { 'cert-manager.io/certificate-name': 'web' } }),
      tlsSecret('valid-tls', valid.certPem, valid.keyPem),
      tlsSecret('three-days-tls', threeDays.certPem, threeDays.keyPem),
      tlsSecret('expired-tls', expired.certPem, expired.keyPem),
      tlsSecret('chain-tls', chained.certPem + shortIntermediate.certificate.certPem, chained.keyPem),
      tlsSecret('broken-tls', '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n', '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5IGVpdGhlcg==\n-----END PRIVATE KEY-----\n'),
      tlsSecret('served-tls', served.certPem, served.keyPem),
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'opaque', namespace }, type: 'Opaque', data: { password: b64(OPAQUE_VALUE) } } as KubeObject,
    ]) {
      await create(secret, 'secrets');
    }

    // Local TLS endpoints for --probe.
    // Only a client that sends SNI `localhost` gets the stored certificate; without SNI, the wrong one.
    ports.served = await tlsServer(wrongHost, [], { name: 'localhost', certificate: served });
    ports.expired = await tlsServer(expired);
    ports.wrongHost = await tlsServer(wrongHost);
    ports.badChain = await tlsServer(expiredIntermediateLeaf, [deadIntermediate.certificate.certPem]);
    const hang = createTcpServer(() => undefined);
    tlsServers.push(hang);
    await new Promise<void>((resolve) => hang.listen(0, '127.0.0.1', resolve));
    ports.hang = (hang.address() as { port: number }).port;
    ports.closed = await freePort();
    const unlisted = createTcpServer((socket) => {
      unlistedConnections += 1;
      socket.destroy();
    });
    tlsServers.push(unlisted);
    await new Promise<void>((resolve) => unlisted.listen(0, '127.0.0.1', resolve));
    ports.unlisted = (unlisted.address() as { port: number }).port;

    // RBAC for the three people.
    await createOrReplace(admin, role('certs', [
      { apiGroups: ['lookout.dev'], resources: ['certificates'], verbs: ['list', 'probe', 'renew'] },
      { apiGroups: ['cert-manager.io'], resources: ['certificates/status'], verbs: ['update'] },
    ]));
    await createOrReplace(admin, role('lister', [{ apiGroups: ['lookout.dev'], resources: ['certificates'], verbs: ['list'] }]));
    await createOrReplace(admin, role('renewer', [{ apiGroups: ['lookout.dev'], resources: ['certificates'], verbs: ['renew'] }]));
    await createOrReplace(admin, roleBinding(namespace, 'alice-certs', { kind: 'Role', name: 'certs' }, { kind: 'User', name: 'slack:alice' }));
    await createOrReplace(admin, roleBinding(namespace, 'bob-lists', { kind: 'Role', name: 'lister' }, { kind: 'User', name: 'slack:bob' }));
    await createOrReplace(admin, roleBinding(namespace, 'carol-renews', { kind: 'Role', name: 'renewer' }, { kind: 'User', name: 'slack:carol' }));
    restoreImpersonation = await impersonateOnly(admin, ['slack:alice', 'slack:bob', 'slack:carol']);
    await eventually('the RoleBindings to take effect', async () =>
      (await reviewAccess(admin, { username: 'slack:alice', groups: [] }, { verb: 'update', group: 'cert-manager.io', resource: 'certificates', subresource: 'status', namespace, name: 'renewme' })).allowed &&
      (await reviewAccess(admin, { username: 'slack:carol', groups: [] }, { verb: 'renew', group: 'lookout.dev', resource: 'certificates', namespace, name: 'guarded' })).allowed &&
      (await reviewAccess(admin, { username: 'slack:bob', groups: [] }, { verb: 'list', group: 'lookout.dev', resource: 'certificates', namespace })).allowed,
    );

    bed = await startLookoutTestBed({
      slack: { users: [ALICE, BOB, CAROL] },
      config: {
        channel: 'C0ALERTS',
        identities: { prefix: 'slack:', users: [{ slack: ALICE.id, user: 'alice' }, { slack: BOB.id, user: 'bob' }, { slack: CAROL.id, user: 'carol' }] },
        interactions: { progressInterval: '500ms' },
        certificates: { probe: { allow: ['localhost:*', `127.0.0.1:${ports.served}`], timeout: '2s' }, renew: { timeout: '20s', pollInterval: '100ms' } },
      },
      signingSecret: SIGNING_SECRET,
      extraEnv: { KUBECONFIG: servers.kube.kubeconfigs.bot },
    });
    slack = bed.slack;
    lookout = await startLookout(bed.env);
  });

  afterAll(async () => {
    await lookout?.stop();
    await bed?.close();
    for (const server of tlsServers) server.close();
    for (const authority of authorities) authority.close();
    await restoreImpersonation?.();
  });

  type Post = { text: string; blocks?: Array<{ type: string; accessory?: { action_id: string; value: string } }>; replace_original?: boolean };
  const postsTo = (url: string): Post[] => {
    const id = url.slice(url.lastIndexOf('/') + 1);
    return slack.responseUrlPosts.filter((post) => post.id === id).map((post) => post.body as Post);
  };
  const finalOf = (url: string, pattern: RegExp) => waitFor(`a reply matching ${pattern}`, () => postsTo(url).find((post) => pattern.test(post.text)));

  async function ops(user: { id: string; name: string }, text: string): Promise<{ url: string; reply: Post }> {
    const url = slack.responseUrl();
    const signed = signedSlackForm(SIGNING_SECRET, slashCommandBody({ user_id: user.id, user_name: user.name, text, response_url: url }), Math.floor(Date.now() / 1000));
    const res = await fetch(`${lookout.url}/slack/events`, { method: 'POST', headers: { ...signed.headers }, body: signed.body });
    expect(res.status).toBe(200);
    return { url, reply: await waitFor(`the reply to "${text}"`, () => postsTo(url)[0]) };
  }

  async function click(user: { id: string; name: string }, actionId: string, value: string): Promise<string> {
    const url = slack.responseUrl();
    const res = await postSignedInteraction(lookout.url, SIGNING_SECRET, blockActionsPayload({ user, message: { channel: 'C0ALERTS', ts: '1700000200.000001', ephemeral: true }, button: { actionId, value, label: 'Renew' }, responseUrl: url }));
    expect(res.status).toBe(200);
    return url;
  }

  const entryNames = (text: string) => text.split('\n').flatMap((line) => /^\S+ \*(?:Certificate|Secret) ([^*]+)\*/.exec(line)?.[1] ?? []);

  it('lists every certificate of the namespace, soonest expiry first, each with what is wrong; a Secret under its Certificate once', async () => {
    const { reply } = await ops(ALICE, `certs -n ${namespace}`);
    const text = reply.text;
    expect(text.split('\n')[0]).toBe(`*11 certificates in ${namespace}* (2 not issued or unreadable, 1 expired, 5 < 7 d)`);
    expect(entryNames(text)).toEqual(['broken-tls', 'stuck', 'expired-tls', 'chain-tls', 'three-days-tls', 'failing', 'guarded', 'renewme', 'served-tls', 'web', 'valid-tls'].map((name) => `${namespace}/${name}`));
    expect(text).toContain(`⚠️ *Secret ${namespace}/broken-tls* — unreadable: certificate 1 of 1 cannot be parsed`);
    expect(text).toMatch(/⚠️ \*Certificate \S+\/stuck\* — not issued yet · issuer ClusterIssuer\/letsencrypt · Ready False \(DoesNotExist: Issuing certificate as Secret does not exist\) · in issuance backoff \(2 failed issuances, last at [^)]+\): The certificate request has failed to complete and will be retried: ACME order rejected\n {4}↳ Secret `stuck-tls` not found/);
    expect(text).toMatch(/🔴 \*Secret \S+\/expired-tls\* — \*expired 1 d 0 h ago\*/);
    // The leaf has 90 days, its intermediate 2: the entry sorts and is marked by the intermediate.
    expect(text).toMatch(/🟠 \*Secret \S+\/chain-tls\* — 89 d left .* · 🟠 chain: `CN=Short Intermediate` \*1 d 23 h left\*/);
    expect(text).toMatch(/🟠 \*Secret \S+\/three-days-tls\* — \*2 d 23 h left\*/);
    expect(text).toMatch(/🟢 \*Certificate \S+\/web\* — 44 d left .* · Ready True \(Ready: Certificate is up to date and has not expired\)\n {4}↳ Secret `web-tls`: 44 d left .*`CN=web\.example\.com` · SANs DNS:web\.example\.com · issuer `CN=Lookout Test Root` · serial [0-9A-F]+/);
    // web-tls is shown under `web` only; the Opaque Secret never left the API server.
    expect(text.split('\n').filter((line) => line.includes('web-tls'))).toHaveLength(1);
    expect(text).not.toContain('opaque');
    const renewValues = (reply.blocks ?? []).flatMap((block) => (block.accessory?.action_id === 'command:run:certs' ? [block.accessory.value] : []));
    expect(renewValues.sort()).toEqual(['failing', 'guarded', 'renewme', 'stuck', 'web'].map((name) => `renew ${namespace}/${name}`));
  });

  it('--within keeps what expires within the period', async () => {
    const { reply } = await ops(ALICE, `certs -n ${namespace} --within 4d`);
    expect(entryNames(reply.text)).toEqual([`${namespace}/broken-tls`, `${namespace}/stuck`, `${namespace}/expired-tls`, `${namespace}/chain-tls`, `${namespace}/three-days-tls`]);
  });

  it('refuses a person without list in the namespace, and anyone without it cluster-wide for --all-namespaces, naming the permission', async () => {
    expect((await ops(CAROL, `certs -n ${namespace}`)).reply.text).toBe(`Not allowed: this needs \`list\` on \`certificates.lookout.dev\` in namespace ${namespace}.`);
    const all = (await ops(ALICE, 'certs --all-namespaces')).reply.text;
    expect(all).toMatch(/^Not allowed: this needs `list` on `certificates\.lookout\.dev` cluster-wide\./);
    expect(all).toContain('ask with `-n <namespace>`');
  });

  describe('--probe', () => {
    it('sends SNI, and the served certificate is the one stored: serial and issuer match a Secret of the namespace', async () => {
      const { reply } = await ops(ALICE, `certs --probe localhost:${ports.served} -n ${namespace}`);
      expect(reply.text).toMatch(new RegExp(`^🟢 \\*TLS probe of localhost:${ports.served}\\* \\(SNI localhost\\): serves \`CN=localhost\`, 29 d left .*serial ${served.serialNumber}`));
      expect(reply.text).toContain(`✅ Served certificate = the one stored in Secret ${namespace}/served-tls.`);
      expect(reply.text).not.toContain('Hostname mismatch');
      expect(reply.text).toContain("Not trusted by Lookout's CA bundle: UNABLE_TO_VERIFY_LEAF_SIGNATURE");
    });

    it('an expired certificate, a wrong hostname, an expired intermediate', async () => {
      const expired = (await ops(ALICE, `certs --probe localhost:${ports.expired} -n ${namespace}`)).reply.text;
      expect(expired).toMatch(/^🔴 \*TLS probe of localhost:\d+\* \(SNI localhost\): serves `CN=expired\.example\.com`, \*expired 1 d 0 h ago\*/);
      expect(expired).toContain(`✅ Served certificate = the one stored in Secret ${namespace}/expired-tls.`);

      const wrong = (await ops(ALICE, `certs --probe localhost:${ports.wrongHost} -n ${namespace}`)).reply.text;
      expect(wrong).toContain('⚠️ *Hostname mismatch*: the certificate is not for localhost (it names DNS:other.example.com).');
      expect(wrong).toContain(`⚠️ No TLS Secret in ${namespace} holds the served certificate`);

      const chain = (await ops(ALICE, `certs --probe localhost:${ports.badChain} -n ${namespace}`)).reply.text;
      expect(chain).toMatch(/^🔴 \*TLS probe of localhost:\d+\* \(SNI localhost\): serves `CN=localhost`, 29 d left/);
      expect(chain).toMatch(/\n🔴 chain 2: `CN=Dead Intermediate` \(CA\), \*expired 1 d 0 h ago\* \([^)]+\) — ⚠️ \*expired intermediate\*/);
      expect(chain).not.toContain('Hostname mismatch');
    });

    it('unreachable or silent endpoints are answers, with the reason', async () => {
      expect((await ops(ALICE, `certs --probe localhost:${ports.closed} -n ${namespace}`)).reply.text).toBe(`🔴 *localhost:${ports.closed}*: no certificate read — connection refused.`);
      const started = Date.now();
      expect((await ops(ALICE, `certs --probe localhost:${ports.hang} -n ${namespace}`)).reply.text).toBe(`🔴 *localhost:${ports.hang}*: no certificate read — no TLS handshake within 2 s.`);
      expect(Date.now() - started).toBeLessThan(10_000);
    });

    it('an endpoint not on the allow-list is refused before any connection', async () => {
      const { reply } = await ops(ALICE, `certs --probe 127.0.0.1:${ports.unlisted} -n ${namespace}`);
      expect(reply.text).toBe(`127.0.0.1:${ports.unlisted} is not on Lookout's probe allow-list (config \`certificates.probe.allow\`), so Lookout did not connect to it.`);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(unlistedConnections).toBe(0);
    });

    it('a person without probe is refused, naming the permission and the endpoint; without -n it is asked cluster-wide', async () => {
      expect((await ops(BOB, `certs --probe localhost:${ports.served} -n ${namespace}`)).reply.text).toBe(
        `Not allowed: this needs \`probe\` on \`certificates.lookout.dev\` named localhost:${ports.served} in namespace ${namespace}.`,
      );
      expect((await ops(ALICE, `certs --probe localhost:${ports.served}`)).reply.text).toBe(
        `Not allowed: this needs \`probe\` on \`certificates.lookout.dev\` named localhost:${ports.served} cluster-wide. Without \`-n\` a probe is asked for cluster-wide; with \`-n <namespace>\` it is asked in that namespace (and compared with its certificates).`,
      );
    });
  });

  describe('Renew', () => {
    const issuingOf = async (name: string) => (await statusOfCertificate(name)).status?.conditions?.find((condition) => condition['type'] === 'Issuing');

    it('the button writes Issuing=True (ManuallyTriggered, observedGeneration) through the status subresource as the person, and follows it until Ready', async () => {
      const { reply } = await ops(ALICE, `certs -n ${namespace}`);
      const value = reply.blocks?.find((block) => block.accessory?.value === `renew ${namespace}/renewme`)?.accessory?.value;
      expect(value).toBeDefined();
      const url = await click(ALICE, 'command:run:certs', value!);
      await finalOf(url, new RegExp(`^Certificate ${namespace}/renewme: renewal triggered \\(Issuing=True, ManuallyTriggered\\)`));
      const object = await statusOfCertificate('renewme');
      expect(await issuingOf('renewme')).toMatchObject({ status: 'True', reason: 'ManuallyTriggered', message: 'Certificate re-issuance manually triggered by slack:alice (Lookout)', observedGeneration: object.metadata.generation });
      await finalOf(url, /⏳ Issuing \(ManuallyTriggered\) · Ready True/);

      // cert-manager's part: a new certificate, Issuing removed, Ready again.
      const renewed = at(90).toISOString().replace(/\.\d{3}Z$/, 'Z');
      await admin.request({ method: 'PATCH', path: `${certificatePath('renewme')}/status`, contentType: 'application/merge-patch+json', body: { status: { notAfter: renewed, conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: 'Certificate is up to date and has not expired' }] } } });
      const done = await finalOf(url, /✅ Renewed: Ready, expires/);
      expect(done.text).toContain(`expires ${renewed.slice(0, 16).replace('T', ' ')} UTC`);
    });

    it('a failure reason ends the follow-up with it', async () => {
      const { url } = await ops(ALICE, `certs renew ${namespace}/failing`);
      await waitFor('the Issuing condition', async () => ((await issuingOf('failing'))?.['status'] === 'True' ? true : undefined));
      await admin.request({
        method: 'PATCH',
        path: `${certificatePath('failing')}/status`,
        contentType: 'application/merge-patch+json',
        body: { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'Ready' }, { type: 'Issuing', status: 'False', reason: 'Failed', message: 'issuer letsencrypt is not ready' }] } },
      });
      await finalOf(url, /⚠️ Issuance failed \(Failed: issuer letsencrypt is not ready\)/);
    });

    // Lookout's own identity may not write Certificates at all (rbac-manifests.test.ts): a write that
    // succeeds for alice and is refused for carol, both reviewed `renew` alike, was made as the person.
    it('refused without renew (the gate) or without the person’s own update on certificates/status (the API server): nothing written', async () => {
      const before = await statusOfCertificate('guarded');
      expect((await ops(BOB, `certs renew ${namespace}/guarded`)).reply.text).toBe(`Not allowed: this needs \`renew\` on \`certificates.lookout.dev\` named guarded in namespace ${namespace}.`);
      expect((await ops(CAROL, `certs renew ${namespace}/guarded`)).reply.text).toBe(`Not allowed: this needs \`update\` on \`certificates/status.cert-manager.io\` named guarded in namespace ${namespace}.`);
      expect((await statusOfCertificate('guarded')).status).toEqual(before.status);
      expect(await issuingOf('guarded')).toBeUndefined();
    });
  });

  it('no private key and no other Secret reaches Slack, the log or /metrics', async () => {
    const keyLines = keys.flatMap((key) => key.split('\n').filter((line) => line.length >= 40 && !line.startsWith('-----')));
    expect(keyLines.length).toBeGreaterThan(5);
    await expectNoSecretLeaks([...keyLines, OPAQUE_VALUE], { slack, output: () => lookout.output(), lookoutUrl: lookout.url });
  });
});
