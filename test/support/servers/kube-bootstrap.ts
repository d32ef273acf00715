import { existsSync, readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { waitFor } from '../free-port.ts';
import type { KubeHttp } from '../../../src/kube/kube-http.ts';
import { CERTIFICATE_CRD } from './certificate-crd.ts';
import { EXTERNAL_SECRETS_CRDS } from './external-secrets-crd.ts';
import { SERVICE_ACCOUNT_ISSUER } from './kube-apiserver.ts';
import { createOrReplace, ensureObject, type KubeObject } from './kube-objects.ts';

/** Namespaces every run has: Lookout's own, and two for tests to put workloads in. */
export const TEST_NAMESPACES = ['lookout', 'shop', 'payments'] as const;

/** The bot's ServiceAccount (as in manifests/serviceaccount.yaml). */
export const BOT_SERVICE_ACCOUNT = { namespace: 'lookout', name: 'lookout' } as const;

/** The ServiceAccount whose token OpenBao uses for TokenReview (bound to system:auth-delegator). */
export const TOKEN_REVIEWER = { namespace: 'default', name: 'openbao-token-reviewer' } as const;

export interface BootstrapOptions {
  /** As the admin (system:masters). */
  kube: KubeHttp;
  /** manifests/base/rbac.yaml; applied if it exists. */
  rbacFile: string;
}

export interface Bootstrapped {
  /** TokenRequest token of the bot's ServiceAccount. */
  botToken: string;
  /** TokenRequest token of the TokenReview ServiceAccount. */
  reviewerToken: string;
  /** Objects applied from the RBAC file (empty if it does not exist yet). */
  rbacObjects: string[];
}

/** Token lifetime for the bot and the reviewer: longer than any run, including `servers up` by hand. */
const TOKEN_SECONDS = 7 * 24 * 3600;

/**
 * Puts into a bare apiserver what the tests expect of a cluster: namespaces with their
 * `default` ServiceAccount (there is no controller-manager to make them), the bot's
 * ServiceAccount and RBAC from manifests/, the Certificate and External Secrets CRDs, and the tokens the bot and
 * OpenBao use.
 */
export async function bootstrapCluster({ kube, rbacFile }: BootstrapOptions): Promise<Bootstrapped> {
  await Promise.all(TEST_NAMESPACES.map((name) => ensureObject(kube, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } })));
  const serviceAccount = (namespace: string, name: string): KubeObject => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } });
  await Promise.all([
    ...['default', ...TEST_NAMESPACES].map((namespace) => ensureObject(kube, serviceAccount(namespace, 'default'))),
    ensureObject(kube, serviceAccount(BOT_SERVICE_ACCOUNT.namespace, BOT_SERVICE_ACCOUNT.name)),
    ensureObject(kube, serviceAccount(TOKEN_REVIEWER.namespace, TOKEN_REVIEWER.name)),
    ensureObject(kube, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'openbao-token-reviewer' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
      subjects: [{ kind: 'ServiceAccount', ...TOKEN_REVIEWER }],
    }),
    ...CRDS.map((crd) => createOrReplace(kube, crd as unknown as KubeObject)),
  ]);
  const rbacObjects = await applyRbac(kube, rbacFile);
  await aggregateClusterRoles(kube);
  await Promise.all(CRDS.map((crd) => waitForCrd(kube, crd)));
  const [botToken, reviewerToken] = await Promise.all([requestToken(kube, BOT_SERVICE_ACCOUNT), requestToken(kube, TOKEN_REVIEWER)]);
  return { botToken, reviewerToken, rbacObjects };
}

/** A service-account token from the TokenRequest API, for the apiserver's default audience. */
export async function requestToken(kube: KubeHttp, account: { namespace: string; name: string }, expirationSeconds = TOKEN_SECONDS): Promise<string> {
  const response = await kube.request<{ status?: { token?: string } }>({
    method: 'POST',
    path: `/api/v1/namespaces/${account.namespace}/serviceaccounts/${account.name}/token`,
    body: {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { audiences: [SERVICE_ACCOUNT_ISSUER], expirationSeconds },
    },
  });
  const token = response.status?.token;
  if (!token) throw new Error(`TokenRequest for ${account.namespace}/${account.name} returned no token`);
  return token;
}

