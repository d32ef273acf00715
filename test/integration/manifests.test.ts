import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { PROMETHEUS_RULE_CRD, SERVICE_MONITOR_CRD } from '../support/prometheus-operator-crds.ts';
import { REPO_ROOT } from '../support/servers/binaries.ts';
import { testServers } from '../support/servers/test-servers.ts';

/*
 * The manifests mean what they say to a real API server. manifests/ (the only kustomization) is
 * rendered by `kubectl kustomize` — kubectl built from the same Kubernetes modules as the test
 * kube-apiserver — and every object is applied server-side as a dry run, as admin, into a fresh
 * namespace labelled to enforce (and warn about) the restricted Pod Security Standard. The
 * PodSecurity admission plugin enforces on Pods only; for a Deployment it only warns, so the
 * Deployment's pod template is also sent as a Pod (dry run), which enforcement would refuse.
 * ServiceMonitor and PrometheusRule are checked against minimal CRDs written for this test
 * (test/support/prometheus-operator-crds.ts), installed for the run.
 */

const run = promisify(execFile);

interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
}

let kubectl: string;
let kubeconfig: string;
let dir: string;
const namespace = `lookout-manifests-${randomBytes(3).toString('hex')}`;
const crdsCreated: string[] = [];

function kubectlRun(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(kubectl, ['--kubeconfig', kubeconfig, ...args], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(input ?? '');
  });
}

function objectsOf(yaml: string): KubeObject[] {
  return parseAllDocuments(yaml)
    .map((document) => document.toJS() as KubeObject | null)
    .filter((object): object is KubeObject => object !== null);
}

/** Server-side apply as a dry run; kubectl's default strict field validation refuses unknown fields. */
function dryRunApply(objects: KubeObject[]) {
  // --force-conflicts: the harness created the shared ClusterRoles with another field manager;
  // who owns a field is no property of the manifests, and nothing is written.
  return kubectlRun(['apply', '--server-side', '--force-conflicts', '--dry-run=server', '--field-manager=lookout-manifests-test', '-f', '-'], toYaml(objects));
}

function toYaml(objects: KubeObject[]): string {
  return objects.map((object) => stringify(object)).join('---\n');
}

