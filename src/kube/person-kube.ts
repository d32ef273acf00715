import type { PersonKube, PersonKubeRequest } from '../../commands/command.ts';
import type { KubeIdentity } from '../identity/resolve-identity.ts';
import type { KubeHttp } from './kube-http.ts';

export interface PersonKubeClientOptions {
  /** Lookout's own client; every call through this port adds impersonation headers. */
  kube: Pick<KubeHttp, 'request'>;
  /**
   * The person's identity. Asked on each call (the resolver caches it); throws — for an
   * unmapped person a Forbidden — so no call ever goes out as the bot instead.
   */
  identity: () => Promise<KubeIdentity>;
}

/**
 * Kubernetes as one person: each request impersonates their username and every one of their
 * groups, so the API server itself enforces RBAC for them.
 */
export class PersonKubeClient implements PersonKube {
  private readonly kube: Pick<KubeHttp, 'request'>;
  private readonly identity: () => Promise<KubeIdentity>;

  constructor({ kube, identity }: PersonKubeClientOptions) {
    this.kube = kube;
    this.identity = identity;
  }

  async request<T>(request: PersonKubeRequest): Promise<T> {
    const { username, groups } = await this.identity();
    // Spread first, impersonation last: a stray `impersonate` smuggled in by a caller cannot win.
    return this.kube.request<T>({ ...request, impersonate: { username, groups } });
  }
}
