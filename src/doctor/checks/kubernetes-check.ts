import type { KubeHttp } from '../../kube/kube-http.ts';
import { KubeApiError } from '../../kube/kube-http.ts';
import { describePermission, type ResourceAttributes } from '../../kube/access-review.ts';
import { failed, passed, type DoctorCheck } from '../doctor-check.ts';

/**
 * What Lookout itself must be allowed (manifests/base/rbac.yaml): the gate's reviews, the audit
 * Events, and the read-only set alert enrichment uses. Impersonation is added per identity name.
 */
export const LOOKOUT_PERMISSIONS: readonly ResourceAttributes[] = [
  { verb: 'create', group: 'authorization.k8s.io', resource: 'subjectaccessreviews' },
  { verb: 'create', group: 'events.k8s.io', resource: 'events' },
  { verb: 'get', group: '', resource: 'pods' },
  { verb: 'list', group: '', resource: 'pods' },
  { verb: 'get', group: '', resource: 'nodes' },
  { verb: 'list', group: '', resource: 'events' },
  { verb: 'get', group: 'apps', resource: 'replicasets' },
  { verb: 'get', group: 'apps', resource: 'deployments' },
  { verb: 'get', group: 'apps', resource: 'statefulsets' },
  { verb: 'get', group: 'apps', resource: 'daemonsets' },
  { verb: 'list', group: 'autoscaling', resource: 'horizontalpodautoscalers' },
];

export interface KubernetesCheckOptions {
  kube: Pick<KubeHttp, 'request'>;
  /** Users and groups Lookout must be able to impersonate (from the identity rules). */
  impersonates: { users: readonly string[]; groups: readonly string[] };
}

/**
 * The Kubernetes API: reachable, and Lookout's own permissions, each asked with a
 * SelfSubjectAccessReview (every authenticated identity may ask about itself).
 */
export function kubernetesCheck({ kube, impersonates }: KubernetesCheckOptions): DoctorCheck {
  const wanted: ResourceAttributes[] = [
    ...LOOKOUT_PERMISSIONS,
    ...impersonates.users.map((name) => ({ verb: 'impersonate', group: '', resource: 'users', name })),
    ...impersonates.groups.map((name) => ({ verb: 'impersonate', group: '', resource: 'groups', name })),
  ];
  return {
    name: 'Kubernetes API',
    async run(signal) {
      let version: string;
      try {
        version = (await kube.request<{ gitVersion?: string }>({ method: 'GET', path: '/version', signal })).gitVersion ?? 'unknown version';
      } catch (error) {
        const status = error instanceof KubeApiError ? ` (HTTP ${error.status})` : '';
        return failed(`not reachable${status}`, "Check Lookout's Kubernetes credentials (in-cluster ServiceAccount or KUBECONFIG) and that the API server is reachable from Lookout's pod.");
      }
      const denied: ResourceAttributes[] = [];
      await Promise.all(
        wanted.map(async (attributes) => {
          const review = await kube.request<{ status?: { allowed?: boolean } }>({
            method: 'POST',
            path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
            body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: attributes } },
            signal,
          });
          if (review.status?.allowed !== true) denied.push(attributes);
        }),
      );
      if (denied.length > 0) {
        const missing = wanted.filter((attributes) => denied.includes(attributes)).map(describePermission);
        return failed(`${version} reachable, but Lookout lacks ${missing.join(', ')}`, "Apply manifests/base/rbac.yaml (ClusterRoles lookout and lookout-impersonate, with every mapped user and group in the impersonation rule's resourceNames) and bind them to Lookout's ServiceAccount (docs/rbac.md).");
      }
      return passed(`${version} reachable · all ${wanted.length} permissions Lookout needs are granted`);
    },
  };
}
