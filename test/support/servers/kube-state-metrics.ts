import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeHttp } from '../../../src/kube/kube-http.ts';
import { requestToken } from './kube-bootstrap.ts';
import { createOrReplace, ensureObject } from './kube-objects.ts';
import { writeKubeconfig } from './kubeconfigs.ts';
import { freePort } from './ports.ts';
import type { ManagedProcess, Supervisor } from './processes.ts';
import { httpOk, waitUntilReady } from './readiness.ts';

/** What the realism tier's rules read; kube-state-metrics' default set is larger. */
export const KSM_RESOURCES = [
  'pods',
  'deployments',
  'replicasets',
  'statefulsets',
  'daemonsets',
  'jobs',
  'horizontalpodautoscalers',
  'poddisruptionbudgets',
  'resourcequotas',
  'persistentvolumeclaims',
  'persistentvolumes',
  'nodes',
] as const;

/** Its own read-only identity, as in a cluster: list and watch, nothing else. */
const ACCOUNT = { namespace: 'default', name: 'kube-state-metrics' } as const;
const ROLE = 'lookout-test:kube-state-metrics';

export interface KubeStateMetricsOptions {
  binary: string;
  /** Sets up the identity (ServiceAccount, ClusterRole with list/watch, binding, token). */
  admin: KubeHttp;
  kubeUrl: string;
  caFile: string;
  /** Its kubeconfig and log go here. */
  dir: string;
  supervisor: Supervisor;
  /** Namespaced objects are watched only here (other test files' objects stay out of its metrics). */
  namespaces: readonly string[];
}

export interface KubeStateMetrics {
  /** host:port of /metrics, for a Prometheus static target. */
  address: string;
  process: ManagedProcess;
}

/**
 * kube-state-metrics (built by test/servers/build.sh) against the test apiserver, with a
 * kubeconfig for a ServiceAccount that may only get, list and watch. Listens on 127.0.0.1.
 */
export async function startKubeStateMetrics({ binary, admin, kubeUrl, caFile, dir, supervisor, namespaces }: KubeStateMetricsOptions): Promise<KubeStateMetrics> {
  mkdirSync(dir, { recursive: true });
  await ensureObject(admin, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { ...ACCOUNT } });
  await createOrReplace(admin, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: ROLE },
    rules: [
      { apiGroups: [''], resources: ['pods', 'nodes', 'resourcequotas', 'persistentvolumeclaims', 'persistentvolumes', 'namespaces'], verbs: ['list', 'watch'] },
      { apiGroups: ['apps'], resources: ['deployments', 'replicasets', 'statefulsets', 'daemonsets'], verbs: ['list', 'watch'] },
      { apiGroups: ['batch'], resources: ['jobs'], verbs: ['list', 'watch'] },
      { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: ['list', 'watch'] },
      { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: ['list', 'watch'] },
    ],
  });
  await createOrReplace(admin, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: ROLE },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: ROLE },
    subjects: [{ kind: 'ServiceAccount', ...ACCOUNT }],
  });
  const kubeconfig = writeKubeconfig({
    file: join(dir, 'kube-state-metrics.kubeconfig'),
    server: kubeUrl,
    caFile,
    name: 'kube-state-metrics',
    credentials: { token: await requestToken(admin, ACCOUNT) },
  });
  const [port, telemetryPort] = [await freePort(), await freePort()];
  const process = supervisor.start({
    name: 'kube-state-metrics',
    command: binary,
    args: [
      `--kubeconfig=${kubeconfig}`,
      '--host=127.0.0.1',
      `--port=${port}`,
      '--telemetry-host=127.0.0.1',
      `--telemetry-port=${telemetryPort}`,
      `--resources=${KSM_RESOURCES.join(',')}`,
      `--namespaces=${namespaces.join(',')}`,
    ],
    logFile: join(dir, 'kube-state-metrics.log'),
    stopTimeoutMs: 5_000,
  });
  const address = `127.0.0.1:${port}`;
  // /metrics answers once the informers have synced.
  await waitUntilReady(process, () => httpOk(`http://${address}/metrics`), 60_000);
  return { address, process };
}
