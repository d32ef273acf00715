import type { LookoutReads } from '../../commands/command.ts';
import type { KubeRequester } from '../../src/kube/kube-reader.ts';
import { LookoutKubeReads } from '../../src/kube/lookout-reads.ts';
import { secretFacts, type TlsSecretFacts } from '../../src/certificates/tls-secrets.ts';
import type { AlertTarget, CertificateTarget } from './enrichment.ts';

/*
 * Which certificate an alert is about. Two kinds of alert name one:
 * - cert-manager's metrics (`certmanager_certificate_expiration_timestamp_seconds`,
 *   `…_ready_status`) carry `name`, `namespace` and `issuer_name`: a Certificate;
 * - Lookout's own `lookout_certificate_expiry_timestamp_seconds` carries `name`, `namespace`
 *   and `kind` (Certificate or Secret).
 * `name` alone names nothing (cAdvisor's container series have one), so the second label decides.
 * Scraped without honor_labels, the certificate's namespace is `exported_namespace`; the plain
 * one is then the exporter's own.
 */

/** Kubernetes object names (DNS-1123 subdomain). */
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** The certificate the labels name, or undefined when they name none. */
export function readCertificateTarget(labels: Readonly<Record<string, string>>): { namespace: string; certificate: CertificateTarget } | undefined {
  const label = (name: string): string | undefined => (Object.hasOwn(labels, name) && labels[name] !== '' ? labels[name] : undefined);
  const namespace = label('exported_namespace') ?? label('namespace');
  const name = label('name');
  if (namespace === undefined || name === undefined || !OBJECT_NAME.test(namespace) || !OBJECT_NAME.test(name)) return undefined;
  if (label('issuer_name') !== undefined) return { namespace, certificate: { kind: 'Certificate', name } };
  const kind = label('kind');
  if (kind === 'Certificate' || kind === 'Secret') return { namespace, certificate: { kind, name } };
  return undefined;
}

/**
 * The alert's target when it names a certificate: only the namespace and the certificate (a pod
 * label beside it is the exporter's). For a Secret, one lookup says whether cert-manager manages
 * it (its annotation), so the alert can show that Certificate and offer Renew. The Secret is
 * listed with field selectors (Lookout may list TLS Secrets, not get them) and only public facts
 * are kept. A failed lookup leaves the Secret alone.
 */
export async function resolveCertificateTarget(found: { namespace: string; certificate: CertificateTarget }, reads: LookoutReads | undefined): Promise<AlertTarget> {
  const { namespace, certificate } = found;
  if (certificate.kind !== 'Secret' || reads === undefined) return { namespace, certificate };
  try {
    const managedBy = (await readTlsSecret(reads, namespace, certificate.name))?.certificateName;
    return { namespace, certificate: managedBy !== undefined && OBJECT_NAME.test(managedBy) ? { ...certificate, managedBy } : certificate };
  } catch {
    return { namespace, certificate };
  }
}

/** One TLS Secret's public facts, listed by name (no `get secrets` needed); undefined when there is none. */
export async function readTlsSecret(reads: LookoutReads, namespace: string, name: string): Promise<TlsSecretFacts | undefined> {
  const list = await reads.get<{ items?: Array<Parameters<typeof secretFacts>[0]> }>(`/api/v1/namespaces/${namespace}/secrets`, {
    fieldSelector: `type=kubernetes.io/tls,metadata.name=${name}`,
  });
  const [item] = list.items ?? [];
  return item === undefined ? undefined : secretFacts(item);
}

/** GETs as Lookout, ended by the enrichment deadline. */
export function readsUntil(kube: KubeRequester, signal: AbortSignal): LookoutReads {
  return new LookoutKubeReads({ request: (request) => kube.request({ ...request, signal }) });
}
