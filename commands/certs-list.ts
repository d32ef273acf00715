import type { Button, KnownBlock } from '@slack/types';
import { describeCondition, issuanceBackoff } from '../src/certificates/cert-manager-certificates.ts';
import type { CertificateInventory, InventoryCertificate } from '../src/certificates/certificate-inventory.ts';
import { expiryLevel, URGENT_WITHIN_MS, utcMinute, type ExpiryLevel } from '../src/certificates/expiry-window.ts';
import type { TlsSecretFacts } from '../src/certificates/tls-secrets.ts';
import type { ChainReading, X509Facts } from '../src/certificates/x509-facts.ts';
import { escapeMrkdwn } from '../alerts/render.ts';
import { clip } from '../src/slack/reply-limits.ts';
import type { CommandReply } from './command.ts';
import { renewButton } from './certs-renew.ts';

/** Entries shown at most: a heading, one section each, the count of the rest and the notes stay within Slack's 50 blocks. */
export const MAX_LISTED = 30;
/** One entry's text at most (a section allows 3000; the whole message 40,000). */
const MAX_ENTRY_CHARS = 1200;

const MARK: Record<ExpiryLevel | 'problem', string> = { expired: '🔴', urgent: '🟠', warning: '🟡', ok: '🟢', problem: '⚠️' };

export interface ListOptions {
  now: number;
  warnWithinMs: number;
  /** `--within`: only what expires (or cannot be read) within this. */
  withinMs?: number;
  /** Undefined: every namespace. */
  namespace?: string;
}

/** One line of the list, with what it sorts by: the soonest expiry that breaks it. */
interface Entry {
  /** -Infinity when nothing says when it expires (never issued, unreadable): shown first. */
  expires: number;
  key: string;
  text: string;
  button?: Button;
}

/**
 * `/ops certs`: every certificate of the scope in one list, soonest expiry first (an expired
 * intermediate counts as the chain's expiry), marked expired / under 7 days / within the warning
 * window; cut at MAX_LISTED with a count of the rest.
 */
export function renderList(inventory: CertificateInventory, options: ListOptions): CommandReply {
  const all = [...inventory.certificates.map((certificate) => certificateEntry(certificate, options)), ...inventory.secrets.map((secret) => secretEntry(secret, options))];
  const entries = all
    .filter((entry) => options.withinMs === undefined || entry.expires < options.now + options.withinMs)
    .sort((a, b) => a.expires - b.expires || a.key.localeCompare(b.key));
  const where = options.namespace === undefined ? 'in all namespaces' : `in ${options.namespace}`;
  const window = options.withinMs === undefined ? '' : ` expiring within ${days(options.withinMs)}`;
  const counts = countLevels(entries, options);
  const heading = entries.length === 0 ? `No certificates ${where}${window}.` : `*${entries.length} certificate${entries.length === 1 ? '' : 's'} ${where}${window}*${counts ? ` (${counts})` : ''}`;
  const shown = entries.slice(0, MAX_LISTED);
  const more = entries.length > shown.length ? `…and ${entries.length - shown.length} more, later expiries; narrow the list with \`-n\` or \`--within\`.` : undefined;
  const notes = inventory.notes.map((note) => `_${note}_`);
  const texts = shown.map((entry) => clip(entry.text, MAX_ENTRY_CHARS));
  return {
    text: [heading, ...texts, ...(more ? [more] : []), ...notes].join('\n'),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: heading } },
      ...shown.map((entry, index): KnownBlock => ({ type: 'section', text: { type: 'mrkdwn', text: texts[index] ?? '' }, ...(entry.button ? { accessory: entry.button } : {}) })),
      ...(more || notes.length > 0 ? [{ type: 'context', elements: [...(more ? [more] : []), ...notes].map((text) => ({ type: 'mrkdwn' as const, text })) } satisfies KnownBlock] : []),
    ],
    auditDetail: `listed ${entries.length} certificates ${where}`,
  };
}

