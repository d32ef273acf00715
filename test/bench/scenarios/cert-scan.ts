import { randomBytes } from 'node:crypto';
import { waitFor } from '../../support/free-port.ts';
import { createNamespace } from '../../support/kube-test-helpers.ts';
import { kubeHttpFor } from '../../support/servers/kubeconfigs.ts';
import { TestAuthority, type TestCertificate } from '../../support/test-certificates.ts';
import { firingPayload, okCalls, runPool, sleep, startBenchLookout, type Scenario } from '../bench-support.ts';

/*
 * DESIGN.md: a certificate scan of 5,000 TLS Secrets under 10 s, adding under 50 MB to RSS.
 * The Secrets are written into the real kube-apiserver (a handful of real certificates made by
 * the test CA, with expiries from "expired" to a year, some with an intermediate; a few with a
 * malformed tls.crt), then Lookout runs compiled with its own ServiceAccount (RBAC of
 * manifests/base/rbac.yaml) and scans every namespace at start. Its peak RSS is compared with
 * that of the same Lookout with the scanner off.
 */

const SCAN_BUDGET_MS = 10_000;
const RSS_BUDGET_MIB = 50;
const DAY = 86_400_000;
const DIGEST_CHANNEL = 'C0CERTS';
const ALERT_CHANNEL = 'C0ALERTS';
/** Time for an idle Lookout to reach its resting RSS (store worker, HTTP server, first GCs). */
const SETTLE_MS = 5000;

