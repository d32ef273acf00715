import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeApiError, type KubeHttp } from '../../src/kube/kube-http.ts';
import { waitFor } from './free-port.ts';
import { requestToken } from './servers/kube-bootstrap.ts';
import { createOrReplace, ensureObject, type KubeObject } from './servers/kube-objects.ts';

/**
 * Creates a namespace of the test's own, `<prefix>-<random>` (see `createNamespace`). The servers
 * are shared by every test file of a run, so each file works in namespaces of its own.
 */
export async function freshNamespace(admin: KubeHttp, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  await createNamespace(admin, name);
  return name;
}

/**
 * Creates namespace `name` (if missing) with its `default` ServiceAccount: no controller makes
 * that here, and the ServiceAccount admission plugin wants it before any Pod.
 */
export async function createNamespace(admin: KubeHttp, name: string): Promise<void> {
  await ensureObject(admin, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  await ensureObject(admin, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: name } });
}

/** Writes an object's status (`PATCH …/status`, merge patch): no controllers run here, so tests set it. */
export async function writeStatus(admin: KubeHttp, path: string, status: Record<string, unknown>): Promise<void> {
  await admin.request({ method: 'PATCH', path: `${path}/status`, body: { status }, contentType: 'application/merge-patch+json' });
}

/** A RoleBinding of one User or Group subject to a Role or ClusterRole. */
export function roleBinding(namespace: string, name: string, role: { kind: 'ClusterRole' | 'Role'; name: string }, subject: { kind: 'User' | 'Group'; name: string }): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name, namespace },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', ...role },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', ...subject }],
  };
}

/** The HTTP status a Kubernetes request ends with (any success as 200); other errors are rethrown. */
export async function statusOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
    return 200;
  } catch (error) {
    if (error instanceof KubeApiError) return error.status;
    throw error;
  }
}

/** RBAC changes reach the authorizer through an informer: poll until `check` holds (10 s at most). */
export function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<true> {
  return waitFor(what, async () => ((await check()) ? true : undefined), timeoutMs, 100);
}

/**
 * Lets Lookout impersonate exactly these users (and groups) for a test file, in place of
 * manifests/base/rbac.yaml's list; the returned function puts that list back (other test files
 * share the servers).
 */
export async function impersonateOnly(admin: KubeHttp, users: readonly string[], groups: readonly string[] = []): Promise<() => Promise<void>> {
  const path = '/apis/rbac.authorization.k8s.io/v1/clusterroles/lookout-impersonate';
  const original = await admin.request<KubeObject & { rules: unknown }>({ method: 'GET', path });
  const role = (rules: unknown): KubeObject => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'lookout-impersonate', labels: original.metadata['labels'] }, rules });
  await createOrReplace(
    admin,
    role([
      { apiGroups: [''], resources: ['users'], verbs: ['impersonate'], resourceNames: [...users] },
      ...(groups.length > 0 ? [{ apiGroups: [''], resources: ['groups'], verbs: ['impersonate'], resourceNames: [...groups] }] : []),
    ]),
  );
  return async () => {
    await createOrReplace(admin, role(original.rules));
  };
}

/** The config placeholder that mountLookoutToken replaces with the token file's path. */
export const TOKEN_FILE_PLACEHOLDER = 'TOKEN_FILE';

/**
 * Writes a token of Lookout's ServiceAccount (lookout/lookout) into the bed's directory, as the
 * kubelet mounts one in a pod, and puts its path where the bed's config says TOKEN_FILE
 * (`vault.auth.tokenFile`). Call before starting Lookout.
 */
export async function mountLookoutToken(admin: KubeHttp, bed: { dir: string; env: Record<string, string> }): Promise<void> {
  const tokenFile = join(bed.dir, 'sa-token');
  writeFileSync(tokenFile, await requestToken(admin, { namespace: 'lookout', name: 'lookout' }, 3600));
  const configFile = bed.env['LOOKOUT_CONFIG'];
  if (configFile === undefined) throw new Error('the bed has no config file');
  writeFileSync(configFile, readFileSync(configFile, 'utf8').replace(TOKEN_FILE_PLACEHOLDER, tokenFile));
}
