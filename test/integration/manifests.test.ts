import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { loadConfig } from '../../src/config.ts';
import { DEFAULT_POOL_SIZE } from '../../src/state/postgres-connection.ts';
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

/** `kubectl kustomize` of a directory of the repository (manifests, manifests/overlays/ha). */
async function render(kustomization: string): Promise<KubeObject[]> {
  const { stdout } = await run(kubectl, ['kustomize', join(REPO_ROOT, kustomization)], { maxBuffer: 16 * 1024 * 1024 });
  return objectsOf(stdout);
}

/** The rendered manifests, in the test's namespace (a kustomize overlay, as a user would write one). */
async function renderInto(targetNamespace: string, kustomization: string): Promise<KubeObject[]> {
  const overlay = join(dir, kustomization.replaceAll('/', '-'));
  mkdirSync(overlay);
  writeFileSync(join(overlay, 'kustomization.yaml'), stringify({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', namespace: targetNamespace, resources: [relative(overlay, join(REPO_ROOT, kustomization))] }));
  const { stdout } = await run(kubectl, ['kustomize', overlay], { maxBuffer: 16 * 1024 * 1024 });
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
    rendered = await render('manifests');
    inNamespace = await renderInto(namespace, 'manifests');
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
    const examples = ['manifests/examples/roles.yaml', 'manifests/examples/secret.example.yaml', 'manifests/examples/database-secret.example.yaml'].flatMap((file) => objectsOf(readFileSync(join(REPO_ROOT, file), 'utf8')));
    const result = await dryRunApply(examples);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toHaveLength(examples.length);
  });

  describe('manifests/overlays/ha', () => {
    let base: KubeObject[];
    let ha: KubeObject[];
    let haInNamespace: KubeObject[];

    beforeAll(async () => {
      base = await render('manifests');
      ha = await render('manifests/overlays/ha');
      haInNamespace = await renderInto(namespace, 'manifests/overlays/ha');
    });

    it('differs from the base only in what makes two replicas on PostgreSQL', () => {
      expect(differences(base, ha).sort()).toEqual(
        [
          'PersistentVolumeClaim/lookout-state',
          'Deployment/lookout: spec.replicas',
          'Deployment/lookout: spec.strategy.type',
          'Deployment/lookout: spec.strategy.rollingUpdate',
          'Deployment/lookout: spec.template.spec.affinity',
          'Deployment/lookout: spec.template.spec.topologySpreadConstraints',
          'Deployment/lookout: spec.template.spec.containers[lookout].env[LOOKOUT_STATE]',
          'Deployment/lookout: spec.template.spec.containers[lookout].env[LOOKOUT_DATABASE_URL]',
          'Deployment/lookout: spec.template.spec.containers[lookout].volumeMounts[/var/lib/lookout]',
          'Deployment/lookout: spec.template.spec.containers[lookout].volumeMounts[/etc/lookout-database]',
          'Deployment/lookout: spec.template.spec.volumes[state]',
          'Deployment/lookout: spec.template.spec.volumes[database]',
          'PodDisruptionBudget/lookout: spec.maxUnavailable',
          'PodDisruptionBudget/lookout: spec.minAvailable',
          'NetworkPolicy/lookout: spec.egress[3]',
        ].sort(),
      );
    });

    it('runs 2 replicas, rolling one at a time without ever going below 2', () => {
      const deployment = deploymentOf(ha);
      expect(deployment.spec.replicas).toBe(2);
      expect(deployment.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    });

    it("keeps one pod through disruptions: the PDB selects the Deployment's pods with minAvailable 1", () => {
      const deployment = deploymentOf(ha);
      const budget = ha.find((object) => object.kind === 'PodDisruptionBudget')!.spec as { minAvailable?: number; maxUnavailable?: number; selector: { matchLabels: Record<string, string> } };
      expect(budget.minAvailable).toBe(1);
      expect(budget.maxUnavailable).toBeUndefined();
      expect(budget.selector).toEqual(deployment.spec.selector);
      expect(deployment.spec.template.metadata.labels).toMatchObject(budget.selector.matchLabels);
    });

    it('spreads the replicas over nodes (required) and zones (preferred), counting pods of its own selector', () => {
      const deployment = deploymentOf(ha);
      const podSpec = deployment.spec.template.spec as {
        topologySpreadConstraints: { topologyKey: string; whenUnsatisfiable: string; maxSkew: number; labelSelector: { matchLabels: Record<string, string> } }[];
        affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: { podAffinityTerm: { topologyKey: string; labelSelector: { matchLabels: Record<string, string> } } }[] } };
      };
      const spread = Object.fromEntries(podSpec.topologySpreadConstraints.map((constraint) => [constraint.topologyKey, constraint]));
      expect(spread['kubernetes.io/hostname']).toMatchObject({ whenUnsatisfiable: 'DoNotSchedule', maxSkew: 1 });
      expect(spread['topology.kubernetes.io/zone']).toMatchObject({ whenUnsatisfiable: 'ScheduleAnyway', maxSkew: 1 });
      const [antiAffinity] = podSpec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution;
      expect(antiAffinity!.podAffinityTerm.topologyKey).toBe('kubernetes.io/hostname');
      for (const selector of [...podSpec.topologySpreadConstraints.map((constraint) => constraint.labelSelector), antiAffinity!.podAffinityTerm.labelSelector]) {
        expect(deployment.spec.template.metadata.labels).toMatchObject(selector.matchLabels);
      }
    });

    it('keeps its state in PostgreSQL: no claim, no state volume, LOOKOUT_DATABASE_URL from Secret lookout-database', () => {
      expect(ha.filter((object) => object.kind === 'PersistentVolumeClaim')).toEqual([]);
      const { container, volumes } = lookoutContainerOf(deploymentOf(ha));
      expect(volumes.filter((volume) => 'persistentVolumeClaim' in volume)).toEqual([]);
      expect(container.volumeMounts.map((mount) => mount.mountPath)).not.toContain('/var/lib/lookout');
      const env = Object.fromEntries(container.env.map((variable) => [variable.name, variable]));
      expect(env.LOOKOUT_STATE).toBeUndefined();
      expect(env.LOOKOUT_DATABASE_URL).toEqual({ name: 'LOOKOUT_DATABASE_URL', valueFrom: { secretKeyRef: { name: 'lookout-database', key: 'url' } } });
      // The rest of the Secret as files, read-only: where the example URL's sslrootcert points.
      const databaseVolume = volumes.find((volume) => volume.secret?.secretName === 'lookout-database')!;
      const mount = container.volumeMounts.find((candidate) => candidate.name === databaseVolume.name)!;
      expect(mount.readOnly).toBe(true);
      const example = objectsOf(readFileSync(join(REPO_ROOT, 'manifests/examples/database-secret.example.yaml'), 'utf8'))[0] as KubeObject & { stringData: Record<string, string> };
      expect(example.metadata).toMatchObject({ name: 'lookout-database', namespace: 'lookout' });
      const exampleUrl = new URL(example.stringData.url!);
      expect(exampleUrl.protocol).toBe('postgres:');
      expect(exampleUrl.searchParams.get('sslmode')).toBe('verify-full');
      const rootCertificate = exampleUrl.searchParams.get('sslrootcert')!;
      expect(rootCertificate).toBe(`${mount.mountPath}/ca.crt`);
      expect(Object.keys(example.stringData)).toContain('ca.crt');
    });

    it("is a configuration Lookout accepts, its state in PostgreSQL: the container's env with the example Secret's url, read by loadConfig", () => {
      const { container } = lookoutContainerOf(deploymentOf(ha));
      const databaseExample = objectsOf(readFileSync(join(REPO_ROOT, 'manifests/examples/database-secret.example.yaml'), 'utf8'))[0] as KubeObject & { stringData: Record<string, string> };
      const secrets: Record<string, Record<string, string>> = {
        'lookout-database': databaseExample.stringData,
        // The example lookout-secrets holds placeholders that fail validation on purpose; these pass.
        'lookout-secrets': { SLACK_BOT_TOKEN: 'xoxb-manifests-test', SLACK_SIGNING_SECRET: 'manifests-test-signing-secret', LOOKOUT_WEBHOOK_TOKEN: 'manifests-test-webhook-token' },
      };
      const env = Object.fromEntries(
        container.env.flatMap((variable) => {
          if (variable.value !== undefined) return [[variable.name, variable.value]];
          const { name, key, optional } = (variable.valueFrom as { secretKeyRef: { name: string; key: string; optional?: boolean } }).secretKeyRef;
          const value = secrets[name]?.[key];
          if (value === undefined && optional !== true) throw new Error(`${variable.name}: Secret ${name} has no key ${key}`);
          return value === undefined ? [] : [[variable.name, value]];
        }),
      );
      const config = loadConfig(env, (path) => {
        if (path === '/etc/lookout/config.yaml') return readFileSync(join(REPO_ROOT, 'manifests/base/config.yaml'), 'utf8');
        throw new Error(`unexpected read of ${path}`);
      });
      expect(config.database).toEqual({ url: databaseExample.stringData.url, poolSize: DEFAULT_POOL_SIZE });
    });

    it('lets the pods reach PostgreSQL on 5432, and nothing new besides', () => {
      const policy = ha.find((object) => object.kind === 'NetworkPolicy')!.spec as { egress: { to?: unknown[]; ports: { protocol: string; port: number }[] }[] };
      const baseRules = (base.find((object) => object.kind === 'NetworkPolicy')!.spec as typeof policy).egress;
      expect(policy.egress.slice(0, baseRules.length)).toEqual(baseRules);
      expect(policy.egress.slice(baseRules.length)).toEqual([{ ports: [{ protocol: 'TCP', port: 5432 }] }]);
    });

    it('asks for no coordination.k8s.io permission: the replicas coordinate through the database', () => {
      const rules = ha.filter((object) => object.kind === 'ClusterRole' || object.kind === 'Role').flatMap((role) => (role as unknown as { rules: { apiGroups: string[] }[] }).rules);
      expect(rules.length).toBeGreaterThan(0);
      expect(rules.flatMap((rule) => rule.apiGroups)).not.toContain('coordination.k8s.io');
    });

    it('every object passes a server-side dry-run apply, with no warning, and the API server keeps the scheduling fields', async () => {
      const result = await dryRunApply(haInNamespace);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout.trim().split('\n')).toHaveLength(haInNamespace.length);
      for (const object of haInNamespace) {
        expect(result.stdout).toContain(`/${object.metadata.name} serverside-applied (server dry run)`);
      }
      const deployment = deploymentOf(haInNamespace);
      const pod = await kubectlRun(['create', '--dry-run=server', '-o', 'json', '-f', '-'], JSON.stringify(podOf(deployment)));
      expect(pod.stderr).toBe('');
      expect(pod.code).toBe(0);
      // A field the API server does not know (or has behind a feature gate that is off) is dropped
      // from the object it answers with: the spread and the anti-affinity must come back whole.
      const created = JSON.parse(pod.stdout) as { spec: Record<string, unknown> };
      const template = deployment.spec.template.spec as Record<string, unknown>;
      expect(created.spec.topologySpreadConstraints).toEqual(template.topologySpreadConstraints);
      expect(created.spec.affinity).toEqual(template.affinity);
    });
  });
});

