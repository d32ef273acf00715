import type { CertificateInventory } from '../src/certificates/certificate-inventory.ts';
import { expiryLevel } from '../src/certificates/expiry-window.ts';
import type { X509Facts } from '../src/certificates/x509-facts.ts';
import type { ProbeResult } from '../src/integrations/tls-probe.ts';
import type { CommandReply } from './command.ts';
import { escapeMrkdwn } from '../alerts/render.ts';
import { clip } from '../src/slack/reply-limits.ts';
import { code, expiryText } from './certs-list.ts';

/** Served certificates shown at most; a server chooses how many it sends. */
const MAX_CHAIN_SHOWN = 8;
/** One line at most: subjects and SANs are the server's to choose. */
const MAX_LINE_CHARS = 600;

/** Whether what was served is what is stored, as far as Lookout could look. */
export type StoredComparison =
  | { compared: true; inventory: CertificateInventory; where: string }
  | { compared: false; why: string };

export interface ProbeReportOptions {
  host: string;
  port: number;
  now: number;
  warnWithinMs: number;
}

/**
 * The probe's answer: the served chain (each certificate's expiry, expired intermediates
 * flagged), hostname mismatch, trust, and whether a stored certificate of the namespace has the
 * served leaf's serial and issuer.
 */
export function renderProbe(result: ProbeResult, stored: StoredComparison, { host, port, now, warnWithinMs }: ProbeReportOptions): CommandReply {
  const endpoint = `${host}:${port}`;
  if (!result.reached) return { text: `🔴 *${endpoint}*: no certificate read — ${result.problem}.`, auditDetail: `probe ${endpoint}: ${result.problem}` };
  const [leaf] = result.chain;
  if (leaf === undefined) return { text: `🔴 *${endpoint}*: the server presented no certificate.`, auditDetail: `probe ${endpoint}: no certificate` };
  // The headline's mark is the chain's: an expired intermediate breaks it as an expired leaf does.
  const earliest = result.chain.reduce((first, next) => (next.notAfter < first.notAfter ? next : first), leaf);
  const mark = (facts: X509Facts) => ({ expired: '🔴', urgent: '🟠', warning: '🟡', ok: '🟢' })[expiryLevel(facts.notAfter, now, warnWithinMs)];
  const lines = [
    `${mark(earliest)} *TLS probe of ${endpoint}* (SNI ${host}): serves ${code(leaf.subject)}, ${expiryText(leaf.notAfter, { now })}, serial ${leaf.serialNumber}`,
    result.hostnameMismatch ? `⚠️ *Hostname mismatch*: the certificate is not for ${host} (it names ${leaf.sans.length > 0 ? escapeMrkdwn(leaf.sans.join(', ')) : `only ${code(leaf.subject)}`}).` : undefined,
    ...result.chain.slice(1, MAX_CHAIN_SHOWN).map((facts, index) => {
      const expired = facts.notAfter <= now;
      return `${mark(facts)} chain ${index + 2}: ${code(facts.subject)}${facts.ca ? ' (CA)' : ''}, ${expiryText(facts.notAfter, { now })}${expired ? ' — ⚠️ *expired intermediate*: clients that build the chain from what is served reject it' : ''}`;
    }),
    result.chain.length > MAX_CHAIN_SHOWN ? `…and ${result.chain.length - MAX_CHAIN_SHOWN} more certificates in the served chain.` : undefined,
    result.untrusted !== undefined ? `Not trusted by Lookout's CA bundle: ${escapeMrkdwn(result.untrusted)} (expected for a private CA).` : undefined,
    comparisonLine(leaf, stored),
  ]
    .filter((line): line is string => line !== undefined)
    .map((line) => clip(line, MAX_LINE_CHARS));
  const expiredInChain = result.chain.slice(1).some((facts) => facts.notAfter <= now);
  const summary = [leaf.notAfter <= now ? 'expired' : 'valid', result.hostnameMismatch ? 'hostname mismatch' : undefined, expiredInChain ? 'expired intermediate' : undefined].filter(Boolean).join(', ');
  return { text: lines.join('\n'), auditDetail: `probe ${endpoint}: ${summary}` };
}

function comparisonLine(leaf: X509Facts, stored: StoredComparison): string {
  if (!stored.compared) return `_Not compared with stored certificates: ${stored.why}._`;
  const holders: string[] = [];
  for (const certificate of stored.inventory.certificates) {
    const chain = certificate.secret?.chain;
    if (chain?.readable && sameCertificate(chain.leaf, leaf)) holders.push(`Secret ${certificate.namespace}/${certificate.secretName} (Certificate ${certificate.name})`);
  }
  for (const secret of stored.inventory.secrets) {
    if (secret.chain.readable && sameCertificate(secret.chain.leaf, leaf)) holders.push(`Secret ${secret.namespace}/${secret.name}`);
  }
  const notes = stored.inventory.notes.length > 0 ? ` (${stored.inventory.notes.join(' ')})` : '';
  if (holders.length > 0) return `✅ Served certificate = the one stored in ${holders.join(', ')}.`;
  return `⚠️ No TLS Secret ${stored.where} holds the served certificate (serial ${leaf.serialNumber}): the server may still serve an old one, or another namespace's.${notes}`;
}

/** Serial numbers are unique per issuer, so both must match. */
function sameCertificate(a: X509Facts, b: X509Facts): boolean {
  return a.serialNumber === b.serialNumber && a.issuer === b.issuer;
}
