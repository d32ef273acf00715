import { isIPv6 } from 'node:net';
import { join } from 'node:path';
import { FileMaterial, KubeCredentialsError, TlsCredentials, type KubeCredentials } from './kube-credentials.ts';
import { readSource } from './kube-credentials-kubeconfig.ts';

export interface InClusterOptions {
  env: Record<string, string | undefined>;
  /** Where the kubelet mounts the pod's service account; tests point it elsewhere. */
  serviceAccountDir?: string;
  now?: () => number;
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * The pod's service account: the API server from KUBERNETES_SERVICE_HOST/PORT, the cluster CA and
 * the token the kubelet mounts. The token is bound and short-lived: the kubelet rewrites the file
 * before it expires, so it is read again every minute, never kept from the start.
 */
export function inClusterCredentials({ env, serviceAccountDir = SERVICE_ACCOUNT_DIR, now = Date.now }: InClusterOptions): KubeCredentials {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) throw new KubeCredentialsError('in a cluster (KUBERNETES_SERVICE_HOST is set) but KUBERNETES_SERVICE_PORT is not');
  // The API server's ports for plain HTTP, as @kubernetes/client-node reads them (kept so nothing changes).
  const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https';
  let server: URL;
  try {
    server = new URL(`${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`);
  } catch {
    throw new KubeCredentialsError('KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT do not make a URL');
  }
  const caPath = join(serviceAccountDir, 'ca.crt');
  const tokenPath = join(serviceAccountDir, 'token');
  return new TlsCredentials({
    server,
    ca: new FileMaterial({ path: caPath, initial: readSource(caPath, `the service account's CA ${caPath}`), now }),
    token: new FileMaterial({ path: tokenPath, initial: readSource(tokenPath, `the service account's token ${tokenPath}`), now }),
  });
}
