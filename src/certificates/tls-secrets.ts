import type { LookoutReads } from '../../commands/command.ts';
import { listPages } from './list-pages.ts';
import { readChain, type ChainReading } from './x509-facts.ts';

/** Where to look: one namespace, or every namespace. */
export interface InventoryScope {
  /** Undefined: all namespaces. */
  namespace?: string;
}

/** A `kubernetes.io/tls` Secret, reduced to public facts: no key, no certificate bytes. */
export interface TlsSecretFacts {
  namespace: string;
  name: string;
  /** The cert-manager Certificate that manages it (ownerReference or annotation), if any. */
  certificateName?: string;
  /** Its `tls.crt`, read; unreadable (with why) when missing or malformed. */
  chain: ChainReading;
}

/** The annotation cert-manager writes on every Secret it issues into. */
export const CERTIFICATE_NAME_ANNOTATION = 'cert-manager.io/certificate-name';

/** Secrets per list request: a page of TLS Secrets is a few MB at most. */
export const DEFAULT_PAGE_SIZE = 250;

interface SecretItem {
  metadata?: { namespace?: string; name?: string; annotations?: Record<string, string>; ownerReferences?: Array<{ apiVersion?: string; kind?: string; name?: string }> };
  data?: Record<string, string>;
}

/**
 * The TLS Secrets of the scope, a page at a time, listed as Lookout with the server-side field
 * selector `type=kubernetes.io/tls` (other Secrets never leave the API server). Each page's
 * Secrets are reduced to their facts before the page is handed out: `tls.key` and the raw data
 * are dropped with the response body, and nothing of them is kept.
 */
export async function* tlsSecretPages(reads: LookoutReads, scope: InventoryScope, pageSize = DEFAULT_PAGE_SIZE): AsyncGenerator<TlsSecretFacts[]> {
  const path = scope.namespace === undefined ? '/api/v1/secrets' : `/api/v1/namespaces/${scope.namespace}/secrets`;
  yield* listPages(reads, path, { fieldSelector: 'type=kubernetes.io/tls' }, pageSize, secretFacts);
}

/** One Secret's public facts (exported for tests). */
export function secretFacts(secret: SecretItem): TlsSecretFacts {
  const certificateName = owningCertificate(secret.metadata);
  const encoded = secret.data?.['tls.crt'];
  return {
    namespace: secret.metadata?.namespace ?? '',
    name: secret.metadata?.name ?? '',
    ...(certificateName !== undefined ? { certificateName } : {}),
    chain: encoded === undefined || encoded === '' ? { readable: false, problem: 'no tls.crt' } : readChain(Buffer.from(encoded, 'base64').toString('latin1')),
  };
}

/** cert-manager's ownerReference (with --enable-certificate-owner-ref) or, always set, its annotation. */
function owningCertificate(metadata: SecretItem['metadata']): string | undefined {
  const owner = metadata?.ownerReferences?.find((reference) => reference.kind === 'Certificate' && reference.apiVersion?.startsWith('cert-manager.io/'));
  return owner?.name ?? metadata?.annotations?.[CERTIFICATE_NAME_ANNOTATION];
}
