import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { readKubeconfig } from '../../../src/kube/kube-credentials-kubeconfig.ts';
import { KubeHttp } from '../../../src/kube/kube-http.ts';
import type { CertFiles } from './certificates.ts';

export interface KubeconfigOptions {
  file: string;
  server: string;
  caFile: string;
  /** Context and user name inside the file. */
  name: string;
  credentials: CertFiles | { token: string };
}

/** Writes a one-context kubeconfig (readable by kubectl, @kubernetes/client-node and Lookout's own reader). */
export function writeKubeconfig({ file, server, caFile, name, credentials }: KubeconfigOptions): string {
  const user =
    'token' in credentials
      ? { token: credentials.token }
      : { 'client-certificate': credentials.certFile, 'client-key': credentials.keyFile };
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'lookout-test', cluster: { server, 'certificate-authority': caFile } }],
    users: [{ name, user }],
    contexts: [{ name, context: { cluster: 'lookout-test', user: name } }],
    'current-context': name,
  };
  // The bot's file holds a token.
  writeFileSync(file, stringify(config), { mode: 0o600 });
  return file;
}

/** Lookout's own Kubernetes client (src/kube/kube-http.ts), as the identity of a kubeconfig file. */
export function kubeHttpFor(kubeconfigFile: string): KubeHttp {
  const read = readKubeconfig(kubeconfigFile);
  if (read.kind !== 'credentials') throw new Error(`${kubeconfigFile} needs an auth plugin; the test servers write certificates and tokens only`);
  return new KubeHttp(read.credentials);
}