interface DeploymentObject extends KubeObject {
  spec: {
    replicas: number;
    strategy: unknown;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: Record<string, unknown> };
  };
}

interface PodVolume {
  name: string;
  persistentVolumeClaim?: unknown;
  secret?: { secretName: string };
}

interface LookoutContainer {
  name: string;
  env: { name: string; value?: string; valueFrom?: unknown }[];
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
}

function deploymentOf(objects: KubeObject[]): DeploymentObject {
  return objects.find((object) => object.kind === 'Deployment') as DeploymentObject;
}

function lookoutContainerOf(deployment: DeploymentObject): { container: LookoutContainer; volumes: PodVolume[] } {
  const podSpec = deployment.spec.template.spec as { containers: LookoutContainer[]; volumes: PodVolume[] };
  return { container: podSpec.containers.find((container) => container.name === 'lookout')!, volumes: podSpec.volumes };
}

/**
 * Where two renderings differ, one line per place: `Kind/name` for an object only one has, else
 * `Kind/name: path`. List items are matched by their `mountPath` (volume mounts) or `name`
 * (containers, env, volumes), as Kubernetes merges them, so an added variable is one difference
 * and not a shift of every later index.
 */
function differences(before: KubeObject[], after: KubeObject[]): string[] {
  const keyed = (objects: KubeObject[]) => new Map(objects.map((object) => [`${object.kind}/${object.metadata.name}`, object]));
  const found: string[] = [];
  compareEntries(keyed(before), keyed(after), (key) => key, (key, beforeObject, afterObject) => {
    const places: string[] = [];
    compare(beforeObject, afterObject, '', places);
    found.push(...places.map((place) => `${key}: ${place.slice(1)}`));
  }, found);
  return found;
}

