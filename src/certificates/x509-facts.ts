import { X509Certificate } from 'node:crypto';

/** The public facts of one X.509 certificate: what Lookout shows and compares, nothing else. */
export interface X509Facts {
  subject: string;
  issuer: string;
  /** Hex, upper case, as `openssl x509 -serial` and node:crypto print it. */
  serialNumber: string;
  /** Subject alternative names as `DNS:shop.example.com`, `IP Address:10.0.0.1`. */
  sans: string[];
  /** Epoch milliseconds. */
  notBefore: number;
  notAfter: number;
  /** A CA certificate (an intermediate or a root in a chain). */
  ca: boolean;
}

/**
 * What a PEM bundle holds: every certificate readable, or why it is not. A chain's `leaf` is its
 * first certificate (what a server presents first, what `tls.crt` starts with) and `earliest` the
 * certificate of the chain that expires first — the leaf itself, or an intermediate that runs out
 * before it and breaks the chain just the same.
 */
export type ChainReading =
  | { readable: true; leaf: X509Facts; earliest: X509Facts; count: number }
  | { readable: false; problem: string };

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The facts of a parsed certificate (also used for the chain a TLS server serves). */
export function factsOf(certificate: X509Certificate): X509Facts {
  return {
    subject: oneLine(certificate.subject),
    issuer: oneLine(certificate.issuer),
    serialNumber: certificate.serialNumber.toUpperCase(),
    sans: splitAltNames(certificate.subjectAltName),
    notBefore: certificate.validFromDate.getTime(),
    notAfter: certificate.validToDate.getTime(),
    ca: certificate.ca,
  };
}

/**
 * Reads every certificate of a PEM bundle (a Secret's `tls.crt`). Anything that is not a
 * complete, parseable chain is "unreadable" with the reason, never an exception: one bad
 * Secret must not hide the others.
 */
export function readChain(pem: string): ChainReading {
  const blocks = pem.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) return { readable: false, problem: 'no PEM certificate in it' };
  const chain: X509Facts[] = [];
  for (const [index, block] of blocks.entries()) {
    try {
      chain.push(factsOf(new X509Certificate(block)));
    } catch {
      return { readable: false, problem: `certificate ${index + 1} of ${blocks.length} cannot be parsed` };
    }
  }
  return summarise(chain);
}

/** Leaf, earliest expiry and count of a chain read in order; a chain must have one certificate at least. */
function summarise(chain: readonly X509Facts[]): ChainReading {
  const [leaf] = chain;
  if (leaf === undefined) return { readable: false, problem: 'no certificate in it' };
  const earliest = chain.reduce((first, next) => (next.notAfter < first.notAfter ? next : first), leaf);
  return { readable: true, leaf, earliest, count: chain.length };
}

/** Node prints a distinguished name one attribute a line; people read it on one. */
function oneLine(name: string): string {
  return name.split('\n').filter(Boolean).join(', ');
}

/**
 * node:crypto joins the names with ", " and quotes (JSON) any value that itself holds a comma or
 * quote, so split only outside quotes.
 */
function splitAltNames(text: string | undefined): string[] {
  if (text === undefined || text === '') return [];
  return text.split(/, (?=(?:[^"]*"[^"]*")*[^"]*$)/).filter(Boolean);
}