export const certScan: Scenario = {
  id: 'cert-scan',
  needsKube: true,
  async run(context) {
    const kube = context.kube;
    if (kube === undefined) throw new Error('the cert-scan scenario needs the real kube-apiserver');
    const count = context.option('cert-secrets', context.quick ? 500 : 5000);
    const malformed = Math.max(1, Math.round(count / 1000));
    const admin = kubeHttpFor(kube.admin);
    const namespace = `bench-certs-${randomBytes(3).toString('hex')}`;
    await createNamespace(admin, namespace);

    // A few real certificates, reused: the scan parses every Secret's tls.crt all the same.
    const root = await TestAuthority.root('Bench Root');
    const intermediate = await root.intermediate('Bench Intermediate', { notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + 10 * DAY) });
    const bundles: Array<{ crt: string; key: string; inWindow: boolean; chained: boolean }> = [];
    try {
      for (const days of [-2, 1, 5, 15, 30, 60, 90, 180, 365]) {
        const leaf: TestCertificate = await root.issue({ commonName: `bench-${days}.example.com`, sans: [`DNS:bench-${days}.example.com`], notBefore: new Date(Date.now() - 2 * DAY - 1000), notAfter: new Date(Date.now() + days * DAY) });
        bundles.push({ crt: leaf.certPem, key: leaf.keyPem, inWindow: days < 21, chained: false });
      }
      const chained = await intermediate.issue({ commonName: 'bench-chain.example.com', notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + 200 * DAY) });
      // The leaf lasts 200 days, its intermediate 10: inside the window by its chain.
      bundles.push({ crt: chained.certPem + intermediate.certificate.certPem, key: chained.keyPem, inWindow: true, chained: true });
    } finally {
      intermediate.close();
      root.close();
    }

    context.log(`cert-scan: writing ${count} TLS Secrets (${malformed} malformed) into ${namespace}…`);
    const writeBegan = Date.now();
    const b64 = (text: string) => Buffer.from(text).toString('base64');
    let inWindow = 0;
    let chainSeries = 0;
    await runPool(count, 16, async (i) => {
      const bundle = bundles[i % bundles.length]!;
      const crt = i < malformed ? '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n' : bundle.crt;
      if (i >= malformed && bundle.inWindow) inWindow += 1;
      if (i >= malformed && bundle.chained) chainSeries += 1;
      await admin.request({
        method: 'POST',
        path: `/api/v1/namespaces/${namespace}/secrets`,
        body: { apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: `tls-${String(i).padStart(5, '0')}` }, data: { 'tls.crt': b64(crt), 'tls.key': b64(bundle.key) } },
      });
    });
    context.log(`cert-scan: written in ${((Date.now() - writeBegan) / 1000).toFixed(1)} s`);

    const peakOf = async (scan: boolean) => {
      const bench = await startBenchLookout({
        slack: { channels: [ALERT_CHANNEL, DIGEST_CHANNEL] },
        channel: ALERT_CHANNEL,
        config: { certificates: { scan: scan ? { interval: '1h', channel: DIGEST_CHANNEL } : { interval: '0s' } } },
        extraEnv: { KUBECONFIG: kube.bot },
      });
      try {
        // Both Lookouts deliver one alert, as any Lookout in service has: the first Slack post's own
        // cost (the Web API client's first request) is then in the baseline, not counted as the scan's.
        const { status } = await bench.postWebhook(firingPayload({ groupKey: '{}:{alertname="BenchBaseline"}', groupLabels: { alertname: 'BenchBaseline' }, commonLabels: { alertname: 'BenchBaseline' }, alerts: [{ labels: { alertname: 'BenchBaseline' }, fingerprint: 'baseline0000' }] }));
        if (status !== 200) throw new Error(`webhook answered ${status}`);
        await waitFor('the baseline alert posted', () => (okCalls(bench.slack, 'chat.postMessage').some((call) => call.params['channel'] === ALERT_CHANNEL) ? true : undefined), 20_000, 100);
        if (!scan) {
          await sleep(SETTLE_MS);
          return { memory: bench.memory(), scanned: undefined };
        }
        await waitFor('the first certificate scan', async () => ((await bench.metric('lookout_certificate_scans_total')) >= 1 ? true : undefined), 120_000, 100);
        const [durationSeconds, errors] = await bench.metrics(['lookout_certificate_scan_duration_seconds', 'lookout_certificate_scans_total\\{outcome="error"\\}']);
        // The bench namespace's series (the scan reads every namespace).
        const exposition = await (await fetch(`${bench.lookout.url}/metrics`)).text();
        const seriesCount = exposition.split('\n').filter((line) => line.startsWith('lookout_certificate_expiry_timestamp_seconds{') && line.includes(`namespace="${namespace}"`)).length;
        // The digest goes out through the outbox; one post, whatever the number of Secrets.
        await waitFor('the digest', () => (okCalls(bench.slack, 'chat.postMessage').some((call) => call.params['channel'] === DIGEST_CHANNEL) ? true : undefined), 10_000, 100).catch(() => undefined);
        const digest = okCalls(bench.slack, 'chat.postMessage').filter((call) => call.params['channel'] === DIGEST_CHANNEL);
        await sleep(SETTLE_MS);
        return { memory: bench.memory(), scanned: { durationMs: (durationSeconds ?? Number.NaN) * 1000, errors: errors ?? Number.NaN, seriesCount, digests: digest.length, digestText: String(digest[0]?.params['text'] ?? '') } };
      } finally {
        await bench.stop();
      }
    };

    const idle = await peakOf(false);
    const scanning = await peakOf(true);
    const scanned = scanning.scanned!;
    const added = (scanning.memory?.peakMiB ?? Number.NaN) - (idle.memory?.peakMiB ?? Number.NaN);
    const expectedSeries = count - malformed + chainSeries;
    return {
      title: `Certificate scan of ${count} TLS Secrets`,
      figures: [
        ['TLS Secrets (malformed)', `${count} (${malformed}), in one namespace; ${bundles.length} distinct certificates, one with an intermediate`],
        ['scan duration (lookout_certificate_scan_duration_seconds)', `${(scanned.durationMs / 1000).toFixed(2)} s`],
        ['series exported / failed scans', `${scanned.seriesCount} / ${scanned.errors}`],
        ['peak RSS, scanner off → on (VmHWM)', `${idle.memory?.peakMiB.toFixed(1)} → ${scanning.memory?.peakMiB.toFixed(1)} MiB (+${added.toFixed(1)} MiB)`],
        ['digest posts / Secrets inside the warning window', `${scanned.digests} / ${inWindow}`],
      ],
      budgets: [
        { what: `certificate scan of ${count} TLS Secrets`, limit: `< ${SCAN_BUDGET_MS / 1000} s`, measured: `${(scanned.durationMs / 1000).toFixed(2)} s`, pass: scanned.durationMs < SCAN_BUDGET_MS && scanned.errors === 0 && scanned.seriesCount === expectedSeries },
        { what: 'RSS added by the scan (peak, against the scanner off)', limit: `< ${RSS_BUDGET_MIB} MB`, measured: `${added.toFixed(1)} MiB`, pass: added < RSS_BUDGET_MIB },
      ],
      notes: [
        'Lookout runs compiled with the Deployment\'s NODE_OPTIONS and its own ServiceAccount kubeconfig; the scan lists Certificates and then TLS Secrets of every namespace, 100 a page, at start; the duration is the scanner\'s own (first list request to the digest queued).',
        `Series: one per readable Secret (leaf) plus a chain series for each Secret holding the intermediate: ${expectedSeries} expected (the scan budget also requires that). The malformed Secrets have none and do not stop the scan.`,
        `RSS: peak (VmHWM) of a Lookout with certificates.scan.interval 0s that delivered one alert, ${SETTLE_MS / 1000} s later, against the same with the scanner on (the alert delivered during its first scan), ${SETTLE_MS / 1000} s after the scan and the digest. Against a Lookout that never posted, the figure is ~15 MiB higher (the first Slack post's own cost; measured 2026-12-02).`,
        `The digest lists at most 50 lines: ${scanned.digestText.split('\n').length} lines posted.`,
      ],
    };
  },
};
