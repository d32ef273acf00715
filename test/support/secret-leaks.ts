import type { KubeHttp } from '../../src/kube/kube-http.ts';
import type { FakeSlack } from './fake-slack.ts';

/**
 * Everything a test captured where a secret must never appear. Give what the test has; each
 * source given is read in full at scan time.
 */
export interface CapturedOutput {
  /** Every Web API call (params as sent) and every response_url post. */
  slack?: FakeSlack;
  /** Lookout's stdout and stderr, e.g. `() => lookout.output()`. */
  output?: () => string;
  /** Lookout's base URL: `/metrics` is fetched. */
  lookoutUrl?: string;
  /** Audit Events: every events.k8s.io/v1 Event of these namespaces, read as `admin`. */
  events?: { admin: KubeHttp; namespaces: readonly string[] };
  /** Anything else, by name (a log file, a Secret read back, a bench's report). */
  extra?: Readonly<Record<string, string>>;
}

/** A secret found where it must not be: which secret (by position, never its value) and where. */
export interface SecretLeak {
  secretIndex: number;
  /** e.g. `slack chat.postMessage call #3`, `stdout/stderr`, `/metrics`, `Event shop/x.1a2b`. */
  where: string;
  /** How it was written there: as is, base64, JSON-escaped or URL-encoded. */
  form: string;
}

/** Shorter values would match by chance; a rotation test must use values at least this long. */
export const MIN_SCANNED_LENGTH = 8;

/**
 * Scans everything captured for each secret value, as written and in the encodings a leak would
 * take on its way out (base64 as in a Kubernetes Secret, JSON escaping, URL encoding).
 * @returns every place a value was found; empty when nothing leaked.
 */
export async function findSecretLeaks(secrets: readonly string[], captured: CapturedOutput): Promise<SecretLeak[]> {
  for (const [index, secret] of secrets.entries()) {
    if (secret.length < MIN_SCANNED_LENGTH) throw new Error(`secret #${index} is shorter than ${MIN_SCANNED_LENGTH} characters: a scan for it would match by chance`);
  }
  const texts = await collectTexts(captured);
  const leaks: SecretLeak[] = [];
  for (const [secretIndex, secret] of secrets.entries()) {
    const forms = encodings(secret);
    for (const [where, text] of texts) {
      const form = forms.find(([, encoded]) => text.includes(encoded));
      if (form !== undefined) leaks.push({ secretIndex, where, form: form[0] });
    }
  }
  return leaks;
}

/**
 * Fails (throws) when any secret value appears in anything captured. The message names where,
 * never the value, so a failing test does not print the secret either.
 */
export async function expectNoSecretLeaks(secrets: readonly string[], captured: CapturedOutput): Promise<void> {
  const leaks = await findSecretLeaks(secrets, captured);
  if (leaks.length > 0) {
    throw new Error(`secret values leaked:\n${leaks.map((leak) => `  - secret #${leak.secretIndex} (${leak.form}) in ${leak.where}`).join('\n')}`);
  }
}

function encodings(secret: string): Array<[string, string]> {
  const forms: Array<[string, string]> = [
    ['as is', secret],
    ['JSON-escaped', JSON.stringify(secret).slice(1, -1)],
    ['URL-encoded', encodeURIComponent(secret)],
  ];
  // Inside a larger base64 blob (a Secret's whole data, a JSON document) the value starts at any
  // byte offset, and each offset mod 3 encodes it differently: match the characters that depend
  // on the value alone, dropping the group it shares with what comes before and after.
  for (const offset of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(offset), Buffer.from(secret)]).toString('base64');
    const whole = Math.floor((offset + Buffer.byteLength(secret)) / 3) * 4;
    const inner = encoded.slice(offset === 0 ? 0 : 4, whole);
    forms.push([`base64 (offset ${offset})`, inner], [`base64url (offset ${offset})`, inner.replaceAll('+', '-').replaceAll('/', '_')]);
  }
  return forms.filter(([, encoded]) => encoded.length >= MIN_SCANNED_LENGTH);
}

async function collectTexts(captured: CapturedOutput): Promise<Array<[string, string]>> {
  const texts: Array<[string, string]> = [];
  if (captured.slack !== undefined) {
    for (const [index, call] of captured.slack.calls.entries()) texts.push([`slack ${call.method} call #${index}`, JSON.stringify(call.params)]);
    for (const [index, post] of captured.slack.responseUrlPosts.entries()) texts.push([`slack response_url post #${index}`, JSON.stringify(post.body)]);
  }
  if (captured.output !== undefined) texts.push(['stdout/stderr', captured.output()]);
  if (captured.lookoutUrl !== undefined) {
    const res = await fetch(`${captured.lookoutUrl}/metrics`);
    if (!res.ok) throw new Error(`GET /metrics answered ${res.status}: the scan cannot read it`);
    texts.push(['/metrics', await res.text()]);
  }
  if (captured.events !== undefined) {
    for (const namespace of captured.events.namespaces) {
      const list = await captured.events.admin.request<{ items: Array<{ metadata: { name: string } }> }>({ method: 'GET', path: `/apis/events.k8s.io/v1/namespaces/${namespace}/events` });
      for (const event of list.items) texts.push([`Event ${namespace}/${event.metadata.name}`, JSON.stringify(event)]);
    }
  }
  for (const [name, text] of Object.entries(captured.extra ?? {})) texts.push([name, text]);
  return texts;
}
