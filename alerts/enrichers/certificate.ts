import type { LookoutReads } from '../../commands/command.ts';
import { issuanceBackoff, readCertificate, type CertificateCondition, type ManagedCertificate } from '../../src/certificates/cert-manager-certificates.ts';
import { expiryLevel } from '../../src/certificates/expiry-window.ts';
import type { TlsSecretFacts } from '../../src/certificates/tls-secrets.ts';
import { KubeApiError } from '../../src/kube/kube-http.ts';
import type { KubeRequester } from '../../src/kube/kube-reader.ts';
import { readTlsSecret, readsUntil } from './certificate-target.ts';
import type { Enricher, EnrichmentFact } from './enrichment.ts';
import { FACT_LIMITS } from './enrichment.ts';
import { clipLine, clipLines, code, dotted, text } from './format.ts';
import type { Redactor } from './redact.ts';
import { withSafeErrors } from './source-errors.ts';

export interface CertificateEnricherOptions {
  /** Lookout's own Kubernetes client: reads as Lookout (the certificates ClusterRole). */
  kube: KubeRequester;
  now: () => number;
  /** Condition messages quote ACME and issuer errors. */
  redactor: Redactor;
  /** Expiries within this are highlighted (certificates.scan.warnWithin). */
  warnWithinMs: number;
}

/**
 * The certificate an alert names (cert-manager's or Lookout's expiry alerts; certificate-target.ts):
 * when it expires, its issuer, and for a cert-manager Certificate its Ready and Issuing conditions
 * (a certificate stuck in issuance backoff says so); for a TLS Secret the leaf and the chain's
 * earliest expiry, and the Certificate that manages it. Only public facts: the Secret's key is
 * never read into anything kept.
 */
export function createCertificateEnricher({ kube, now, redactor, warnWithinMs }: CertificateEnricherOptions): Enricher {
  return {
    source: 'certificate',
    async enrich(_alert, target, signal) {
      const { namespace, certificate } = target;
      if (namespace === undefined || certificate === undefined) return undefined;
      const reads = readsUntil(kube, signal);
      return withSafeErrors(async () => {
        const secret = certificate.kind === 'Secret' ? await readTlsSecret(reads, namespace, certificate.name) : undefined;
        const certificateName = certificate.kind === 'Certificate' ? certificate.name : certificate.managedBy;
        const managed = certificateName === undefined ? undefined : await readOrMissing(reads, namespace, certificateName);
        if (certificate.kind === 'Secret' && secret === undefined) return notFound('TLS Secret', namespace, certificate.name);
        if (certificate.kind === 'Certificate' && managed === undefined) return notFound('Certificate', namespace, certificate.name);
        return describe({ namespace, secret, managed, now: now(), warnWithinMs, redactor });
      });
    },
  };
}

async function readOrMissing(reads: LookoutReads, namespace: string, name: string): Promise<ManagedCertificate | undefined> {
  try {
    return await readCertificate(reads, namespace, name);
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 404) return undefined;
    throw error;
  }
}

function notFound(what: string, namespace: string, name: string): EnrichmentFact {
  return { source: 'certificate', summary: `${what} ${code(`${namespace}/${name}`)} not found`, detail: `*Certificate* ${what} ${code(`${namespace}/${name}`)} not found (deleted?).` };
}

interface Described {
  namespace: string;
  secret: TlsSecretFacts | undefined;
  managed: ManagedCertificate | undefined;
  now: number;
  warnWithinMs: number;
  redactor: Redactor;
}

