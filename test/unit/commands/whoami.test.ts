import { describe, expect, it } from 'vitest';
import whoami from '../../../commands/whoami.ts';
import type { KubeIdentity } from '../../../src/identity/resolve-identity.ts';
import { KubeApiError, type KubeRequest } from '../../../src/kube/kube-http.ts';
import { createSlashCommandHandler } from '../../../src/slack/dispatcher.ts';
import { FakeGate, FakeKubeHttp, RecordingAuditTrail } from '../../helpers/access-fakes.ts';
import { freshMetrics, recordingLogger } from '../../helpers/fakes.ts';

const alice: KubeIdentity = {
  username: 'slack:alice',
  groups: ['slack:oncall', 'slack:sre'],
  derivation: ['user slack:alice from the rule for Slack user UALICE', 'member of Slack user group SONCALL → groups oncall'],
};

/** Answers a SelfSubjectReview as the API server would for the impersonated identity. */
const selfReview = (request: KubeRequest) => ({
  kind: 'SelfSubjectReview',
  status: { userInfo: { username: request.impersonate?.username, groups: [...(request.impersonate?.groups ?? []), 'system:authenticated'] } },
});

async function whoamiAs(user: string, kubeOrNone: FakeKubeHttp | 'none' = new FakeKubeHttp(selfReview), text = 'whoami') {
  const kube = kubeOrNone === 'none' ? undefined : kubeOrNone;
  const gate = new FakeGate({ identities: { UALICE: alice }, kubernetesConfigured: kube !== undefined });
  const logs = recordingLogger();
  let reply = '';
  await createSlashCommandHandler({ commands: [whoami], slashCommand: '/ops', log: logs.log, metrics: freshMetrics(), gate, audit: new RecordingAuditTrail(), kube })({
    command: { command: '/ops', text, user_id: user, user_name: 'someone', channel_id: 'C1' },
    ack: async () => {},
    respond: async (body) => void (reply = body.text),
  });
  return { reply, gate, kube, logs };
}

describe('/ops whoami', () => {
  it('shows the username, the groups, how they were derived, and what the API server sees', async () => {
    const { reply, kube, gate } = await whoamiAs('UALICE');
    expect(reply).toBe(
      [
        '*You are* `slack:alice` to Kubernetes',
        '*Groups:* `slack:oncall`, `slack:sre`',
        '*How Lookout mapped you:*',
        '• user slack:alice from the rule for Slack user UALICE',
        '• member of Slack user group SONCALL → groups oncall',
        '*Kubernetes sees:* `slack:alice` in groups `slack:oncall`, `slack:sre`, `system:authenticated`',
      ].join('\n'),
    );
    // Asked as alice herself, with both groups; no RBAC review needed to know who you are.
    expect(kube?.requests).toEqual([
      {
        method: 'POST',
        path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
        impersonate: { username: 'slack:alice', groups: ['slack:oncall', 'slack:sre'] },
      },
    ]);
    expect(gate.reviews).toEqual([]);
  });

  it('tells an unmapped person how to get access, and asks Kubernetes nothing', async () => {
    const { reply, kube } = await whoamiAs('UNOBODY');
    expect(reply).toContain('not mapped to a Kubernetes identity');
    expect(reply).toContain('`UNOBODY`');
    expect(reply).toContain('identity rule');
    expect(kube?.requests).toEqual([]);
  });

  it('explains an impersonation refusal (the ClusterRole lacks a name) without the server’s words', async () => {
    const kube = new FakeKubeHttp(() => {
      throw new KubeApiError('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', 403, 'Forbidden', 'users "slack:alice" is forbidden: User "system:serviceaccount:lookout:lookout" cannot impersonate');
    });
    const { reply, logs } = await whoamiAs('UALICE', kube);
    expect(reply).toContain('*You are* `slack:alice`');
    expect(reply).toContain('`resourceNames`');
    expect(reply).not.toContain('system:serviceaccount');
    expect(logs.lines().find((line) => line.msg === 'Lookout may not impersonate this identity')).toMatchObject({ username: 'slack:alice' });
  });

  it('still shows the mapping without Kubernetes', async () => {
    const { reply } = await whoamiAs('UALICE', 'none');
    expect(reply).toContain('*You are* `slack:alice`');
    expect(reply).toContain('not connected to Kubernetes');
  });

  it('takes no arguments', async () => {
    const { reply } = await whoamiAs('UALICE', 'none', 'whoami bob');
    expect(reply).toMatch(/takes no arguments\nUsage: `\/ops whoami`/);
  });
});
