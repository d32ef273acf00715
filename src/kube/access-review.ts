import type { Impersonation, KubeHttp } from './kube-http.ts';

/** What an action touches, in SubjectAccessReview's terms. */
export interface ResourceAttributes {
  verb: string;
  /** API group; '' for the core group, 'lookout.dev' for Lookout's virtual resources. */
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export interface AccessDecision {
  allowed: boolean;
  /** RBAC's explanation, for logs (not shown to people). */
  reason: string;
}

/**
 * Asks the API server whether an identity may do something (SubjectAccessReview, made with
 * Lookout's own credentials). Impersonated requests are also members of system:authenticated,
 * so the review includes it: the answer must match what the real request would get.
 */
export async function reviewAccess(kube: Pick<KubeHttp, 'request'>, identity: Impersonation, attributes: ResourceAttributes): Promise<AccessDecision> {
  const review = await kube.request<{ status?: { allowed?: boolean; denied?: boolean; reason?: string } }>({
    method: 'POST',
    path: '/apis/authorization.k8s.io/v1/subjectaccessreviews',
    body: {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: identity.username,
        groups: [...identity.groups, 'system:authenticated'],
        resourceAttributes: {
          verb: attributes.verb,
          group: attributes.group,
          resource: attributes.resource,
          ...(attributes.subresource ? { subresource: attributes.subresource } : {}),
          ...(attributes.namespace ? { namespace: attributes.namespace } : {}),
          ...(attributes.name ? { name: attributes.name } : {}),
        },
      },
    },
  });
  return { allowed: review.status?.allowed === true, reason: review.status?.reason ?? '' };
}

/** "patch deployments/scale in namespace shop" — the permission a denial names. */
export function describePermission(attributes: ResourceAttributes): string {
  const resource = attributes.subresource ? `${attributes.resource}/${attributes.subresource}` : attributes.resource;
  const qualified = attributes.group ? `${resource}.${attributes.group}` : resource;
  const named = attributes.name ? ` named ${attributes.name}` : '';
  const where = attributes.namespace ? ` in namespace ${attributes.namespace}` : ' cluster-wide';
  return `\`${attributes.verb}\` on \`${qualified}\`${named}${where}`;
}
