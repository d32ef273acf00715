import { parseWorkloadRef, type WorkloadRef } from './workload-ref.ts';

/**
 * The words of `/ops scale` and `/ops restart`, kubectl-style: positional words and `--flag value`
 * or `--flag=value` options (`-n` for the namespace). Only the options a command names are
 * accepted; each at most once.
 */
export interface WorkloadWords {
  positional: string[];
  options: Map<string, string>;
}

export function splitOptions(words: readonly string[], known: readonly string[]): WorkloadWords | { error: string } {
  const positional: string[] = [];
  const options = new Map<string, string>();
  for (let i = 0; i < words.length; i++) {
    const word = words[i] ?? '';
    if (!word.startsWith('-') || /^-\d/.test(word)) {
      positional.push(word);
      continue;
    }
    const equals = word.indexOf('=');
    const rawName = equals === -1 ? word : word.slice(0, equals);
    const name = rawName === '-n' ? '--namespace' : rawName;
    if (!known.includes(name)) return { error: `unknown option \`${rawName}\`` };
    const value = equals === -1 ? words[++i] : word.slice(equals + 1);
    if (value === undefined || value === '') return { error: `\`${rawName}\` needs a value` };
    if (options.has(name)) return { error: `give \`${name}\` once` };
    options.set(name, value);
  }
  return { positional, options };
}

/** A whole number ≥ 0 as typed, or undefined. */
export function count(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,6}$/.test(text)) return undefined;
  return Number(text);
}

/**
 * One Deployment, StatefulSet or DaemonSet and the options named: the words of `/ops restart`,
 * `/ops status` and `/ops history` (`shop/cart`, `shop/statefulset/db`, `-n shop daemonset/agent`).
 */
export function parseOneWorkload(words: readonly string[], options: readonly string[] = []): { target: WorkloadRef; options: Map<string, string> } | { error: string } {
  const split = splitOptions(words, ['--namespace', ...options]);
  if ('error' in split) return split;
  const [workload, ...extra] = split.positional;
  if (workload === undefined) return { error: 'needs a workload, e.g. `shop/cart`' };
  if (extra.length > 0) return { error: `unexpected \`${extra.join(' ')}\`` };
  const target = parseWorkloadRef(workload, split.options.get('--namespace'), ['Deployment', 'StatefulSet', 'DaemonSet']);
  return 'error' in target ? target : { target, options: split.options };
}

/** Words → the one workload, or what is wrong (`/ops restart`, `/ops status`). */
export function parseWorkloadTarget(words: readonly string[]): { target: WorkloadRef } | { error: string } {
  const parsed = parseOneWorkload(words);
  return 'error' in parsed ? parsed : { target: parsed.target };
}
