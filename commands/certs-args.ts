import { isIP } from 'node:net';
import { splitOptions } from '../src/workloads/workload-words.ts';

/** `/ops certs` as typed: a list, a probe, or a renewal. */
export type CertsArgs =
  | { mode: 'list'; /** Undefined: every namespace (`--all-namespaces`). */ namespace?: string; withinMs?: number }
  | { mode: 'probe'; host: string; port: number; /** Where the served certificate is looked for among the stored ones; none without -n / -A. */ compareIn?: { namespace?: string } }
  | { mode: 'renew'; namespace: string; name: string };

const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** DNS-1123 subdomain: Certificate names. */
const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?$/;
const WITHIN_UNITS = { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;

/** Words → what to do, or what is wrong. */
export function parseCerts(words: readonly string[]): CertsArgs | { error: string } {
  if (words[0] === 'renew') return parseRenew(words.slice(1));
  // A flag without a value, which splitOptions (options with values) does not take.
  const isAll = (word: string): boolean => word === '-A' || word === '--all-namespaces';
  const allFlags = words.filter(isAll);
  if (allFlags.length > 1) return { error: 'give `--all-namespaces` once' };
  const split = splitOptions(words.filter((word) => !isAll(word)), ['--namespace', '--within', '--probe']);
  if ('error' in split) return split;
  const { positional, options } = split;
  if (positional.length > 0) return { error: `unexpected \`${positional.join(' ')}\`` };
  const namespace = options.get('--namespace');
  const all = allFlags.length === 1;
  if (namespace !== undefined && all) return { error: 'give either `-n <namespace>` or `--all-namespaces`, not both' };
  if (namespace !== undefined && !NAMESPACE.test(namespace)) return { error: `\`${namespace}\` is not a namespace name` };
  const probe = options.get('--probe');
  const within = options.get('--within');
  if (probe !== undefined) {
    if (within !== undefined) return { error: '`--within` filters the list; a probe shows one endpoint' };
    const endpoint = parseEndpoint(probe);
    if ('error' in endpoint) return endpoint;
    const compareIn = all ? {} : namespace !== undefined ? { namespace } : undefined;
    return { mode: 'probe', ...endpoint, ...(compareIn ? { compareIn } : {}) };
  }
  if (namespace === undefined && !all) return { error: 'needs `-n <namespace>` or `--all-namespaces`' };
  let withinMs: number | undefined;
  if (within !== undefined) {
    const match = /^(\d{1,4})([hdw])$/.exec(within);
    if (match === null || Number(match[1]) === 0) return { error: `\`--within ${within}\` is not a period such as 30d, 12h or 2w` };
    withinMs = Number(match[1]) * WITHIN_UNITS[match[2] as keyof typeof WITHIN_UNITS];
  }
  return { mode: 'list', ...(namespace !== undefined ? { namespace } : {}), ...(withinMs !== undefined ? { withinMs } : {}) };
}

/** `renew <namespace>/<name>` or `renew -n <namespace> <name>`. */
function parseRenew(words: readonly string[]): CertsArgs | { error: string } {
  const split = splitOptions(words, ['--namespace']);
  if ('error' in split) return split;
  const [word, ...extra] = split.positional;
  if (word === undefined) return { error: 'renew needs a Certificate, e.g. `renew shop/web-tls`' };
  if (extra.length > 0) return { error: `unexpected \`${extra.join(' ')}\`` };
  const flag = split.options.get('--namespace');
  const parts = word.split('/');
  const [namespace, name] = flag !== undefined ? [flag, parts.length === 1 ? parts[0] : undefined] : parts.length === 2 ? parts : [undefined, undefined];
  if (namespace === undefined || name === undefined) return { error: `\`${word}\` is not a Certificate: write \`<namespace>/<name>\` or \`-n <namespace> <name>\`` };
  if (!NAMESPACE.test(namespace)) return { error: `\`${namespace}\` is not a namespace name` };
  if (!NAME.test(name)) return { error: `\`${name}\` is not a Certificate name` };
  return { mode: 'renew', namespace, name };
}

/** `host:port`, `[v6]:port`; a host is a DNS name or an IP address. */
export function parseEndpoint(text: string): { host: string; port: number } | { error: string } {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const usage = `\`${text}\` is not an endpoint: write \`host:port\`, e.g. \`shop.example.com:443\``;
  if (match === null) return { error: usage };
  const host = match[1] ?? match[2] ?? '';
  const port = Number(match[3]);
  if (port < 1 || port > 65535) return { error: `\`${match[3] ?? ''}\` is not a port (1–65535)` };
  if (match[1] !== undefined ? isIP(host) !== 6 : isIP(host) === 0 && !HOSTNAME.test(host)) return { error: usage };
  return { host, port };
}
