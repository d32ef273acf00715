import type { KubeHttp } from '../../src/kube/kube-http.ts';
import { FORCE_SYNC_ANNOTATION } from '../../src/vault/external-secret-sync.ts';

export interface PlayedExternalSecretsOptions {
  admin: KubeHttp;
  namespace: string;
  /** The ExternalSecrets to play the controller for. */
  names: readonly string[];
  /** What the target Secret's `data` becomes (base64 values), read from OpenBao as ESO would. */
  readData: () => Promise<Record<string, string>>;
}

/**
 * Plays External Secrets' controller (none runs in the harness) for some ExternalSecrets: when
 * one's force-sync annotation changes, its target Secret's data is replaced with `readData()`.
 * Returns a function that stops it. The only stand-in of the rotation tests: the annotation patch,
 * the RBAC and the Secret reads are the real API server's.
 */
export function playExternalSecretsController({ admin, namespace, names, readData }: PlayedExternalSecretsOptions): () => Promise<void> {
  const seen = new Map<string, string | undefined>();
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const name of names) {
        const es = await admin.request<{ metadata: { annotations?: Record<string, string> }; spec: { target: { name: string } } }>({
          method: 'GET',
          path: `/apis/external-secrets.io/v1/namespaces/${namespace}/externalsecrets/${name}`,
        });
        const stamp = es.metadata.annotations?.[FORCE_SYNC_ANNOTATION];
        if (seen.has(name) && seen.get(name) !== stamp) {
          await admin.request({ method: 'PATCH', path: `/api/v1/namespaces/${namespace}/secrets/${es.spec.target.name}`, contentType: 'application/merge-patch+json', body: { data: await readData() } });
        }
        seen.set(name, stamp);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}