function describe({ namespace, secret, managed, now, warnWithinMs, redactor }: Described): EnrichmentFact {
  const summary: Array<string | undefined> = [];
  const detail: string[] = [];
  if (managed !== undefined) {
    const backoff = issuanceBackoff(managed);
    summary.push(
      `Certificate ${code(managed.name)}`,
      managed.notAfter === undefined ? 'never issued' : expiry(managed.notAfter, now, warnWithinMs),
      `issuer ${code(managed.issuer.name, 60)}`,
      conditionText('Ready', managed.ready, redactor, 80),
      backoff === undefined ? undefined : '*in issuance backoff*',
    );
    detail.push(
      dotted([`*Certificate* ${code(`${namespace}/${managed.name}`)}`, `issuer ${text(managed.issuer.kind, 30)} ${code(managed.issuer.name, 80)}`, `Secret ${code(managed.secretName)}`]),
      `• notAfter ${managed.notAfter === undefined ? 'never issued' : `${utc(managed.notAfter)} (${expiry(managed.notAfter, now, warnWithinMs)})`}${managed.renewalTime === undefined ? '' : ` · renewal ${utc(managed.renewalTime)}`}`,
      `• ${conditionText('Ready', managed.ready, redactor, 300) ?? 'Ready: not reported'}`,
      `• ${conditionText('Issuing', managed.issuing, redactor, 300) ?? 'Issuing: no issuance under way'}`,
      ...(issuanceBackoff(managed) === undefined ? [] : [`• ⚠️ ${text(redactor.redact(issuanceBackoff(managed)!), 400)}`]),
    );
  }
  if (secret !== undefined) {
    if (!secret.chain.readable) {
      summary.push(`Secret ${code(secret.name)}: tls.crt unreadable (${text(secret.chain.problem, 80)})`);
      detail.push(`*TLS Secret* ${code(`${namespace}/${secret.name}`)}: tls.crt unreadable (${text(secret.chain.problem, 200)})`);
    } else {
      const { leaf, earliest, count } = secret.chain;
      const chainWorse = earliest !== leaf;
      if (managed === undefined) summary.push(`Secret ${code(secret.name)}`, expiry(leaf.notAfter, now, warnWithinMs), `issuer ${text(leaf.issuer, 80)}`);
      if (chainWorse) summary.push(`*intermediate ${text(earliest.subject, 60)} ${expiry(earliest.notAfter, now, warnWithinMs)}*`);
      detail.push(
        `*TLS Secret* ${code(`${namespace}/${secret.name}`)} · ${count} certificate${count === 1 ? '' : 's'} in tls.crt`,
        `• leaf ${text(leaf.subject, 120)} · SANs ${text(leaf.sans.join(', ') || 'none', 300)} · serial ${code(leaf.serialNumber, 70)}`,
        `• issuer ${text(leaf.issuer, 200)} · notAfter ${utc(leaf.notAfter)} (${expiry(leaf.notAfter, now, warnWithinMs)})`,
        ...(chainWorse ? [`• ⚠️ ${text(earliest.subject, 120)} in the chain expires first: ${utc(earliest.notAfter)} (${expiry(earliest.notAfter, now, warnWithinMs)})`] : []),
      );
    }
  }
  return { source: 'certificate', summary: clipLine(dotted(summary), FACT_LIMITS.summary), detail: clipLines(detail.join('\n'), FACT_LIMITS.detail) };
}

/** "expires in 3d", highlighted inside the warning window; "*expired 2d ago*". */
function expiry(notAfter: number, now: number, warnWithinMs: number): string {
  const level = expiryLevel(notAfter, now, warnWithinMs);
  const left = notAfter - now;
  if (level === 'expired') return `*expired ${span(-left)} ago*`;
  return level === 'ok' ? `expires in ${span(left)}` : `*expires in ${span(left)}*`;
}

function span(ms: number): string {
  if (ms >= 86_400_000) return `${Math.floor(ms / 86_400_000)}d`;
  if (ms >= 3_600_000) return `${Math.floor(ms / 3_600_000)}h`;
  return `${Math.max(0, Math.floor(ms / 60_000))}m`;
}

function conditionText(type: string, condition: CertificateCondition | undefined, redactor: Redactor, max: number): string | undefined {
  if (condition === undefined) return undefined;
  const reason = condition.reason ? ` (${text(condition.reason, 60)})` : '';
  const message = condition.message ? `: ${text(redactor.redact(condition.message), max)}` : '';
  const trouble = (type === 'Ready' && condition.status !== 'True') || (type === 'Issuing' && condition.status === 'False' && condition.reason === 'Failed');
  return `${trouble ? '⚠️ ' : ''}${type}=${condition.status}${reason}${message}`;
}

function utc(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
