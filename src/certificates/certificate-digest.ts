import { code, plural } from '../../alerts/enrichers/format.ts';
import type { AsyncEngine } from '../state/store.ts';

/*
 * The certificate digest: one channel message listing the certificates inside the warning window,
 * each at most once a day. The decision (which certificates are due), its record and the queued
 * message are ONE transaction, run where the store's connection lives: a crash before its commit
 * leaves nothing decided (the next scan decides again), a crash after it leaves a notice the outbox
 * delivers on the next start. The notice records its intent before chat.postMessage and carries a
 * marker, so a post whose outcome is unknown is looked up rather than posted twice (src/slack/deliver-line.ts).
 */

/** A certificate is listed again only after this long. */
export const DIGEST_REPEAT_MS = 86_400_000;

/** Lines listed in one digest; the rest are counted in its last line (Slack shows 40,000 characters at most). */
export const DIGEST_MAX_LINES = 50;

/** One certificate inside the warning window, as the scanner found it. */
export interface DigestCertificate {
  namespace: string;
  name: string;
  /** Certificate (cert-manager) or Secret (kubernetes.io/tls). */
  kind: string;
  /** Which of the object's certificates this is (the metric's `source` label). */
  source: string;
  /** notAfter, ms since the epoch. */
  expiresAt: number;
}

export interface CertificateDigestRequest {
  channel: string;
  /** When the scan ran (ms): the time the digest is decided and recorded at. */
  at: number;
  warnWithinMs: number;
  certificates: DigestCertificate[];
}

/** The key a certificate's last listing is stored under: the metric's identity of it. */
export function digestKey(certificate: Pick<DigestCertificate, 'namespace' | 'name' | 'kind' | 'source'>): string {
  return [certificate.kind, certificate.source, certificate.namespace, certificate.name].join('/');
}

/**
 * The named transaction (store-transactions.ts): lists the certificates not listed in the last
 * day, records them as listed now and queues the digest for `channel`, all or nothing.
 * @returns how many certificates the queued digest lists; 0 when none was due (nothing queued).
 */
export function queueCertificateDigest(engine: AsyncEngine, request: CertificateDigestRequest): Promise<number> {
  return engine.transaction(async () => {
    await engine.forgetCertificateReports(request.at - DIGEST_REPEAT_MS);
    // What is left was listed within the last day: a set of at most a day's listings, read at once.
    const listed = new Set(await engine.reportedCertificates());
    const due = request.certificates.filter((certificate) => {
      const key = digestKey(certificate);
      if (listed.has(key)) return false;
      listed.add(key);
      return true;
    });
    if (due.length === 0) return 0;
    await engine.recordCertificatesReported(due.map(digestKey), request.at);
    await engine.addNotice(request.channel, renderCertificateDigest(due, request.at, request.warnWithinMs), request.at);
    return due.length;
  });
}

/** The digest's text (mrkdwn): soonest first, expired ones on top. */
export function renderCertificateDigest(certificates: readonly DigestCertificate[], at: number, warnWithinMs: number): string {
  const sorted = [...certificates].sort((a, b) => a.expiresAt - b.expiresAt || byKey(a, b));
  const expired = sorted.filter((certificate) => certificate.expiresAt <= at).length;
  const window = `${Math.round(warnWithinMs / 86_400_000)}d`;
  const head =
    `:warning: *Certificate expiry digest:* ${plural(sorted.length, 'certificate')} expired or expiring within ${window}` +
    (expired > 0 ? ` (${expired} already expired)` : '');
  const lines = sorted.slice(0, DIGEST_MAX_LINES).map((certificate) => digestLine(certificate, at));
  const more = sorted.length - lines.length;
  return [head, ...lines, ...(more > 0 ? [`…and ${more} more: \`/ops certs --all-namespaces\` lists them all.`] : [])].join('\n');
}

function digestLine(certificate: DigestCertificate, at: number): string {
  const left = certificate.expiresAt - at;
  const when = left <= 0 ? `*expired ${days(-left)} ago*` : `expires in ${days(left)}`;
  const date = new Date(certificate.expiresAt).toISOString().slice(0, 16).replace('T', ' ');
  const part = certificate.source === 'chain' ? ', an intermediate of its chain' : '';
  return `• ${code(`${certificate.namespace}/${certificate.name}`)} (${certificate.kind}${part}) ${when} · ${date} UTC`;
}

/** "3d", "5h", "under 1h": how people think about expiry. */
function days(ms: number): string {
  if (ms >= 86_400_000) return `${Math.floor(ms / 86_400_000)}d`;
  if (ms >= 3_600_000) return `${Math.floor(ms / 3_600_000)}h`;
  return 'under 1h';
}

/** Code-unit order of the keys (Kubernetes names are ASCII): no locale collation, whose tables cost memory. */
function byKey(a: DigestCertificate, b: DigestCertificate): number {
  const [left, right] = [digestKey(a), digestKey(b)];
  return left < right ? -1 : left > right ? 1 : 0;
}