function certificateEntry(certificate: InventoryCertificate, options: ListOptions): Entry {
  const chain = certificate.secret?.chain;
  const candidates = [certificate.notAfter, chain?.readable ? chain.earliest.notAfter : undefined].filter((ms): ms is number => ms !== undefined);
  const expires = candidates.length > 0 ? Math.min(...candidates) : -Infinity;
  const notAfter = certificate.notAfter ?? (chain?.readable ? chain.leaf.notAfter : undefined);
  const facts = [
    notAfter !== undefined ? expiryText(notAfter, options) : 'not issued yet',
    `issuer ${escapeMrkdwn(`${certificate.issuer.kind}/${certificate.issuer.name}`)}`,
    certificate.ready ? `Ready ${certificate.ready.status}${escapeMrkdwn(describeCondition(certificate.ready))}` : 'no Ready condition',
    certificate.issuing?.status === 'True' ? `Issuing (${escapeMrkdwn(certificate.issuing.reason ?? 'no reason')})` : undefined,
    escapeMrkdwn(issuanceBackoff(certificate) ?? ''),
    certificate.renewalTime !== undefined && certificate.renewalTime > options.now ? `renews ${utcMinute(certificate.renewalTime)}` : undefined,
  ].filter(Boolean);
  const secretLine = certificate.secret ? `\n    ↳ Secret \`${certificate.secret.name}\`: ${chainText(certificate.secret.chain, options)}` : `\n    ↳ Secret ${code(certificate.secretName)} not found`;
  const problem = certificate.notAfter === undefined && !chain?.readable;
  return {
    expires,
    key: `${certificate.namespace}/${certificate.name}`,
    text: `${problem ? MARK.problem : MARK[expiryLevel(expires, options.now, options.warnWithinMs)]} *Certificate ${certificate.namespace}/${certificate.name}* — ${facts.join(' · ')}${secretLine}`,
    button: renewButton(certificate.namespace, certificate.name),
  };
}

function secretEntry(secret: TlsSecretFacts, options: ListOptions): Entry {
  const owner = secret.certificateName !== undefined ? ` (Certificate ${code(secret.certificateName)} not found)` : '';
  const mark = secret.chain.readable ? MARK[expiryLevel(secret.chain.earliest.notAfter, options.now, options.warnWithinMs)] : MARK.problem;
  return {
    expires: secret.chain.readable ? secret.chain.earliest.notAfter : -Infinity,
    key: `${secret.namespace}/${secret.name}`,
    text: `${mark} *Secret ${secret.namespace}/${secret.name}*${owner} — ${chainText(secret.chain, options)}`,
  };
}

/** The leaf's facts, and the chain's earliest expiry when that is not the leaf. */
function chainText(chain: ChainReading, options: ListOptions): string {
  if (!chain.readable) return `unreadable: ${chain.problem}`;
  const leaf = `${expiryText(chain.leaf.notAfter, options)} · ${certificateText(chain.leaf)}`;
  if (chain.earliest === chain.leaf) return leaf;
  return `${leaf} · ${MARK[expiryLevel(chain.earliest.notAfter, options.now, options.warnWithinMs)]} chain: ${code(chain.earliest.subject)} ${expiryText(chain.earliest.notAfter, options)}`;
}

function certificateText(facts: X509Facts): string {
  const sans = facts.sans.length > 0 ? ` · SANs ${escapeMrkdwn(facts.sans.slice(0, 5).join(', '))}${facts.sans.length > 5 ? ` (+${facts.sans.length - 5})` : ''}` : '';
  return `${code(facts.subject || '(no subject)')}${sans} · issuer ${code(facts.issuer)} · serial ${facts.serialNumber}`;
}

/**
 * Text from a certificate (subject, issuer) as inline code: escaped for Slack, and a backquote in
 * it cannot end the code span. Anyone who can write a Secret chooses these strings.
 */
export function code(text: string): string {
  return `\`${escapeMrkdwn(text).replace(/`/g, 'ˋ')}\``;
}

/** "expired 2 d ago (2026-11-30 10:00 UTC)", "3 d 4 h left (…)". */
export function expiryText(notAfter: number, { now }: { now: number }): string {
  const left = notAfter - now;
  const when = utcMinute(notAfter);
  return left <= 0 ? `*expired ${span(-left)} ago* (${when})` : `${left < URGENT_WITHIN_MS ? '*' : ''}${span(left)} left${left < URGENT_WITHIN_MS ? '*' : ''} (${when})`;
}

function span(ms: number): string {
  const d = Math.floor(ms / 86_400_000);
  const h = Math.floor((ms % 86_400_000) / 3_600_000);
  if (d >= 7) return `${d} d`;
  if (d >= 1) return `${d} d ${h} h`;
  return h >= 1 ? `${h} h` : `${Math.max(1, Math.floor(ms / 60_000))} min`;
}

function days(ms: number): string {
  return ms % 86_400_000 === 0 ? `${ms / 86_400_000} d` : `${Math.round(ms / 3_600_000)} h`;
}


function countLevels(entries: readonly Entry[], options: ListOptions): string {
  const count = { expired: 0, urgent: 0, warning: 0, unknown: 0 };
  for (const entry of entries) {
    if (entry.expires === -Infinity) {
      count.unknown += 1;
      continue;
    }
    const level = expiryLevel(entry.expires, options.now, options.warnWithinMs);
    if (level !== 'ok') count[level] += 1;
  }
  return [count.unknown ? `${count.unknown} not issued or unreadable` : '', count.expired ? `${count.expired} expired` : '', count.urgent ? `${count.urgent} < 7 d` : '', count.warning ? `${count.warning} < ${days(options.warnWithinMs)}` : ''].filter(Boolean).join(', ');
}
