import { parseDuration } from './silence-support.ts';

/**
 * The words of `/ops logs`, parsed. Kept apart from the command so the syntax — a contract
 * people type from memory — is tested on its own.
 */

/** What a log target names; `undefined` kind = a pod of that name, else a Deployment of that name. */
export type LogsKind = 'pod' | 'deployment' | 'statefulset' | 'daemonset';

export interface LogsArgs {
  namespace: string;
  kind?: LogsKind;
  name: string;
  container?: string;
  /** `--since`: only lines newer than this many milliseconds. */
  sinceMs?: number;
  /** `--grep`: only lines containing this text (case-sensitive, not a regex). */
  grep?: string;
  /** `--previous`: the container's previous instance (the one that crashed). */
  previous: boolean;
}

/** `--since` at most a week: Loki and the kubelet would serve more, but Slack shows a few dozen lines. */
export const MAX_SINCE_MS = 7 * 24 * 3_600_000;
const MAX_GREP_CHARS = 200;

const KINDS: Readonly<Record<string, LogsKind>> = {
  pod: 'pod',
  pods: 'pod',
  po: 'pod',
  deployment: 'deployment',
  deployments: 'deployment',
  deploy: 'deployment',
  statefulset: 'statefulset',
  statefulsets: 'statefulset',
  sts: 'statefulset',
  daemonset: 'daemonset',
  daemonsets: 'daemonset',
  ds: 'daemonset',
};

const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
// Pods and workloads: DNS-1123 subdomains.
const OBJECT_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const CONTAINER = NAMESPACE;

/**
 * `<namespace>/<pod|deployment>` or `<namespace>/<kind>/<name>`, or kubectl's
 * `-n <namespace> [<kind>/]<name>`; options anywhere: `-c`/`--container`, `--since`, `--grep`,
 * `-p`/`--previous` (`--flag=value` too).
 */
export function parseLogsArgs(words: readonly string[]): LogsArgs | { error: string } {
  const positional: string[] = [];
  const options: { namespace?: string; container?: string; since?: string; grep?: string } = {};
  let previous = false;
  for (let i = 0; i < words.length; i++) {
    const word = words[i] ?? '';
    if (word === '-p' || word === '--previous') {
      previous = true;
      continue;
    }
    const optionWord = word.split('=', 1)[0] ?? '';
    const option = Object.hasOwn(OPTIONS, optionWord) ? OPTIONS[optionWord] : undefined;
    if (option === undefined) {
      if (word.startsWith('-')) return { error: `unknown option \`${word}\`` };
      positional.push(word);
      continue;
    }
    const inline = word.includes('=') ? word.slice(word.indexOf('=') + 1) : undefined;
    const value = inline ?? words[++i];
    if (value === undefined || value === '') return { error: `\`${word.split('=', 1)[0]}\` needs ${option.what}` };
    if (options[option.key] !== undefined) return { error: `give \`${word.split('=', 1)[0]}\` once` };
    options[option.key] = value;
  }

  if (positional.length === 0) return { error: 'needs what to read: `<namespace>/<pod or deployment>`' };
  if (positional.length > 1) return { error: `takes one pod or workload, got \`${positional.join(' ')}\`` };
  const target = parseTarget(positional[0] ?? '', options.namespace);
  if ('error' in target) return target;

  const args: LogsArgs = { ...target, previous };
  if (options.container !== undefined) {
    if (!CONTAINER.test(options.container)) return { error: `\`${options.container}\` is not a container name` };
    args.container = options.container;
  }
  if (options.since !== undefined) {
    const ms = parseDuration(options.since);
    if (ms === undefined) return { error: `\`--since ${options.since}\` is not a duration: write e.g. 30s, 15m, 2h, 1h30m or 1d` };
    if (ms === 0 || ms > MAX_SINCE_MS) return { error: '`--since` must be more than 0s and at most 7d' };
    args.sinceMs = ms;
  }
  if (options.grep !== undefined) {
    if (options.grep.length > MAX_GREP_CHARS) return { error: `\`--grep\` text is at most ${MAX_GREP_CHARS} characters` };
    if (/[\r\n]/.test(options.grep)) return { error: '`--grep` text must be on one line' };
    args.grep = options.grep;
  }
  return args;
}

const OPTIONS: Readonly<Record<string, { key: 'namespace' | 'container' | 'since' | 'grep'; what: string }>> = {
  '-n': { key: 'namespace', what: 'a namespace' },
  '--namespace': { key: 'namespace', what: 'a namespace' },
  '-c': { key: 'container', what: 'a container name' },
  '--container': { key: 'container', what: 'a container name' },
  '--since': { key: 'since', what: 'a duration such as 15m' },
  '--grep': { key: 'grep', what: 'the text to look for' },
};

function parseTarget(text: string, flagNamespace: string | undefined): Pick<LogsArgs, 'namespace' | 'kind' | 'name'> | { error: string } {
  const parts = text.split('/');
  let namespace: string | undefined;
  let kindWord: string | undefined;
  let name: string | undefined;
  if (flagNamespace !== undefined) {
    // kubectl's form: `-n shop cart-1` or `-n shop deployment/cart`.
    if (parts.length > 2) return { error: `with \`-n\`, name the object as \`<name>\` or \`<kind>/<name>\`, not \`${text}\`` };
    namespace = flagNamespace;
    [kindWord, name] = parts.length === 2 ? parts : [undefined, parts[0]];
  } else if (parts.length === 2) {
    [namespace, name] = parts;
  } else if (parts.length === 3) {
    [namespace, kindWord, name] = parts;
  } else {
    return { error: `\`${text}\` is not \`<namespace>/<name>\` or \`<namespace>/<kind>/<name>\`` };
  }
  if (namespace === undefined || !NAMESPACE.test(namespace)) return { error: `\`${namespace ?? ''}\` is not a namespace name` };
  let kind: LogsKind | undefined;
  if (kindWord !== undefined) {
    const word = kindWord.toLowerCase();
    // Own keys only: `constructor` or `__proto__` must not find Object's properties.
    kind = Object.hasOwn(KINDS, word) ? KINDS[word] : undefined;
    if (kind === undefined) return { error: `\`${kindWord}\` is not a kind logs can be read from: pod, deployment, statefulset (sts) or daemonset (ds)` };
  }
  if (name === undefined || !OBJECT_NAME.test(name)) return { error: `\`${name ?? ''}\` is not a pod or workload name` };
  return { namespace, ...(kind === undefined ? {} : { kind }), name };
}
