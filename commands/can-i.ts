import { describePermission, type ResourceAttributes } from '../src/kube/access-review.ts';
import { parseResource } from '../src/kube/resource-names.ts';
import type { CommandDefinition } from './command.ts';
import { wordsArgs } from './words-args.ts';

const VERB = /^([a-z]+|\*)$/;
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
// Object names; Vault secret paths (rotate vaultsecrets) carry slashes.
const NAME = /^[A-Za-z0-9]([-A-Za-z0-9._:/]{0,251}[A-Za-z0-9])?$/;

/**
 * `<verb> <resource> [-n namespace] [name]` → review attributes, or why not. Flags may come
 * anywhere: `-n ns`, `--namespace ns`, `--namespace=ns`. No namespace means cluster-wide.
 */
export function parseCanI(words: readonly string[]): ResourceAttributes | { error: string } {
  const positional: string[] = [];
  let namespace: string | undefined;
  for (let i = 0; i < words.length; i++) {
    const word = words[i] ?? '';
    let value: string | undefined;
    if (word === '-n' || word === '--namespace') {
      value = words[++i];
      if (value === undefined) return { error: `\`${word}\` needs a namespace` };
    } else if (word.startsWith('--namespace=')) {
      value = word.slice('--namespace='.length);
    } else if (word.startsWith('-')) {
      return { error: `unknown option \`${word}\`` };
    } else {
      positional.push(word);
      continue;
    }
    if (namespace !== undefined) return { error: 'give the namespace once' };
    if (!NAMESPACE.test(value)) return { error: `\`${value}\` is not a namespace name` };
    namespace = value;
  }
  const [verb, resourceText, name, ...extra] = positional;
  if (verb === undefined || resourceText === undefined) return { error: 'needs a verb and a resource' };
  if (extra.length > 0) return { error: 'takes at most one object name' };
  if (!VERB.test(verb)) return { error: `\`${verb}\` is not a verb (get, list, create, patch, delete, rotate, …)` };
  if (name !== undefined && !NAME.test(name)) return { error: `\`${name}\` is not an object name` };
  const resource = parseResource(resourceText);
  if ('error' in resource) return resource;
  return { verb, ...resource, ...(namespace === undefined ? {} : { namespace }), ...(name === undefined ? {} : { name }) };
}

/**
 * `/ops can-i`: asks the API server whether the person's mapped identity may do something. It
 * answers rather than refuses, so it declares no `access`; no audit Event, the gate logs it.
 */
const canI: CommandDefinition<ResourceAttributes> = {
  name: 'can-i',
  summary: 'Check whether you may do something in Kubernetes (as your mapped identity)',
  usage: '<verb> <resource> [-n namespace] [name]',
  args: wordsArgs(parseCanI),
  async run({ args, access, log }) {
    const authorization = await access.authorize(args);
    log.info({ attributes: args, allowed: authorization.allowed, reason: authorization.allowed ? 'allowed' : authorization.reason }, 'can-i answered');
    if (authorization.allowed) return { text: `*yes* — \`${authorization.identity.username}\` may do ${describePermission(args)}.` };
    if (authorization.reason === 'unmapped') return { text: `*no* — ${authorization.message}` };
    if (!access.kubernetesConfigured) return { text: `*unknown* — ${authorization.message}` };
    return { text: `*no* — \`${authorization.identity.username}\` may not do ${describePermission(args)}.` };
  },
};

export default canI;
