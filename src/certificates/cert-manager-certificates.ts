import type { LookoutReads } from '../../commands/command.ts';
import { utcMinute } from './expiry-window.ts';
import { listPages } from './list-pages.ts';
import { DEFAULT_PAGE_SIZE, type InventoryScope } from './tls-secrets.ts';

/** A status condition of a Certificate, as cert-manager writes it. */
export interface CertificateCondition {
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  /** Epoch milliseconds. */
  lastTransitionTime?: number;
  observedGeneration?: number;
}

/** A cert-manager `Certificate` (cert-manager.io/v1), the facts Lookout shows and acts on. */
export interface ManagedCertificate {
  namespace: string;
  name: string;
  /** metadata.generation: what a renewal's condition says it observed. */
  generation: number;
  /** spec.secretName: where cert-manager stores the issued certificate. */
  secretName: string;
  issuer: { name: string; kind: string };
  /** status.notAfter / renewalTime, epoch milliseconds; absent until first issued. */
  notAfter?: number;
  renewalTime?: number;
  ready?: CertificateCondition;
  issuing?: CertificateCondition;
  /** Failed issuances in a row (status.failedIssuanceAttempts) and when the last one failed. */
  failedIssuanceAttempts?: number;
  lastFailureTime?: number;
}

/** The Certificate API path: a namespace's list, one object, or (no namespace) every namespace. */
export function certificatesPath(namespace?: string, name?: string): string {
  if (namespace === undefined) return '/apis/cert-manager.io/v1/certificates';
  return `/apis/cert-manager.io/v1/namespaces/${namespace}/certificates${name === undefined ? '' : `/${name}`}`;
}

/**
 * The Certificates of the scope, a page at a time, as Lookout (`list certificates.cert-manager.io`).
 * Where cert-manager is not installed the API server answers 404: the caller decides what that means.
 */
export async function* certificatePages(reads: LookoutReads, scope: InventoryScope, pageSize = DEFAULT_PAGE_SIZE): AsyncGenerator<ManagedCertificate[]> {
  yield* listPages(reads, certificatesPath(scope.namespace), {}, pageSize, certificateFacts);
}

/** One Certificate, read as Lookout (`get certificates.cert-manager.io`). */
export async function readCertificate(reads: LookoutReads, namespace: string, name: string): Promise<ManagedCertificate> {
  return certificateFacts(await reads.get<CertificateObject>(certificatesPath(namespace, name)));
}

/**
 * Why the Certificate is waiting in cert-manager's issuance backoff, or undefined: after a failed
 * issuance cert-manager sets Issuing=False (reason Failed) and does not try again for a while
 * (1 h, doubling with each further failure, up to 32 h), so the certificate can run out meanwhile.
 */
export function issuanceBackoff(certificate: ManagedCertificate): string | undefined {
  const { issuing, failedIssuanceAttempts, lastFailureTime } = certificate;
  const failed = issuing?.status === 'False' && issuing.reason === 'Failed';
  if (!failed && lastFailureTime === undefined) return undefined;
  const attempts = failedIssuanceAttempts ?? 1;
  const since = lastFailureTime ?? issuing?.lastTransitionTime;
  const parts = [`${attempts} failed issuance${attempts === 1 ? '' : 's'}`, since !== undefined ? `last at ${utcMinute(since)}` : undefined];
  return `in issuance backoff (${parts.filter(Boolean).join(', ')})${issuing?.message ? `: ${issuing.message}` : ''}`;
}

/** " (Reason: message)" of a condition, or "" when it has neither. */
export function describeCondition(condition: { reason?: string; message?: string }): string {
  const parts = [condition.reason, condition.message].filter(Boolean);
  return parts.length > 0 ? ` (${parts.join(': ')})` : '';
}

/** The Certificate object as the API serves it (the fields read). */
export interface CertificateObject {
  metadata?: { namespace?: string; name?: string; generation?: number };
  spec?: { secretName?: string; issuerRef?: { name?: string; kind?: string } };
  status?: {
    notAfter?: string;
    renewalTime?: string;
    failedIssuanceAttempts?: number;
    lastFailureTime?: string;
    conditions?: Array<{ type?: string; status?: string; reason?: string; message?: string; lastTransitionTime?: string; observedGeneration?: number }>;
  };
}

/** The facts of a Certificate object (exported for tests). */
export function certificateFacts(object: CertificateObject): ManagedCertificate {
  const status = object.status ?? {};
  const notAfter = time(status.notAfter);
  const renewalTime = time(status.renewalTime);
  const lastFailureTime = time(status.lastFailureTime);
  const ready = condition(object, 'Ready');
  const issuing = condition(object, 'Issuing');
  return {
    namespace: object.metadata?.namespace ?? '',
    name: object.metadata?.name ?? '',
    generation: object.metadata?.generation ?? 0,
    secretName: object.spec?.secretName ?? '',
    // cert-manager's default issuerRef kind is Issuer.
    issuer: { name: object.spec?.issuerRef?.name ?? '', kind: object.spec?.issuerRef?.kind || 'Issuer' },
    ...(notAfter !== undefined ? { notAfter } : {}),
    ...(renewalTime !== undefined ? { renewalTime } : {}),
    ...(ready ? { ready } : {}),
    ...(issuing ? { issuing } : {}),
    ...(typeof status.failedIssuanceAttempts === 'number' ? { failedIssuanceAttempts: status.failedIssuanceAttempts } : {}),
    ...(lastFailureTime !== undefined ? { lastFailureTime } : {}),
  };
}

function condition(object: CertificateObject, type: string): CertificateCondition | undefined {
  const found = object.status?.conditions?.find((candidate) => candidate.type === type);
  if (found === undefined || (found.status !== 'True' && found.status !== 'False' && found.status !== 'Unknown')) return undefined;
  const changed = time(found.lastTransitionTime);
  return {
    status: found.status,
    ...(found.reason ? { reason: found.reason } : {}),
    ...(found.message ? { message: found.message } : {}),
    ...(changed !== undefined ? { lastTransitionTime: changed } : {}),
    ...(typeof found.observedGeneration === 'number' ? { observedGeneration: found.observedGeneration } : {}),
  };
}

function time(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}
