import { describe, expect, it } from 'vitest';
import { AccessGate, AccessReviewFailed, NO_KUBERNETES_MESSAGE, type IdentitySource } from '../../../src/access/access-gate.ts';
import type { IdentityResolution } from '../../../src/identity/resolve-identity.ts';
import type { ResourceAttributes } from '../../../src/kube/access-review.ts';
import { KubeApiError } from '../../../src/kube/kube-http.ts';
import { FakeKubeHttp } from '../../helpers/access-fakes.ts';
import { freshMetrics, metricValue, recordingLogger } from '../../helpers/fakes.ts';

const alice: IdentityResolution = {
  ok: true,
  identity: { username: 'slack:alice', groups: ['slack:oncall', 'slack:sre'], derivation: ['user slack:alice from the rule for Slack user UALICE'] },
};
const resolver: IdentitySource = {
  async resolve(id) {
    if (id === 'UALICE') return alice;
    if (id === 'UFAIL') throw new Error('slack is down');
    return { ok: false, reason: 'no identity rule maps this Slack user' };
  },
};
const actor = (slackUserId: string) => ({ slackUserId, slackUserName: slackUserId.toLowerCase() });
const scale: ResourceAttributes = { verb: 'patch', group: 'apps', resource: 'deployments', subresource: 'scale', namespace: 'shop', name: 'cart' };
const sar = (allowed: boolean, reason = '') => ({ apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', status: { allowed, reason } });

function gate(kube: FakeKubeHttp | undefined) {
  const logs = recordingLogger();
  const metrics = freshMetrics();
  return { gate: new AccessGate({ resolver, kube, log: logs.log, metrics }), logs, metrics };
}

describe('AccessGate', () => {
  it('asks the API server about exactly the action, for the mapped user and all their groups', async () => {
    const kube = new FakeKubeHttp(() => sar(true, 'RBAC: allowed by RoleBinding "ops/shop"'));
    const { gate: subject, metrics } = gate(kube);
    const result = await subject.authorize(actor('UALICE'), scale);
    expect(result).toEqual({ allowed: true, identity: alice.ok && alice.identity });
    expect(kube.requests).toHaveLength(1);
    const [request] = kube.requests;
    expect(request).toMatchObject({ method: 'POST', path: '/apis/authorization.k8s.io/v1/subjectaccessreviews' });
    // The review is made with Lookout's own credentials: impersonating the person would ask the wrong question.
    expect(request?.impersonate).toBeUndefined();
    expect(request?.body).toEqual({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: 'slack:alice',
        groups: ['slack:oncall', 'slack:sre', 'system:authenticated'],
        resourceAttributes: { verb: 'patch', group: 'apps', resource: 'deployments', subresource: 'scale', namespace: 'shop', name: 'cart' },
      },
    });
    expect(await metricValue(metrics, 'lookout_access_decisions_total', { outcome: 'allowed' })).toBe(1);
  });

  it('sends no namespace, name or subresource it was not given (cluster-wide, all names)', async () => {
    const kube = new FakeKubeHttp(() => sar(true));
    await gate(kube).gate.authorize(actor('UALICE'), { verb: 'create', group: 'lookout.dev', resource: 'silences' });
    expect((kube.requests[0]?.body as { spec: unknown }).spec).toMatchObject({
      resourceAttributes: { verb: 'create', group: 'lookout.dev', resource: 'silences' },
    });
    expect(Object.keys((kube.requests[0]?.body as { spec: { resourceAttributes: object } }).spec.resourceAttributes).sort()).toEqual(['group', 'resource', 'verb']);
  });

  it('names the missing permission on a denial, and keeps RBAC’s reason out of the message', async () => {
    const kube = new FakeKubeHttp(() => sar(false, 'RBAC: no RoleBinding "secret-admins" in namespace shop'));
    const { gate: subject, logs } = gate(kube);
    const result = await subject.authorize(actor('UALICE'), scale);
    expect(result).toMatchObject({ allowed: false, reason: 'denied', identity: { username: 'slack:alice' } });
    const message = result.allowed ? '' : result.message;
    expect(message).toBe('Not allowed: this needs `patch` on `deployments/scale.apps` named cart in namespace shop.');
    expect(message).not.toContain('secret-admins');
    // The reason is for whoever reads the log.
    expect(logs.lines().find((line) => line.msg === 'access denied')).toMatchObject({ rbacReason: expect.stringContaining('secret-admins'), username: 'slack:alice' });
  });

  it('refuses an unmapped person without asking Kubernetes, and says how to get access', async () => {
    const kube = new FakeKubeHttp(() => sar(true));
    const { gate: subject, metrics } = gate(kube);
    const result = await subject.authorize(actor('UNOBODY'), scale);
    expect(result).toMatchObject({ allowed: false, reason: 'unmapped' });
    const message = result.allowed ? '' : result.message;
    expect(message).toContain('`UNOBODY`');
    expect(message).toContain('identity rule');
    expect(message).toContain('docs/rbac.md');
    expect(message).toContain('no identity rule maps this Slack user');
    expect(kube.requests).toEqual([]);
    expect(await metricValue(metrics, 'lookout_access_decisions_total', { outcome: 'unmapped' })).toBe(1);
  });

  it('refuses everything with a clear message when Kubernetes is not configured', async () => {
    const { gate: subject } = gate(undefined);
    expect(subject.kubernetesConfigured).toBe(false);
    const result = await subject.authorize(actor('UALICE'), scale);
    expect(result).toMatchObject({ allowed: false, reason: 'denied', message: NO_KUBERNETES_MESSAGE });
  });

  it('never turns an API server error into an allowance', async () => {
    const kube = new FakeKubeHttp(() => {
      throw new KubeApiError('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', 500, 'InternalError', 'etcd is unhappy');
    });
    const { gate: subject, metrics, logs } = gate(kube);
    const failure = await subject.authorize(actor('UALICE'), scale).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(AccessReviewFailed);
    expect((failure as Error).message).not.toContain('etcd');
    expect(logs.lines().find((line) => line.msg === 'SubjectAccessReview failed')).toMatchObject({ err: { serverMessage: 'etcd is unhappy', status: 500 } });
    expect(await metricValue(metrics, 'lookout_access_decisions_total', { outcome: 'error' })).toBe(1);
  });

  it('treats a review without a status as a denial, not an allowance', async () => {
    const kube = new FakeKubeHttp(() => ({ kind: 'SubjectAccessReview' }));
    expect(await gate(kube).gate.authorize(actor('UALICE'), scale)).toMatchObject({ allowed: false, reason: 'denied' });
  });

  it('lets a failing identity lookup propagate (an internal error, not an unmapped user)', async () => {
    const kube = new FakeKubeHttp(() => sar(true));
    await expect(gate(kube).gate.authorize(actor('UFAIL'), scale)).rejects.toThrow('slack is down');
    expect(kube.requests).toEqual([]);
  });

  it('identifies people without consulting RBAC', async () => {
    const kube = new FakeKubeHttp(() => sar(true));
    const subject = gate(kube).gate;
    expect(await subject.identify(actor('UALICE'))).toEqual({ mapped: true, identity: alice.ok && alice.identity });
    expect(await subject.identify(actor('UNOBODY'))).toMatchObject({ mapped: false, message: expect.stringContaining('UNOBODY') });
    expect(kube.requests).toEqual([]);
  });
});
