import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import type { CertFiles, Pki } from './certificates.ts';
import { freePort } from './ports.ts';
import type { ManagedProcess, Supervisor } from './processes.ts';
import { waitUntilReady } from './readiness.ts';

/** Issuer and the default audience of service-account tokens, as in a real cluster. */
export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

export interface KubeApiserverOptions {
  binary: string;
  dir: string;
  etcdUrl: string;
  /** Started after etcd, so it is stopped before etcd. */
  etcd: ManagedProcess;
  pki: Pki;
  supervisor: Supervisor;
}

export interface KubeApiserver {
  /** https://127.0.0.1:PORT */
  url: string;
  process: ManagedProcess;
}

/**
 * kube-apiserver with RBAC, client-certificate and service-account token authentication, on
 * loopback. There is no controller-manager or kubelet: tests create objects and write status.
 */
export async function startKubeApiserver({ binary, dir, etcdUrl, etcd, pki, supervisor }: KubeApiserverOptions): Promise<KubeApiserver> {
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  const process = supervisor.start({
    name: 'kube-apiserver',
    command: binary,
    args: [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      // Else it looks for a non-loopback interface address to advertise.
      '--advertise-address=127.0.0.1',
      `--secure-port=${port}`,
      `--cert-dir=${join(dir, 'apiserver')}`,
      `--tls-cert-file=${pki.apiserver.certFile}`,
      `--tls-private-key-file=${pki.apiserver.keyFile}`,
      `--client-ca-file=${pki.caFile}`,
      '--authorization-mode=Node,RBAC',
      `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
      `--api-audiences=${SERVICE_ACCOUNT_ISSUER}`,
      `--service-account-key-file=${pki.serviceAccountPublicKeyFile}`,
      `--service-account-signing-key-file=${pki.serviceAccountKeyFile}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      // A loopback address is not a valid endpoint of the `kubernetes` Service.
      '--endpoint-reconciler-type=none',
    ],
    logFile: join(dir, 'kube-apiserver.log'),
    stopTimeoutMs: 10_000,
    needs: [etcd],
  });
  const get = (path: string) => httpsStatus(`${url}${path}`, pki.caFile, pki.admin);
  // /readyz can pass a moment before the apiserver has created namespace "default".
  await waitUntilReady(process, async () => (await get('/readyz')) === 200 && (await get('/api/v1/namespaces/default')) === 200, 90_000);
  return { url, process };
}

/** The status of a GET made with a client certificate. */
function httpsStatus(url: string, caFile: string, client: CertFiles): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { ca: readFileSync(caFile), cert: readFileSync(client.certFile), key: readFileSync(client.keyFile), timeout: 5_000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}
