import { KubeConfig } from '@kubernetes/client-node';

/**
 * Lookout's own Kubernetes credentials: the pod's service account when running in a cluster,
 * otherwise the kubeconfig named by KUBECONFIG. Without either, Kubernetes features (the RBAC
 * gate, enrichment) are off and Lookout says so; alerts still flow.
 */
export function loadKubeConfig(env: Record<string, string | undefined>): KubeConfig | undefined {
  const kubeConfig = new KubeConfig();
  if (env.KUBERNETES_SERVICE_HOST) {
    kubeConfig.loadFromCluster();
    return kubeConfig;
  }
  if (env.KUBECONFIG) {
    kubeConfig.loadFromFile(env.KUBECONFIG);
    return kubeConfig;
  }
  return undefined;
}
