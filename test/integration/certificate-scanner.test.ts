import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { reviewAccess } from '../../src/kube/access-review.ts';
import type { KubeHttp } from '../../src/kube/kube-http.ts';
import type { FakeSlack } from '../support/fake-slack.ts';
import { waitFor } from '../support/free-port.ts';
import { eventually, freshNamespace, impersonateOnly, roleBinding, writeStatus } from '../support/kube-test-helpers.ts';
import { startLookout, type LookoutProcess } from '../support/lookout-process.ts';
import { startLookoutTestBed, type LookoutTestBed } from '../support/lookout-test-bed.ts';
import { REPO_ROOT } from '../support/servers/binaries.ts';
import { createOrReplace } from '../support/servers/kube-objects.ts';
import { kubeHttpFor } from '../support/servers/kubeconfigs.ts';
import { testServers } from '../support/servers/test-servers.ts';
import { blockActionsPayload, postSignedInteraction } from '../support/slack-interactions.ts';
import { TestAuthority, type TestCertificate } from '../support/test-certificates.ts';

/*
 * The certificate scanner end to end: Lookout as `npm start` runs it (its own ServiceAccount,
 * manifests/base/rbac.yaml), TLS Secrets and cert-manager Certificates (status written as admin)
 * in the real kube-apiserver, the fake Slack. The metric's values are read from /metrics, the
 * digest from the fake Slack's channel; a restart reuses the same state file.
 */

const DAY = 86_400_000;
const DIGESTS = 'C0CERTS';
const SIGNING_SECRET = 'certificate-scanner-signing-secret-0123';
/** May renew certificates in the test's namespace (Role "renewer": renew on certificates.lookout.dev, update certificates/status). */
const ALICE = { id: 'U0ALICE', name: 'alice' };
const at = (days: number) => new Date(Date.now() + days * DAY);
const b64 = (text: string) => Buffer.from(text).toString('base64');
const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

