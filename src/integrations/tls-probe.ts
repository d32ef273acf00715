import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { connect, type DetailedPeerCertificate } from 'node:tls';
import { factsOf, type X509Facts } from '../certificates/x509-facts.ts';

/** What a TLS server presented, or why nothing was. */
export type ProbeResult =
  | {
      reached: true;
      /** The served chain in order, leaf first (what the server sent, as far as it links up). */
      chain: X509Facts[];
      /** The leaf does not name the host that was asked for (SNI). */
      hostnameMismatch: boolean;
      /** Why Lookout's own CA bundle would not trust the chain (OpenSSL's code), if it would not. */
      untrusted?: string;
    }
  | { reached: false; problem: string };

/**
 * A TLS handshake with `host:port`, with SNI (for a name, not an address), reading what the
 * server presents without trusting it: the point is to see an expired or wrong certificate, which
 * a verifying client would only refuse. Never sends a byte of application data. Connection and
 * handshake together end after `timeoutMs`.
 */
export function probeTls(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const socket = connect({ host, port, ...(isIP(host) === 0 ? { servername: host } : {}), rejectUnauthorized: false });
    const timer = setTimeout(() => finish({ reached: false, problem: `no TLS handshake within ${formatMs(timeoutMs)}` }), timeoutMs);
    socket.once('secureConnect', () => {
      // An event handler: a certificate Node accepted but cannot parse must not throw past it.
      try {
        finishHandshake();
      } catch {
        finish({ reached: false, problem: 'the server presented a certificate that could not be parsed' });
      }
    });
    const finishHandshake = () => {
      const chain = servedChain(socket.getPeerCertificate(true));
      const leaf = socket.getPeerX509Certificate();
      if (chain.length === 0 || leaf === undefined) return finish({ reached: false, problem: 'the server presented no certificate' });
      const matches = isIP(host) === 0 ? leaf.checkHost(host) !== undefined : leaf.checkIP(host) !== undefined;
      const untrusted = socket.authorized ? undefined : String(socket.authorizationError ?? 'not trusted');
      finish({ reached: true, chain, hostnameMismatch: !matches, ...(untrusted !== undefined ? { untrusted } : {}) });
    };
    socket.once('error', (error: NodeJS.ErrnoException) => finish({ reached: false, problem: connectionProblem(error) }));
  });
}

/** Follows the issuer links Node builds from what the server sent; a self-signed root links to itself. */
function servedChain(peer: DetailedPeerCertificate): X509Facts[] {
  const chain: X509Facts[] = [];
  const seen = new Set<string>();
  let current: DetailedPeerCertificate | undefined = peer;
  while (current?.raw !== undefined && current.raw.length > 0 && !seen.has(current.fingerprint256)) {
    seen.add(current.fingerprint256);
    chain.push(factsOf(new X509Certificate(current.raw)));
    current = current.issuerCertificate;
  }
  return chain;
}

/** A short reason from the error's code: a system error's message can carry more than it should. */
function connectionProblem(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the name does not resolve';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    case 'ECONNRESET':
      return 'the connection was reset during the handshake';
    default:
      return error.code?.startsWith('ERR_SSL') || error.code?.startsWith('ERR_TLS') ? `TLS handshake failed (${error.code})` : `connection failed (${error.code ?? 'unknown error'})`;
  }
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
