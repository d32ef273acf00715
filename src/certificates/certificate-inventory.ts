import type { LookoutReads } from '../../commands/command.ts';
import { KubeApiError } from '../kube/kube-http.ts';
import { certificatePages, type ManagedCertificate } from './cert-manager-certificates.ts';
import { tlsSecretPages, type InventoryScope, type TlsSecretFacts } from './tls-secrets.ts';

/** A cert-manager Certificate with the Secret it manages, when that Secret was found. */
export interface InventoryCertificate extends ManagedCertificate {
  secret?: TlsSecretFacts;
}

/** Every certificate of a scope: what `/ops certs` lists. */
export interface CertificateInventory {
  certificates: InventoryCertificate[];
  /** TLS Secrets no listed Certificate manages (each Secret appears once: here or under its Certificate). */
  secrets: TlsSecretFacts[];
  /** What could not be read, for the person (cert-manager not installed, a list Lookout may not make). */
  notes: string[];
}

/**
 * Reads the Certificates, then the TLS Secrets of the scope, as Lookout, and puts each Secret a
 * Certificate manages under it. Only public facts are kept (see tlsSecretPages). A source that
 * is missing or forbidden becomes a note, so the other still answers.
 */
export async function readInventory(reads: LookoutReads, scope: InventoryScope): Promise<CertificateInventory> {
  const notes: string[] = [];
  const certificates: InventoryCertificate[] = [];
  const byName = new Map<string, InventoryCertificate>();
  const bySecret = new Map<string, InventoryCertificate>();
  try {
    for await (const page of certificatePages(reads, scope)) {
      for (const certificate of page) {
        certificates.push(certificate);
        byName.set(key(certificate.namespace, certificate.name), certificate);
        bySecret.set(key(certificate.namespace, certificate.secretName), certificate);
      }
    }
  } catch (error) {
    notes.push(unreadable(error, 'cert-manager Certificates', 'certificates.cert-manager.io', 'cert-manager is not installed (no Certificate API), so only TLS Secrets are listed.'));
  }
  const secrets: TlsSecretFacts[] = [];
  try {
    for await (const page of tlsSecretPages(reads, scope)) {
      for (const secret of page) {
        // Marked by cert-manager, or else named by a Certificate's spec.secretName (not issued into yet).
        const owner = secret.certificateName !== undefined ? byName.get(key(secret.namespace, secret.certificateName)) : bySecret.get(key(secret.namespace, secret.name));
        if (owner !== undefined && owner.secret === undefined) owner.secret = secret;
        else secrets.push(secret);
      }
    }
  } catch (error) {
    notes.push(unreadable(error, 'TLS Secrets', 'secrets', 'no Secrets were listed.'));
  }
  return { certificates, secrets, notes };
}

function key(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** A note for a source that could not be read; errors other than 403/404 are not the person's to read. */
function unreadable(error: unknown, what: string, resource: string, whenMissing: string): string {
  if (error instanceof KubeApiError && error.status === 404) return whenMissing;
  if (error instanceof KubeApiError && error.status === 403) return `Lookout may not list ${resource} here (its ClusterRole, docs/rbac.md), so ${what} are not shown.`;
  throw error;
}