describe('certificate scanner against the real kube-apiserver', () => {
  const servers = testServers();
  let admin: KubeHttp;
  let namespace: string;
  let bed: LookoutTestBed;
  let slack: FakeSlack;
  let lookout: LookoutProcess;
  let root: TestAuthority;
  let intermediate: TestAuthority;
  let restoreImpersonation: (() => Promise<void>) | undefined;
  const certs: Record<string, TestCertificate> = {};

  const createSecret = (name: string, crt: string, key: string, annotations?: Record<string, string>) =>
    admin.request({
      method: 'POST',
      path: `/api/v1/namespaces/${namespace}/secrets`,
      body: { apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name, ...(annotations ? { annotations } : {}) }, data: { 'tls.crt': b64(crt), 'tls.key': b64(key) } },
    });

  /** This namespace's series of the expiry metric: "kind/source/name" → value. */
  const series = async (): Promise<Record<string, number>> => {
    const text = await (await fetch(`${lookout.url}/metrics`)).text();
    const found: Record<string, number> = {};
    for (const match of text.matchAll(/^lookout_certificate_expiry_timestamp_seconds\{([^}]*)\} (\S+)$/gm)) {
      const labels = Object.fromEntries([...match[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((label) => [label[1], label[2]]));
      if (labels['namespace'] === namespace) found[`${labels['kind']}/${labels['source']}/${labels['name']}`] = Number(match[2]);
    }
    return found;
  };
  const scans = async (outcome: string): Promise<number> => {
    const text = await (await fetch(`${lookout.url}/metrics`)).text();
    return Number(new RegExp(`^lookout_certificate_scans_total\\{outcome="${outcome}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  };
  const digests = () => slack.messages(DIGESTS);

  beforeAll(async () => {
    admin = kubeHttpFor(servers.kube.kubeconfigs.admin);
    namespace = await freshNamespace(admin, 'certscan');
    root = await TestAuthority.root('Scanner Test Root');
    intermediate = await root.intermediate('Scanner Test Intermediate', { notBefore: at(-1), notAfter: at(5) });
    certs['cart'] = await root.issue({ commonName: 'cart.example.com', notBefore: at(-60), notAfter: at(3) });
    certs['web'] = await root.issue({ commonName: 'web.example.com', notBefore: at(-1), notAfter: at(60) });
    certs['old'] = await root.issue({ commonName: 'old.example.com', notBefore: at(-90), notAfter: at(-2) });
    certs['api'] = await intermediate.issue({ commonName: 'api.example.com', notBefore: at(-1), notAfter: at(90) });

    // A cert-manager Certificate and the Secret it manages; status written as admin (no cert-manager runs here).
    await admin.request({
      method: 'POST',
      path: `/apis/cert-manager.io/v1/namespaces/${namespace}/certificates`,
      body: { apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'cart' }, spec: { secretName: 'cart-tls', dnsNames: ['cart.example.com'], issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer' } } },
    });
    await writeStatus(admin, `/apis/cert-manager.io/v1/namespaces/${namespace}/certificates/cart`, {
      notAfter: certs['cart'].notAfter.toISOString(),
      conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: 'Certificate is up to date and has not expired', lastTransitionTime: at(-1).toISOString() }],
    });
    await createSecret('cart-tls', certs['cart'].certPem, certs['cart'].keyPem, { 'cert-manager.io/certificate-name': 'cart' });
    await createSecret('web-tls', certs['web'].certPem, certs['web'].keyPem);
    await createSecret('old-tls', certs['old'].certPem, certs['old'].keyPem);
    await createSecret('api-tls', certs['api'].certPem + intermediate.certificate.certPem, certs['api'].keyPem);
    await createSecret('broken-tls', '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n', certs['web'].keyPem);

    await createOrReplace(admin, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'renewer', namespace },
      rules: [
        { apiGroups: ['lookout.dev'], resources: ['certificates'], verbs: ['renew'] },
        { apiGroups: ['cert-manager.io'], resources: ['certificates/status'], verbs: ['update'] },
      ],
    });
    await createOrReplace(admin, roleBinding(namespace, 'alice-renews', { kind: 'Role', name: 'renewer' }, { kind: 'User', name: 'slack:alice' }));
    restoreImpersonation = await impersonateOnly(admin, ['slack:alice']);
    await eventually('alice may renew', async () => (await reviewAccess(admin, { username: 'slack:alice', groups: [] }, { verb: 'renew', group: 'lookout.dev', resource: 'certificates', namespace, name: 'cart' })).allowed);

    bed = await startLookoutTestBed({
      slack: { channels: ['C0ALERTS', DIGESTS], users: [ALICE] },
      config: {
        identities: { prefix: 'slack:', users: [{ slack: ALICE.id, user: 'alice' }] },
        certificates: { scan: { interval: '2s', namespaces: [namespace], channel: DIGESTS } },
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
    intermediate?.close();
    root?.close();
    await restoreImpersonation?.();
  });

  it('exports every certificate\'s notAfter exactly, and survives a malformed Secret', async () => {
    await waitFor('the first scan', async () => ((await scans('ok')) >= 1 ? true : undefined), 20_000, 100);
    expect(await series()).toEqual({
      'Certificate/status/cart': seconds(certs['cart']!.notAfter),
      'Secret/leaf/cart-tls': seconds(certs['cart']!.notAfter),
      'Secret/leaf/web-tls': seconds(certs['web']!.notAfter),
      'Secret/leaf/old-tls': seconds(certs['old']!.notAfter),
      'Secret/leaf/api-tls': seconds(certs['api']!.notAfter),
      'Secret/chain/api-tls': seconds(intermediate.certificate.notAfter),
    });
    expect(await scans('error')).toBe(0);
  });

  it('posts one digest of what is inside the warning window, not again on the next scans', async () => {
    await waitFor('the digest', () => (digests().length > 0 ? true : undefined), 20_000, 100);
    const scansBefore = await scans('ok');
    await waitFor('three more scans', async () => ((await scans('ok')) >= scansBefore + 3 ? true : undefined), 20_000, 200);
    expect(digests()).toHaveLength(1);
    const text = digests()[0]!.text;
    expect(text).toMatch(/3 certificates expired or expiring within 21d \(1 already expired\)/);
    expect(text).toContain(`\`${namespace}/old-tls\` (Secret) *expired 2d ago*`);
    expect(text).toContain(`\`${namespace}/cart\` (Certificate) expires in 2d`);
    expect(text).toContain(`\`${namespace}/api-tls\` (Secret, an intermediate of its chain) expires in 4d`);
    // Listed under its Certificate, and not in the window.
    expect(text).not.toContain('cart-tls');
    expect(text).not.toContain('web-tls');
    expect(digests()[0]!.metadata?.event_type).toBe('lookout_notice');
  });

  it('removes the series of a deleted Secret', async () => {
    await admin.request({ method: 'DELETE', path: `/api/v1/namespaces/${namespace}/secrets/web-tls` });
    await waitFor('web-tls gone from /metrics', async () => ((await series())['Secret/leaf/web-tls'] === undefined ? true : undefined), 20_000, 200);
    expect(Object.keys(await series()).sort()).toEqual(['Certificate/status/cart', 'Secret/chain/api-tls', 'Secret/leaf/api-tls', 'Secret/leaf/cart-tls', 'Secret/leaf/old-tls']);
  });

  it('after a restart on the same state file: nothing listed again, a certificate new to the window listed alone', async () => {
    await lookout.stop();
    certs['new'] = await root.issue({ commonName: 'new.example.com', notBefore: at(-1), notAfter: at(10) });
    await createSecret('new-tls', certs['new'].certPem, certs['new'].keyPem);
    lookout = await startLookout(bed.env);
    await waitFor('two scans of the new process', async () => ((await scans('ok')) >= 2 ? true : undefined), 20_000, 100);
    await waitFor('the second digest', () => (digests().length >= 2 ? true : undefined), 10_000, 100);
    const [, second] = digests();
    expect(digests()).toHaveLength(2);
    expect(second!.text).toMatch(/^:warning: \*Certificate expiry digest:\* 1 certificate expired or expiring within 21d\n/);
    expect(second!.text).toContain(`\`${namespace}/new-tls\` (Secret) expires in 9d`);
  });

  it('each rule\'s alert, fed to Lookout, is enriched with the certificate it names', async () => {
    // The labels each rule's alert carries, as its promtool test expects them (alerts/rules/certificates.test.yaml).
    const tests = parseYaml(readFileSync(join(REPO_ROOT, 'alerts/rules/certificates.test.yaml'), 'utf8')) as {
      tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: Array<{ exp_labels: Record<string, string>; exp_annotations: Record<string, string> }> }> }>;
    };
    const expected = new Map<string, { labels: Record<string, string>; annotations: Record<string, string> }>();
    for (const test of tests.tests) {
      for (const rule of test.alert_rule_test) {
        const [first] = rule.exp_alerts;
        if (first !== undefined && !expected.has(rule.alertname)) expected.set(rule.alertname, { labels: first.exp_labels, annotations: first.exp_annotations });
      }
    }
    expect([...expected.keys()].sort()).toEqual(['CertManagerCertificateExpiringSoon', 'CertificateExpiringSoon']);
    const names: Record<string, string> = { CertificateExpiringSoon: 'cart-tls', CertManagerCertificateExpiringSoon: 'cart' };
    for (const [alertname, { labels, annotations }] of expected) {
      // Our objects, with a pod label of the scrape target (Lookout's own pod) as Prometheus adds it.
      const alertLabels = { ...labels, alertname, namespace, name: names[alertname]!, pod: 'lookout-7d9f8b6c4-m4k7w' };
      const body = {
        version: '4',
        groupKey: `{}:{alertname="${alertname}"}`,
        truncatedAlerts: 0,
        status: 'firing',
        receiver: 'lookout',
        groupLabels: { alertname },
        commonLabels: alertLabels,
        commonAnnotations: annotations,
        externalURL: 'http://alertmanager:9093',
        alerts: [{ status: 'firing', labels: alertLabels, annotations, startsAt: new Date().toISOString(), endsAt: '0001-01-01T00:00:00Z', generatorURL: 'http://prometheus/graph', fingerprint: `${alertname.slice(0, 8)}0000000` }],
      };
      const res = await fetch(`${lookout.url}/alertmanager`, { method: 'POST', headers: { authorization: `Bearer ${bed.webhookToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(res.status).toBe(200);
    }
    const enriched = (alertname: string) => slack.messages('C0ALERTS').find((message) => message.text.includes(alertname) && JSON.stringify(message.blocks ?? []).includes('Certificate `cart`'));
    await waitFor('both alerts enriched', () => (enriched('CertificateExpiringSoon') && enriched('CertManagerCertificateExpiringSoon') ? true : undefined), 20_000, 100);
    for (const alertname of expected.keys()) {
      const blocks = JSON.stringify(enriched(alertname)!.blocks);
      expect(blocks).toContain('*expires in 2d*');
      expect(blocks).toContain('issuer `letsencrypt`');
      // The exporter's pod is not described as if the alert were about it.
      expect(blocks).not.toMatch(/pod unavailable|lookout-7d9f8b6c4-m4k7w` not found/);
      // Renew for the Certificate (named, or managing the Secret named): /ops certs renew, run for the clicker.
      expect(renewValue(alertname)).toBe(`renew ${namespace}/cart`);
    }

    // Alice clicks Renew on the alert message: Issuing=True (ManuallyTriggered) is written as her.
    const message = enriched('CertificateExpiringSoon')!;
    const res = await postSignedInteraction(
      lookout.url,
      SIGNING_SECRET,
      blockActionsPayload({ user: ALICE, message: { channel: 'C0ALERTS', ts: message.ts, text: message.text, blocks: [...(message.blocks ?? [])] }, button: { actionId: 'command:run:certs', value: renewValue('CertificateExpiringSoon')!, label: 'Renew' }, responseUrl: slack.responseUrl() }),
    );
    expect(res.status).toBe(200);
    const issuing = await waitFor('the Issuing condition', async () => {
      const object = await admin.request<{ status?: { conditions?: Array<Record<string, unknown>> } }>({ method: 'GET', path: `/apis/cert-manager.io/v1/namespaces/${namespace}/certificates/cart` });
      return object.status?.conditions?.find((condition) => condition['type'] === 'Issuing');
    }, 20_000, 100);
    expect(issuing).toMatchObject({ status: 'True', reason: 'ManuallyTriggered', message: 'Certificate re-issuance manually triggered by slack:alice (Lookout)' });
  });

  /** The value of the Renew button on the enriched message of `alertname`. */
  function renewValue(alertname: string): string | undefined {
    const message = slack.messages('C0ALERTS').find((candidate) => candidate.text.includes(alertname));
    const elements = (message?.blocks ?? []).flatMap((block) => ((block as { type?: string }).type === 'actions' ? ((block as { elements?: Array<{ action_id?: string; value?: string }> }).elements ?? []) : []));
    return elements.find((element) => element.action_id === 'command:run:certs')?.value;
  }
});
