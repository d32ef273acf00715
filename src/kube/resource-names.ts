/**
 * Resource names as people type them (`deploy`, `deployments.apps`, `deployments/scale`,
 * `silences.lookout.dev`) → SubjectAccessReview attributes. kubectl resolves names through the
 * API server's discovery; Lookout uses this static table of built-in resources instead, so a
 * review never depends on an extra round trip, and asks for an explicit group for anything else
 * (custom resources: `certificates.cert-manager.io`). The table is listed in docs/commands.md.
 */

/** Lookout's own API group: virtual resources for actions that are not Kubernetes writes. */
export const LOOKOUT_GROUP = 'lookout.dev';

interface KnownResource {
  group: string;
  /** kubectl's short names. */
  short?: readonly string[];
}

/** Plural resource name → API group and short names. */
export const KNOWN_RESOURCES: Readonly<Record<string, KnownResource>> = {
  // core ("")
  pods: { group: '', short: ['po'] },
  services: { group: '', short: ['svc'] },
  configmaps: { group: '', short: ['cm'] },
  secrets: { group: '' },
  namespaces: { group: '', short: ['ns'] },
  nodes: { group: '', short: ['no'] },
  persistentvolumeclaims: { group: '', short: ['pvc'] },
  persistentvolumes: { group: '', short: ['pv'] },
  serviceaccounts: { group: '', short: ['sa'] },
  endpoints: { group: '', short: ['ep'] },
  // kubectl's `events` is the core group's; events.k8s.io's need the explicit group.
  events: { group: '', short: ['ev'] },
  replicationcontrollers: { group: '', short: ['rc'] },
  resourcequotas: { group: '', short: ['quota'] },
  limitranges: { group: '', short: ['limits'] },
  podtemplates: { group: '' },
  // apps
  deployments: { group: 'apps', short: ['deploy'] },
  statefulsets: { group: 'apps', short: ['sts'] },
  daemonsets: { group: 'apps', short: ['ds'] },
  replicasets: { group: 'apps', short: ['rs'] },
  controllerrevisions: { group: 'apps' },
  // batch, autoscaling, policy, networking
  jobs: { group: 'batch' },
  cronjobs: { group: 'batch', short: ['cj'] },
  horizontalpodautoscalers: { group: 'autoscaling', short: ['hpa'] },
  poddisruptionbudgets: { group: 'policy', short: ['pdb'] },
  ingresses: { group: 'networking.k8s.io', short: ['ing'] },
  ingressclasses: { group: 'networking.k8s.io' },
  networkpolicies: { group: 'networking.k8s.io', short: ['netpol'] },
  endpointslices: { group: 'discovery.k8s.io' },
  // access control and cluster configuration
  roles: { group: 'rbac.authorization.k8s.io' },
  rolebindings: { group: 'rbac.authorization.k8s.io' },
  clusterroles: { group: 'rbac.authorization.k8s.io' },
  clusterrolebindings: { group: 'rbac.authorization.k8s.io' },
  subjectaccessreviews: { group: 'authorization.k8s.io' },
  certificatesigningrequests: { group: 'certificates.k8s.io', short: ['csr'] },
  storageclasses: { group: 'storage.k8s.io', short: ['sc'] },
  priorityclasses: { group: 'scheduling.k8s.io', short: ['pc'] },
  leases: { group: 'coordination.k8s.io' },
  customresourcedefinitions: { group: 'apiextensions.k8s.io', short: ['crd', 'crds'] },
  // Lookout's virtual resources (docs/rbac.md): create silences, rotate vaultsecrets (the secret
  // path as name), renew certificates, acknowledge alerts. A bare `certificates` is Lookout's;
  // cert-manager's are `certificates.cert-manager.io`.
  silences: { group: LOOKOUT_GROUP },
  vaultsecrets: { group: LOOKOUT_GROUP },
  certificates: { group: LOOKOUT_GROUP, short: ['certs', 'cert'] },
  alerts: { group: LOOKOUT_GROUP },
};

/** Every accepted spelling (plural, singular, short name) → plural. */
const ALIASES: ReadonlyMap<string, string> = new Map(
  Object.entries(KNOWN_RESOURCES).flatMap(([plural, known]) => [
    [plural, plural],
    [singularOf(plural), plural],
    ...(known.short ?? []).map((short): [string, string] => [short, plural]),
  ]),
);

function singularOf(plural: string): string {
  if (plural.endsWith('ies')) return `${plural.slice(0, -3)}y`;
  if (plural.endsWith('sses')) return plural.slice(0, -2);
  return plural.endsWith('s') ? plural.slice(0, -1) : plural;
}

export interface ParsedResource {
  resource: string;
  group: string;
  subresource?: string;
}

const RESOURCE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const GROUP = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const SUBRESOURCE = /^[a-z]+$/;

/**
 * `resource[.group][/subresource]` → attributes.
 * @returns a message saying what is wrong, for the usage reply, when it cannot be read.
 */
export function parseResource(input: string): ParsedResource | { error: string } {
  const [named = '', subresource, ...extra] = input.toLowerCase().split('/');
  if (extra.length > 0 || subresource === '') return { error: `\`${input}\` is not a resource: write \`resource[.group][/subresource]\`` };
  if (subresource !== undefined && !SUBRESOURCE.test(subresource)) return { error: `\`${subresource}\` is not a subresource name` };
  const dot = named.indexOf('.');
  const name = dot === -1 ? named : named.slice(0, dot);
  const explicitGroup = dot === -1 ? undefined : named.slice(dot + 1);
  if (!RESOURCE.test(name)) return { error: `\`${input}\` is not a resource name` };
  if (explicitGroup !== undefined && !GROUP.test(explicitGroup)) return { error: `\`${explicitGroup}\` is not an API group name` };

  const plural = ALIASES.get(name);
  const known = plural === undefined ? undefined : KNOWN_RESOURCES[plural];
  let resolved: { resource: string; group: string };
  if (explicitGroup === undefined) {
    if (plural === undefined || known === undefined) {
      return { error: `Lookout does not know the API group of \`${name}\`: write it with its group, e.g. \`${name}.example.com\`` };
    }
    resolved = { resource: plural, group: known.group };
  } else {
    // `deploy.apps` means deployments; `certificates.cert-manager.io` is not Lookout's certificates.
    resolved = plural !== undefined && known?.group === explicitGroup ? { resource: plural, group: explicitGroup } : { resource: name, group: explicitGroup };
  }
  return { ...resolved, ...(subresource === undefined ? {} : { subresource }) };
}
