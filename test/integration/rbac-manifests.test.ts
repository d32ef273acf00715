import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { reviewAccess, type ResourceAttributes } from '../../src/kube/access-review.ts';
import type { KubeHttp } from '../../src/kube/kube-http.ts';
import { kubeHttpFor } from '../support/servers/kubeconfigs.ts';
import { createOrReplace, objectPaths, type KubeObject } from '../support/servers/kube-objects.ts';
import { testServers } from '../support/servers/test-servers.ts';

/*
 * The RBAC manifests mean what docs/rbac.md says, as the real kube-apiserver reads them:
 * the bot's ClusterRole (applied by the harness from manifests/base/rbac.yaml) and the example
 * Roles for chat users (manifests/examples/roles.yaml, applied here and removed afterwards,
 * because their bindings would change what other test files' identities may do).
 */

const BOT = { username: 'system:serviceaccount:lookout:lookout', groups: ['system:serviceaccounts', 'system:serviceaccounts:lookout'] };

function objectsOf(file: string): KubeObject[] {
  return parseAllDocuments(readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8'))
    .map((document) => document.toJS() as KubeObject | null)
    .filter((object): object is KubeObject => object !== null);
}

describe('manifests/base/rbac.yaml: what the bot may do', () => {
  let admin: KubeHttp;
  beforeAll(() => {
    admin = kubeHttpFor(testServers().kube.kubeconfigs.admin);
  });

  const may = (attributes: ResourceAttributes) => reviewAccess(admin, BOT, attributes).then((decision) => decision.allowed);

  it.each<[string, ResourceAttributes]>([
    ['create subjectaccessreviews', { verb: 'create', group: 'authorization.k8s.io', resource: 'subjectaccessreviews' }],
    ['create events.k8s.io events', { verb: 'create', group: 'events.k8s.io', resource: 'events', namespace: 'shop' }],
    ['get pods', { verb: 'get', group: '', resource: 'pods', namespace: 'shop', name: 'p' }],
    ['list core events', { verb: 'list', group: '', resource: 'events', namespace: 'shop' }],
    ['get nodes', { verb: 'get', group: '', resource: 'nodes', name: 'node-1' }],
    ['get deployments', { verb: 'get', group: 'apps', resource: 'deployments', namespace: 'shop', name: 'cart' }],
    ['get replicasets', { verb: 'get', group: 'apps', resource: 'replicasets', namespace: 'shop', name: 'cart-1' }],
    ['get statefulsets', { verb: 'get', group: 'apps', resource: 'statefulsets', namespace: 'shop', name: 'db' }],
    ['get daemonsets', { verb: 'get', group: 'apps', resource: 'daemonsets', namespace: 'shop', name: 'agent' }],
    ['get jobs', { verb: 'get', group: 'batch', resource: 'jobs', namespace: 'shop', name: 'j' }],
    ['list horizontalpodautoscalers', { verb: 'list', group: 'autoscaling', resource: 'horizontalpodautoscalers', namespace: 'shop' }],
    ['list pods', { verb: 'list', group: '', resource: 'pods', namespace: 'shop' }],
    ['list deployments (rotation consumers)', { verb: 'list', group: 'apps', resource: 'deployments', namespace: 'shop' }],
    ['list statefulsets', { verb: 'list', group: 'apps', resource: 'statefulsets', namespace: 'shop' }],
    ['list daemonsets', { verb: 'list', group: 'apps', resource: 'daemonsets', namespace: 'shop' }],
    ['list externalsecrets', { verb: 'list', group: 'external-secrets.io', resource: 'externalsecrets', namespace: 'payments' }],
    ['get secretstores', { verb: 'get', group: 'external-secrets.io', resource: 'secretstores', namespace: 'payments', name: 'vault' }],
    ['get clustersecretstores', { verb: 'get', group: 'external-secrets.io', resource: 'clustersecretstores', name: 'vault' }],
    ['get poddisruptionbudgets', { verb: 'get', group: 'policy', resource: 'poddisruptionbudgets', namespace: 'shop', name: 'cart' }],
    ['get resourcequotas', { verb: 'get', group: '', resource: 'resourcequotas', namespace: 'shop', name: 'compute' }],
    ['get persistentvolumeclaims', { verb: 'get', group: '', resource: 'persistentvolumeclaims', namespace: 'shop', name: 'data' }],
    ['get persistentvolumes', { verb: 'get', group: '', resource: 'persistentvolumes', name: 'pv-1' }],
    ['list TLS Secrets (the certificate inventory)', { verb: 'list', group: '', resource: 'secrets', namespace: 'shop' }],
    ['list Secrets of every namespace', { verb: 'list', group: '', resource: 'secrets' }],
    ['list certificates.cert-manager.io', { verb: 'list', group: 'cert-manager.io', resource: 'certificates', namespace: 'shop' }],
    ['get a cert-manager Certificate (Renew follows it)', { verb: 'get', group: 'cert-manager.io', resource: 'certificates', namespace: 'shop', name: 'web' }],
    ['impersonate a listed user', { verb: 'impersonate', group: '', resource: 'users', name: 'slack:alice' }],
    ['impersonate a listed group', { verb: 'impersonate', group: '', resource: 'groups', name: 'slack:oncall' }],
  ])('may %s', async (_what, attributes) => {
    expect(await may(attributes)).toBe(true);
  });

  it.each<[string, ResourceAttributes]>([
    ['get secrets', { verb: 'get', group: '', resource: 'secrets', namespace: 'shop', name: 'db' }],
    ['watch secrets', { verb: 'watch', group: '', resource: 'secrets', namespace: 'shop' }],
    ['update secrets', { verb: 'update', group: '', resource: 'secrets', namespace: 'shop', name: 'db' }],
    ['write a Certificate status itself', { verb: 'update', group: 'cert-manager.io', resource: 'certificates', subresource: 'status', namespace: 'shop', name: 'web' }],
    ['read pod logs', { verb: 'get', group: '', resource: 'pods', subresource: 'log', namespace: 'shop', name: 'p' }],
    ['patch deployments', { verb: 'patch', group: 'apps', resource: 'deployments', namespace: 'shop', name: 'cart' }],
    ['scale deployments', { verb: 'patch', group: 'apps', resource: 'deployments', subresource: 'scale', namespace: 'shop', name: 'cart' }],
    ['delete pods', { verb: 'delete', group: '', resource: 'pods', namespace: 'shop', name: 'p' }],
    ['create core events', { verb: 'create', group: '', resource: 'events', namespace: 'shop' }],
    ['update events.k8s.io events', { verb: 'update', group: 'events.k8s.io', resource: 'events', namespace: 'shop', name: 'e' }],
    ['impersonate an unlisted user', { verb: 'impersonate', group: '', resource: 'users', name: 'slack:mallory' }],
    ['impersonate system:masters', { verb: 'impersonate', group: '', resource: 'groups', name: 'system:masters' }],
    ['impersonate service accounts', { verb: 'impersonate', group: '', resource: 'serviceaccounts', namespace: 'kube-system', name: 'default' }],
    ['act on Lookout virtual resources itself', { verb: 'acknowledge', group: 'lookout.dev', resource: 'alerts', namespace: 'shop', name: 'X' }],
    // Granted only for what the code calls: nothing watches, lists claims, quotas or PDBs, reads
    // ConfigMaps or events.k8s.io events.
    ['watch pods', { verb: 'watch', group: '', resource: 'pods', namespace: 'shop' }],
    ['watch core events', { verb: 'watch', group: '', resource: 'events', namespace: 'shop' }],
    ['watch deployments', { verb: 'watch', group: 'apps', resource: 'deployments', namespace: 'shop' }],
    // The force-sync annotation is written as the person, never as Lookout.
    ['patch externalsecrets', { verb: 'patch', group: 'external-secrets.io', resource: 'externalsecrets', namespace: 'payments', name: 'db' }],
    ['list secretstores', { verb: 'list', group: 'external-secrets.io', resource: 'secretstores', namespace: 'payments' }],
    ['list persistentvolumeclaims', { verb: 'list', group: '', resource: 'persistentvolumeclaims', namespace: 'shop' }],
    ['list poddisruptionbudgets', { verb: 'list', group: 'policy', resource: 'poddisruptionbudgets', namespace: 'shop' }],
    ['update poddisruptionbudgets', { verb: 'update', group: 'policy', resource: 'poddisruptionbudgets', namespace: 'shop', name: 'cart' }],
    ['get configmaps', { verb: 'get', group: '', resource: 'configmaps', namespace: 'shop', name: 'c' }],
    ['patch resourcequotas', { verb: 'patch', group: '', resource: 'resourcequotas', namespace: 'shop', name: 'compute' }],
    ['list events.k8s.io events', { verb: 'list', group: 'events.k8s.io', resource: 'events', namespace: 'shop' }],
    ['edit RBAC', { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' }],
  ])('may not %s', async (_what, attributes) => {
    expect(await may(attributes)).toBe(false);
  });
});

describe('manifests/examples/roles.yaml: the example Roles grant what docs/rbac.md says', () => {
  const objects = objectsOf('manifests/examples/roles.yaml');
  let admin: KubeHttp;

  beforeAll(async () => {
    admin = kubeHttpFor(testServers().kube.kubeconfigs.admin);
    for (const object of objects) await createOrReplace(admin, object);
  });

  afterAll(async () => {
    for (const object of objects) await admin.request({ method: 'DELETE', path: objectPaths(object).item }).catch(() => undefined);
  });

  const may = (username: string, groups: string[], attributes: ResourceAttributes) =>
    reviewAccess(admin, { username, groups }, attributes).then((decision) => decision.allowed);

  it('on-call (group slack:oncall) acknowledges alerts anywhere and reads, but cannot scale', async () => {
    const oncall = (attributes: ResourceAttributes) => may('slack:carol', ['slack:oncall'], attributes);
    expect(await oncall({ verb: 'acknowledge', group: 'lookout.dev', resource: 'alerts', namespace: 'payments', name: 'KubePodCrashLooping' })).toBe(true);
    expect(await oncall({ verb: 'acknowledge', group: 'lookout.dev', resource: 'alerts' })).toBe(true);
    expect(await oncall({ verb: 'list', group: 'apps', resource: 'deployments', namespace: 'shop' })).toBe(true);
    // Everything /ops status and /ops history read as the person (docs/rbac.md, "Viewer").
    for (const [group, resource] of [['apps', 'controllerrevisions'], ['apps', 'replicasets'], ['autoscaling', 'horizontalpodautoscalers'], ['', 'pods'], ['', 'events']] as const) {
      expect(await oncall({ verb: 'list', group, resource, namespace: 'shop' })).toBe(true);
    }
    expect(await oncall({ verb: 'patch', group: 'apps', resource: 'deployments', subresource: 'scale', namespace: 'shop', name: 'cart' })).toBe(false);
    expect(await oncall({ verb: 'create', group: 'lookout.dev', resource: 'silences', namespace: 'shop' })).toBe(false);
    expect(await oncall({ verb: 'list', group: 'lookout.dev', resource: 'certificates' })).toBe(true);
    expect(await oncall({ verb: 'renew', group: 'lookout.dev', resource: 'certificates', namespace: 'shop', name: 'web' })).toBe(false);
    expect(await oncall({ verb: 'get', group: 'lookout.dev', resource: 'doctor' })).toBe(true);
  });

  it('a deployer (group slack:developers) scales and restarts in shop only', async () => {
    const developer = (attributes: ResourceAttributes) => may('slack:bob@example.com', ['slack:developers'], attributes);
    expect(await developer({ verb: 'patch', group: 'apps', resource: 'deployments', subresource: 'scale', namespace: 'shop', name: 'cart' })).toBe(true);
    expect(await developer({ verb: 'patch', group: 'apps', resource: 'deployments', namespace: 'shop', name: 'cart' })).toBe(true);
    expect(await developer({ verb: 'patch', group: 'apps', resource: 'deployments', subresource: 'scale', namespace: 'payments', name: 'ledger' })).toBe(false);
    expect(await developer({ verb: 'delete', group: 'apps', resource: 'deployments', namespace: 'shop', name: 'cart' })).toBe(false);
  });

  it('a silencer (group slack:sre) creates, lists and deletes silences', async () => {
    expect(await may('slack:dan', ['slack:sre'], { verb: 'create', group: 'lookout.dev', resource: 'silences', namespace: 'shop' })).toBe(true);
    expect(await may('slack:dan', ['slack:sre'], { verb: 'delete', group: 'lookout.dev', resource: 'silences', namespace: 'shop' })).toBe(true);
    expect(await may('slack:dan', ['slack:sre'], { verb: 'list', group: 'lookout.dev', resource: 'silences' })).toBe(true);
    expect(await may('slack:dan', [], { verb: 'create', group: 'lookout.dev', resource: 'silences', namespace: 'shop' })).toBe(false);
  });

  it('a certificate keeper (group slack:developers) lists, probes and renews certificates in shop, with the status write renew needs', async () => {
    const keeper = (attributes: ResourceAttributes) => may('slack:bob@example.com', ['slack:developers'], attributes);
    for (const verb of ['list', 'probe', 'renew']) expect(await keeper({ verb, group: 'lookout.dev', resource: 'certificates', namespace: 'shop', name: 'web' })).toBe(true);
    expect(await keeper({ verb: 'update', group: 'cert-manager.io', resource: 'certificates', subresource: 'status', namespace: 'shop', name: 'web' })).toBe(true);
    expect(await keeper({ verb: 'renew', group: 'lookout.dev', resource: 'certificates', namespace: 'payments', name: 'ledger' })).toBe(false);
    expect(await keeper({ verb: 'list', group: 'lookout.dev', resource: 'certificates' })).toBe(false);
    expect(await keeper({ verb: 'update', group: 'cert-manager.io', resource: 'certificates', namespace: 'shop', name: 'web' })).toBe(false);
  });

  it('the vault rotator rotates exactly the listed secret paths, in the namespace they are mapped to, and restarts there', async () => {
    const rotate = (name: string, namespace = 'payments') => may('slack:alice@example.com', [], { verb: 'rotate', group: 'lookout.dev', resource: 'vaultsecrets', namespace, name });
    expect(await rotate('secret/payments/db')).toBe(true);
    expect(await rotate('secret/payments/stripe-api-key')).toBe(true);
    expect(await rotate('secret/payments/ledger-db')).toBe(false);
    expect(await rotate('secret/payments/db', 'shop')).toBe(false);
    expect(await may('slack:alice@example.com', [], { verb: 'patch', group: 'apps', resource: 'deployments', namespace: 'payments', name: 'api' })).toBe(true);
    expect(await may('slack:alice', [], { verb: 'rotate', group: 'lookout.dev', resource: 'vaultsecrets', namespace: 'payments', name: 'secret/payments/db' })).toBe(false);
  });
});
