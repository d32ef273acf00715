import { KubeCredentialsError, type KubeCredentials } from './kube-credentials.ts';

/**
 * A kubeconfig whose user needs what only @kubernetes/client-node implements: exec plugins
 * (aws, gke-gcloud-auth-plugin, kubelogin…), auth-provider (azure, gcp, oidc), basic auth,
 * impersonation. The library is imported here and only here, lazily: even its KubeConfig module
 * loads the whole generated API (~90 MiB), which the common credentials never pay for.
 */
export async function libraryCredentials(file: string): Promise<KubeCredentials> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromFile(file);
  } catch (error) {
    // Not the library's message: a YAML error quotes the file.
    throw new KubeCredentialsError(`kubeconfig ${file} cannot be loaded by @kubernetes/client-node: ${(error as NodeJS.ErrnoException).code ?? 'not a valid kubeconfig'}`, { cause: error });
  }
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new KubeCredentialsError(`kubeconfig ${file} has no current cluster`);
  let server: URL;
  try {
    server = new URL(cluster.server);
  } catch {
    throw new KubeCredentialsError(`the server of cluster "${cluster.name}" in kubeconfig ${file} is not a URL`);
  }
  return { server, apply: (options) => kubeConfig.applyToHTTPSOptions(options) };
}