function compare(before: unknown, after: unknown, path: string, found: string[]): void {
  if (Array.isArray(before) && Array.isArray(after)) {
    const itemKey = ['mountPath', 'name'].find((field) => [...before, ...after].every((item) => isRecord(item) && typeof item[field] === 'string'));
    const byKey = (items: unknown[]) => new Map(items.map((item, index) => [itemKey === undefined ? String(index) : String((item as Record<string, unknown>)[itemKey]), item]));
    compareEntries(byKey(before), byKey(after), (key) => `${path}[${key}]`, (key, beforeItem, afterItem) => compare(beforeItem, afterItem, `${path}[${key}]`, found), found);
  } else if (isRecord(before) && isRecord(after)) {
    compareEntries(new Map(Object.entries(before)), new Map(Object.entries(after)), (key) => `${path}.${key}`, (key, beforeValue, afterValue) => compare(beforeValue, afterValue, `${path}.${key}`, found), found);
  } else if (before !== after) {
    found.push(path);
  }
}

/** Entries only one side has are differences at `place(key)`; entries both have are compared by `both`. */
function compareEntries<T>(before: Map<string, T>, after: Map<string, T>, place: (key: string) => string, both: (key: string, before: T, after: T) => void, found: string[]): void {
  for (const key of new Set([...before.keys(), ...after.keys()])) {
    if (before.has(key) && after.has(key)) both(key, before.get(key)!, after.get(key)!);
    else found.push(place(key));
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