/** What the Deployment's ReplicaSet would create: a Pod from its template, in the namespace. */
function podOf(deployment: KubeObject): KubeObject {
  const template = (deployment.spec as { template: { metadata?: { labels?: Record<string, string> }; spec: Record<string, unknown> } }).template;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${deployment.metadata.name}-pod`, namespace, ...(template.metadata?.labels ? { labels: template.metadata.labels } : {}) },
    spec: template.spec,
  };
}

/** The rendered manifests, in the test's namespace (a kustomize overlay, as a user would write one). */
async function renderInto(targetNamespace: string): Promise<KubeObject[]> {
  writeFileSync(join(dir, 'kustomization.yaml'), stringify({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', namespace: targetNamespace, resources: [relative(dir, join(REPO_ROOT, 'manifests'))] }));
  const { stdout } = await run(kubectl, ['kustomize', dir], { maxBuffer: 16 * 1024 * 1024 });
  return objectsOf(stdout);
}

describe('manifests/ under a real API server', () => {
  let rendered: KubeObject[];
  let inNamespace: KubeObject[];

  beforeAll(async () => {
    const servers = testServers();
    kubectl = servers.kube.kubectl;
    kubeconfig = servers.kube.kubeconfigs.admin;
    dir = mkdtempSync(join(tmpdir(), 'lookout-manifests-'));
    for (const crd of [SERVICE_MONITOR_CRD, PROMETHEUS_RULE_CRD]) {
      const existing = await kubectlRun(['get', 'crd', crd.metadata.name]);
      if (existing.code === 0) continue;
      const created = await kubectlRun(['create', '-f', '-'], JSON.stringify(crd));
      if (created.code !== 0) throw new Error(`could not create ${crd.metadata.name}: ${created.stderr}`);
      crdsCreated.push(crd.metadata.name);
    }
    for (const name of crdsCreated) {
      const established = await kubectlRun(['wait', '--for=condition=Established', '--timeout=30s', `crd/${name}`]);
      if (established.code !== 0) throw new Error(`${name} not established: ${established.stderr}`);
    }
    const created = await kubectlRun(
      ['create', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: {
          name: namespace,
          labels: {
            'pod-security.kubernetes.io/enforce': 'restricted',
            'pod-security.kubernetes.io/enforce-version': 'latest',
            'pod-security.kubernetes.io/warn': 'restricted',
            'pod-security.kubernetes.io/warn-version': 'latest',
          },
        },
      }),
    );
    if (created.code !== 0) throw new Error(`could not create namespace ${namespace}: ${created.stderr}`);
    const { stdout } = await run(kubectl, ['kustomize', join(REPO_ROOT, 'manifests')], { maxBuffer: 16 * 1024 * 1024 });
    rendered = objectsOf(stdout);
    inNamespace = await renderInto(namespace);
    // The ServiceAccount admission plugin refuses a Pod whose ServiceAccount does not exist.
    const serviceAccount = await kubectlRun(['create', '-f', '-'], toYaml(inNamespace.filter((object) => object.kind === 'ServiceAccount')));
    if (serviceAccount.code !== 0) throw new Error(`could not create the ServiceAccount: ${serviceAccount.stderr}`);
  }, 120_000);

  afterAll(async () => {
    if (kubectl === undefined) return;
    await kubectlRun(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
    for (const name of crdsCreated) await kubectlRun(['delete', 'crd', name, '--ignore-not-found']);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('kubectl kustomize renders manifests/, its Namespace enforcing restricted Pod Security', () => {
    const kinds = rendered.map((object) => object.kind);
    expect(kinds).toEqual(expect.arrayContaining(['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'Deployment', 'Service', 'NetworkPolicy', 'PodDisruptionBudget', 'ServiceMonitor', 'PrometheusRule']));
    const lookoutNamespace = rendered.find((object) => object.kind === 'Namespace');
    expect(lookoutNamespace?.metadata.labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'restricted' });
  });

  it('every rendered object passes a server-side dry-run apply, with no warning', async () => {
    const result = await dryRunApply(inNamespace);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    for (const object of inNamespace) {
      expect(result.stdout).toContain(`/${object.metadata.name} serverside-applied (server dry run)`);
    }
    expect(result.stdout.trim().split('\n')).toHaveLength(inNamespace.length);
  });

  it("the Deployment's pod passes restricted Pod Security enforcement", async () => {
    const deployment = inNamespace.find((object) => object.kind === 'Deployment')!;
    const result = await kubectlRun(['create', '--dry-run=server', '-f', '-'], JSON.stringify(podOf(deployment)));
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('pod/lookout-pod created (server dry run)');
  });

  it('a Deployment without runAsNonRoot is refused by the same checks', async () => {
    const deployment = structuredClone(inNamespace.find((object) => object.kind === 'Deployment')!);
    const podSpec = (deployment.spec as { template: { spec: { securityContext: Record<string, unknown>; containers: { securityContext: Record<string, unknown> }[] } } }).template.spec;
    delete podSpec.securityContext.runAsNonRoot;
    for (const container of podSpec.containers) delete container.securityContext.runAsNonRoot;

    const applied = await dryRunApply([deployment]);
    expect(applied.stderr).toMatch(/would violate PodSecurity "restricted:latest":.*runAsNonRoot != true/);
    const pod = await kubectlRun(['create', '--dry-run=server', '-f', '-'], JSON.stringify(podOf(deployment)));
    expect(pod.code).not.toBe(0);
    expect(pod.stderr).toMatch(/forbidden: violates PodSecurity "restricted:latest":.*runAsNonRoot != true/);
  });

  it('a misspelt ServiceMonitor field is refused by the test CRD', async () => {
    const serviceMonitor = structuredClone(inNamespace.find((object) => object.kind === 'ServiceMonitor')!);
    const endpoints = (serviceMonitor.spec as { endpoints: Record<string, unknown>[] }).endpoints;
    endpoints[0]!.honourLabels = true;
    const result = await dryRunApply([serviceMonitor]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/\.spec\.endpoints\[0\]\.honourLabels: field not declared in schema/);
  });

  it('the example Roles and Secret pass a server-side dry run too', async () => {
    const examples = ['manifests/examples/roles.yaml', 'manifests/examples/secret.example.yaml'].flatMap((file) => objectsOf(readFileSync(join(REPO_ROOT, file), 'utf8')));
    const result = await dryRunApply(examples);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toHaveLength(examples.length);
  });
});
