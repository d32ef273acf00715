import type { ObjectReference } from '../access/authorization.ts';

/** The workload kinds `/ops scale` and `/ops restart` act on. */
export type ActionableKind = 'Deployment' | 'StatefulSet' | 'DaemonSet';

/** A workload as a person names it: `shop/cart`, `shop/statefulset/db`, `-n shop deployment/cart`. */
export interface WorkloadRef {
  kind: ActionableKind;
  namespace: string;
  name: string;
}

const RESOURCE_OF: Record<ActionableKind, string> = { Deployment: 'deployments', StatefulSet: 'statefulsets', DaemonSet: 'daemonsets' };

/** Every spelling kubectl accepts for the kind, as the middle of `<ns>/<kind>/<name>` or before `/<name>`. */
const KIND_WORDS: ReadonlyMap<string, ActionableKind> = new Map([
  ['deployment', 'Deployment'],
  ['deployments', 'Deployment'],
  ['deploy', 'Deployment'],
  ['deployment.apps', 'Deployment'],
  ['deployments.apps', 'Deployment'],
  ['statefulset', 'StatefulSet'],
  ['statefulsets', 'StatefulSet'],
  ['sts', 'StatefulSet'],
  ['statefulset.apps', 'StatefulSet'],
  ['statefulsets.apps', 'StatefulSet'],
  ['daemonset', 'DaemonSet'],
  ['daemonsets', 'DaemonSet'],
  ['ds', 'DaemonSet'],
  ['daemonset.apps', 'DaemonSet'],
  ['daemonsets.apps', 'DaemonSet'],
]);

const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** DNS-1123 subdomain: Deployment, StatefulSet and DaemonSet names. */
const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/**
 * Reads a workload from the words of a command: either Lookout's own `<namespace>/<name>` (a
 * Deployment), `<namespace>/<kind>/<name>`, or kubectl's `<kind>/<name>` with `-n <namespace>`
 * (given separately as `namespaceFlag`). `allowed` lists the kinds the command takes.
 * @returns the reference, or what is wrong with it.
 */
export function parseWorkloadRef(word: string, namespaceFlag: string | undefined, allowed: readonly ActionableKind[]): WorkloadRef | { error: string } {
  const parts = word.split('/');
  let namespace: string | undefined;
  let kindWord: string | undefined;
  let name: string | undefined;
  if (namespaceFlag !== undefined) {
    // kubectl's form: the namespace comes from -n; the word is `<kind>/<name>` (or a bare Deployment name).
    if (parts.length === 1) [name] = parts;
    else if (parts.length === 2) [kindWord, name] = parts;
    else return { error: `with \`-n\`, write the workload as \`<kind>/<name>\`, not \`${word}\`` };
    namespace = namespaceFlag;
  } else if (parts.length === 2) {
    [namespace, name] = parts;
  } else if (parts.length === 3) {
    [namespace, kindWord, name] = parts;
  } else {
    return { error: `\`${word}\` is not a workload: write \`<namespace>/<name>\`, \`<namespace>/statefulset/<name>\`, or \`-n <namespace> deployment/<name>\`` };
  }
  const kind = kindWord === undefined ? 'Deployment' : KIND_WORDS.get(kindWord.toLowerCase());
  if (kind === undefined || !allowed.includes(kind)) {
    return { error: `\`${kindWord ?? ''}\` is not a kind this command acts on (${allowed.map((k) => k.toLowerCase()).join(', ')})` };
  }
  if (namespace === undefined || !NAMESPACE.test(namespace)) return { error: `\`${namespace ?? ''}\` is not a namespace name` };
  if (name === undefined || !NAME.test(name)) return { error: `\`${name ?? ''}\` is not a ${kind} name` };
  return { kind, namespace, name };
}

/** `deployments`, `statefulsets`, `daemonsets`. */
export function resourceOf(kind: ActionableKind): string {
  return RESOURCE_OF[kind];
}

/** The object's API path, e.g. /apis/apps/v1/namespaces/shop/deployments/cart. */
export function workloadPath(ref: WorkloadRef): string {
  return `/apis/apps/v1/namespaces/${ref.namespace}/${resourceOf(ref.kind)}/${ref.name}`;
}

/** `shop/cart` for a Deployment, `shop/statefulset/db` otherwise: how people write it back. */
export function describeWorkload(ref: WorkloadRef): string {
  return ref.kind === 'Deployment' ? `${ref.namespace}/${ref.name}` : `${ref.namespace}/${ref.kind.toLowerCase()}/${ref.name}`;
}

/** Where the audit Event goes. */
export function workloadObject(ref: WorkloadRef): ObjectReference {
  return { apiVersion: 'apps/v1', kind: ref.kind, namespace: ref.namespace, name: ref.name };
}