/**
 * Applies every object of Lookout's RBAC manifest. Like the kustomization (namespace:
 * lookout), namespaced objects and ServiceAccount subjects without a namespace go to `lookout`.
 */
async function applyRbac(kube: KubeHttp, file: string): Promise<string[]> {
  if (!existsSync(file)) return [];
  const documents = parseAllDocuments(readFileSync(file, 'utf8'));
  const objects: KubeObject[] = [];
  for (const document of documents) {
    if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]?.message ?? 'invalid YAML'}`);
    const object = document.toJS() as KubeObject | null;
    if (object) objects.push(withLookoutNamespace(object));
  }
  const applied: string[] = [];
  for (const object of objects) {
    await createOrReplace(kube, object, BOT_SERVICE_ACCOUNT.namespace);
    applied.push(`${object.kind}/${object.metadata.name}`);
  }
  return applied;
}

function withLookoutNamespace(object: KubeObject): KubeObject {
  const subjects = object.subjects as { kind?: string; namespace?: string }[] | undefined;
  if (!Array.isArray(subjects)) return object;
  return {
    ...object,
    subjects: subjects.map((s) => (s.kind === 'ServiceAccount' && !s.namespace ? { ...s, namespace: BOT_SERVICE_ACCOUNT.namespace } : s)),
  };
}

interface ClusterRole extends KubeObject {
  metadata: KubeObject['metadata'] & { labels?: Record<string, string> };
  rules?: unknown[] | null;
  aggregationRule?: { clusterRoleSelectors?: { matchLabels?: Record<string, string> }[] };
}

/**
 * Fills the aggregated ClusterRoles (admin, edit, view and any from manifests/) once, as the
 * controller-manager's aggregation controller would: without it, `view` has no rules at all,
 * and a RoleBinding to it grants nothing. Roles created later are not aggregated.
 */
async function aggregateClusterRoles(kube: KubeHttp): Promise<void> {
  const path = '/apis/rbac.authorization.k8s.io/v1/clusterroles';
  const { items } = await kube.request<{ items: ClusterRole[] }>({ method: 'GET', path });
  const matches = (role: ClusterRole, selector: { matchLabels?: Record<string, string> }) =>
    Object.entries(selector.matchLabels ?? {}).every(([key, value]) => role.metadata.labels?.[key] === value);
  const aggregated = items.filter((role) => role.aggregationRule?.clusterRoleSelectors?.length);
  // An aggregated role can itself be selected by another (edit into admin): iterate to a fixed point.
  for (let round = 0; round < 3; round++) {
    for (const role of aggregated) {
      const selectors = role.aggregationRule?.clusterRoleSelectors ?? [];
      const rules: unknown[] = [];
      for (const source of items) {
        if (source === role || !selectors.some((selector) => matches(source, selector))) continue;
        for (const rule of source.rules ?? []) if (!rules.some((r) => JSON.stringify(r) === JSON.stringify(rule))) rules.push(rule);
      }
      role.rules = rules;
    }
  }
  await Promise.all(
    aggregated.map((role) =>
      kube.request({ method: 'PUT', path: `${path}/${role.metadata.name}`, body: { ...role, apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole' } }),
    ),
  );
}

interface Crd {
  metadata: { name: string };
  spec: { group: string; scope: string; names: { kind: string; plural: string }; versions: readonly { name: string }[] };
}

/** The custom resources every run has: cert-manager's Certificate, External Secrets' ExternalSecret and stores. */
const CRDS: readonly Crd[] = [CERTIFICATE_CRD, ...EXTERNAL_SECRETS_CRDS];

/** Established, and listable: a create right after Established can still 404 for a moment. */
async function waitForCrd(kube: KubeHttp, crd: Crd): Promise<void> {
  const { group, scope, names, versions } = crd.spec;
  const list = `/apis/${group}/${versions[0]?.name ?? 'v1'}${scope === 'Namespaced' ? '/namespaces/default' : ''}/${names.plural}`;
  await waitFor(
    `the ${names.kind} CRD to be established`,
    async () => {
      const found = await kube.request<{ status?: { conditions?: { type: string; status: string }[] } }>({
        method: 'GET',
        path: `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`,
      });
      if (!found.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return undefined;
      await kube.request({ method: 'GET', path: list });
      return true;
    },
    30_000,
    100,
  );
}
