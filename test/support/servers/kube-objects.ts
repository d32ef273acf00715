import { KubeApiError, type KubeHttp } from '../../../src/kube/kube-http.ts';

/** The part of a Kubernetes object the harness looks at. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** Where each kind the harness applies lives in the API. */
const KINDS: Record<string, { base: string; plural: string; namespaced: boolean }> = {
  'v1/Namespace': { base: '/api/v1', plural: 'namespaces', namespaced: false },
  'v1/ServiceAccount': { base: '/api/v1', plural: 'serviceaccounts', namespaced: true },
  'v1/Secret': { base: '/api/v1', plural: 'secrets', namespaced: true },
  'v1/ConfigMap': { base: '/api/v1', plural: 'configmaps', namespaced: true },
  'rbac.authorization.k8s.io/v1/ClusterRole': { base: '/apis/rbac.authorization.k8s.io/v1', plural: 'clusterroles', namespaced: false },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': { base: '/apis/rbac.authorization.k8s.io/v1', plural: 'clusterrolebindings', namespaced: false },
  'rbac.authorization.k8s.io/v1/Role': { base: '/apis/rbac.authorization.k8s.io/v1', plural: 'roles', namespaced: true },
  'rbac.authorization.k8s.io/v1/RoleBinding': { base: '/apis/rbac.authorization.k8s.io/v1', plural: 'rolebindings', namespaced: true },
  'apiextensions.k8s.io/v1/CustomResourceDefinition': { base: '/apis/apiextensions.k8s.io/v1', plural: 'customresourcedefinitions', namespaced: false },
};

/** The object's collection path and its own path; namespaced objects without one go to `defaultNamespace`. */
export function objectPaths(object: KubeObject, defaultNamespace = 'default'): { collection: string; item: string } {
  const kind = KINDS[`${object.apiVersion}/${object.kind}`];
  if (!kind) throw new Error(`the test harness cannot apply ${object.apiVersion} ${object.kind} (known: ${Object.keys(KINDS).join(', ')})`);
  const namespace = object.metadata.namespace ?? defaultNamespace;
  const collection = kind.namespaced ? `${kind.base}/namespaces/${namespace}/${kind.plural}` : `${kind.base}/${kind.plural}`;
  return { collection, item: `${collection}/${encodeURIComponent(object.metadata.name)}` };
}

/** Creates the object, or replaces it if it exists (what `kubectl apply` amounts to for a fresh cluster). */
export async function createOrReplace<T extends KubeObject>(kube: KubeHttp, object: T, defaultNamespace = 'default'): Promise<T> {
  const { collection, item } = objectPaths(object, defaultNamespace);
  try {
    return await kube.request<T>({ method: 'POST', path: collection, body: object });
  } catch (error) {
    if (!(error instanceof KubeApiError) || error.reason !== 'AlreadyExists') throw error;
  }
  const current = await kube.request<KubeObject>({ method: 'GET', path: item });
  const replacement = { ...object, metadata: { ...object.metadata, resourceVersion: current.metadata.resourceVersion } };
  return kube.request<T>({ method: 'PUT', path: item, body: replacement });
}

/** Creates the object unless it already exists. */
export async function ensureObject(kube: KubeHttp, object: KubeObject): Promise<void> {
  const { collection } = objectPaths(object);
  try {
    await kube.request({ method: 'POST', path: collection, body: object });
  } catch (error) {
    if (!(error instanceof KubeApiError) || error.reason !== 'AlreadyExists') throw error;
  }
}
