import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { KubeCredentials } from './kube-credentials.ts';
import { inClusterCredentials } from './kube-credentials-in-cluster.ts';
import { readKubeconfig } from './kube-credentials-kubeconfig.ts';
import { libraryCredentials } from './kube-credentials-library.ts';

export interface LoadKubeCredentialsOptions {
  /** Where the kubelet mounts the pod's service account; tests point it elsewhere. */
  serviceAccountDir?: string;
  /** Clock of the token and certificate files' re-reads. */
  now?: () => number;
}

/**
 * Lookout's own Kubernetes credentials: the pod's service account when running in a cluster,
 * otherwise the kubeconfig named by KUBECONFIG, otherwise ~/.kube/config if it exists. Of a
 * KUBECONFIG list (`a:b`), only the first file is read: Lookout needs one context, not kubectl's
 * merge. Without any, Kubernetes features (the RBAC gate, enrichment) are off and Lookout says so;
 * alerts still flow. Throws KubeCredentialsError, whose message is safe to print.
 *
 * Lookout reads the common kubeconfigs itself; only a user with an exec or auth-provider plugin
 * (or basic auth, impersonation) loads @kubernetes/client-node, whose import alone costs ~90 MiB.
 */
export async function loadKubeCredentials(env: Record<string, string | undefined>, { serviceAccountDir, now }: LoadKubeCredentialsOptions = {}): Promise<KubeCredentials | undefined> {
  if (env.KUBERNETES_SERVICE_HOST) return inClusterCredentials({ env, ...(serviceAccountDir === undefined ? {} : { serviceAccountDir }), ...(now === undefined ? {} : { now }) });
  const file = kubeconfigFile(env);
  if (file === undefined) return undefined;
  const read = readKubeconfig(file, now === undefined ? {} : { now });
  return read.kind === 'credentials' ? read.credentials : libraryCredentials(file);
}

function kubeconfigFile(env: Record<string, string | undefined>): string | undefined {
  const first = env.KUBECONFIG?.split(delimiter).find((path) => path !== '');
  if (first !== undefined) return first;
  if (!env.HOME) return undefined;
  const home = join(env.HOME, '.kube', 'config');
  return existsSync(home) ? home : undefined;
}
