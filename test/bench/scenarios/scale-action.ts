import { reviewAccess } from '../../../src/kube/access-review.ts';
import type { KubeHttp } from '../../../src/kube/kube-http.ts';
import { eventually, freshNamespace, roleBinding } from '../../support/kube-test-helpers.ts';
import { createOrReplace, type KubeObject } from '../../support/servers/kube-objects.ts';
import { kubeHttpFor } from '../../support/servers/kubeconfigs.ts';
import { signedSlackForm, slashCommandBody } from '../../support/sign-slack-request.ts';
import { latencySummary, ROUNDS, spread, spreadText, startBenchLookout, type BudgetCheck, type Scenario } from '../bench-support.ts';

/*
 * DESIGN.md: a command is acknowledged within 100 ms p99, and an action's change is visible in
 * the API server within 500 ms p99. Signed `/ops scale <ns>/bench N` commands, one at a time,
 * alternating between 2 and 3 replicas (never a scale-down that asks first), against the real
 * kube-apiserver; the person holds a Role granting only deployments/scale. Ack = from sending to
 * Lookout's HTTP 200; visible = from sending until an admin GET of the Deployment shows the new
 * count (polled every 5 ms, so the figure includes up to 5 ms of polling).
 */

const ACK_BUDGET_MS = 100;
const VISIBLE_BUDGET_MS = 500;
const USER = 'U024BE7LH';

export const scaleAction: Scenario = {
  id: 'scale',
  needsKube: true,
  async run(context) {
    const kube = context.kube;
    if (kube === undefined) throw new Error('the scale scenario needs the real kube-apiserver');
    const commands = context.option('scale-commands', context.quick ? 30 : 100);
    const admin = kubeHttpFor(kube.admin);
    const namespace = await freshNamespace(admin, 'bench-scale');
    // The harness's createOrReplace knows RBAC and core kinds only: the Deployment is POSTed.
    await admin.request({
      method: 'POST',
      path: `/apis/apps/v1/namespaces/${namespace}/deployments`,
      body: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'bench', namespace },
      spec: { replicas: 2, selector: { matchLabels: { app: 'bench' } }, template: { metadata: { labels: { app: 'bench' } }, spec: { containers: [{ name: 'bench', image: 'registry.example/bench:1' }] } } },
      },
    });
    await createOrReplace(admin, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'scaler', namespace }, rules: [{ apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['get', 'patch'] }] });
    await createOrReplace(admin, roleBinding(namespace, 'alice-scales', { kind: 'Role', name: 'scaler' }, { kind: 'User', name: 'slack:alice' }));
    const originalImpersonate = await admin.request<KubeObject>({ method: 'GET', path: '/apis/rbac.authorization.k8s.io/v1/clusterroles/lookout-impersonate' });
    await createOrReplace(admin, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'lookout-impersonate', labels: { 'app.kubernetes.io/name': 'lookout' } },
      rules: [{ apiGroups: [''], resources: ['users'], verbs: ['impersonate'], resourceNames: ['slack:alice'] }],
    });
    await eventually('the scaler Role to take effect', async () =>
      (await reviewAccess(admin, { username: 'slack:alice', groups: [] }, { verb: 'patch', group: 'apps', resource: 'deployments', subresource: 'scale', namespace, name: 'bench' })).allowed,
    );
    const bench = await startBenchLookout({
      slack: { users: [{ id: USER, name: 'alice' }] },
      // Rollout progress is not what is measured: follow it briefly (no controller-manager runs).
      config: { identities: { prefix: 'slack:', users: [{ slack: USER, user: 'alice' }] }, rollout: { timeout: '1s', pollInterval: '500ms' } },
      extraEnv: { KUBECONFIG: kube.bot },
    });
    try {
      const url = `${bench.lookout.url}/slack/events`;
      let replicas = 2;
      let failures = 0;
      const scaleOnce = async (): Promise<{ ack: number; visible: number }> => {
        replicas = replicas === 2 ? 3 : 2;
        const signed = signedSlackForm(bench.bed.signingSecret, slashCommandBody({ text: `scale ${namespace}/bench ${replicas}`, user_id: USER, user_name: 'alice', response_url: bench.slack.responseUrl() }), Date.now() / 1000);
        const started = performance.now();
        const res = await fetch(url, { method: 'POST', headers: { ...signed.headers }, body: signed.body });
        await res.arrayBuffer();
        const ack = performance.now() - started;
        if (res.status !== 200) failures += 1;
        const visible = await visibleAfter(admin, namespace, replicas, started);
        if (visible === undefined) failures += 1;
        return { ack, visible: visible ?? 10_000 };
      };
      for (let i = 0; i < 5; i++) await scaleOnce();
      const rounds: Array<{ ack: number[]; visible: number[] }> = [];
      for (let round = 0; round < ROUNDS; round++) {
        context.log(`scale: round ${round + 1}/${ROUNDS}, ${commands} commands`);
        const ack: number[] = [];
        const visible: number[] = [];
        for (let i = 0; i < commands; i++) {
          const sample = await scaleOnce();
          ack.push(sample.ack);
          visible.push(sample.visible);
        }
        rounds.push({ ack, visible });
      }
      const ackP99 = spread(rounds.map((r) => latencySummary(r.ack).p99));
      const visibleP99 = spread(rounds.map((r) => latencySummary(r.visible).p99));
      const budgets: BudgetCheck[] = [
        { what: 'scale command ack p99', limit: `< ${ACK_BUDGET_MS} ms`, measured: spreadText(ackP99), pass: ackP99.median < ACK_BUDGET_MS && failures === 0 },
        { what: 'scale command → change visible in the API server, p99', limit: `< ${VISIBLE_BUDGET_MS} ms`, measured: spreadText(visibleP99), pass: visibleP99.median < VISIBLE_BUDGET_MS && failures === 0 },
      ];
      return {
        title: 'Scale action: ack and command → change visible in the API server',
        figures: [
          [`ack p99 (${commands} commands a round)`, spreadText(ackP99)],
          ...rounds.map((r, i): [string, string] => [`  round ${i + 1} ack`, latencySummary(r.ack).text]),
          [`command → visible p99`, spreadText(visibleP99)],
          ...rounds.map((r, i): [string, string] => [`  round ${i + 1} visible`, latencySummary(r.visible).text]),
          ['failed commands (non-200 or never visible within 10 s)', String(failures)],
        ],
        budgets,
        notes: [
          'Each command is signed as Slack signs it, with its own response_url. Between commands the next one waits until the previous change is visible, so they do not overlap.',
          'Per command Lookout makes: SubjectAccessReview, the HPA list (as Lookout), GET scale and PATCH scale (merge patch, impersonating the person), then follows the rollout briefly; the PATCH is what becomes visible.',
          `Each round runs ${commands} commands; ${ROUNDS} rounds; a budget passes on the median round.`,
        ],
      };
    } finally {
      await bench.stop();
      const { metadata, rules } = originalImpersonate as KubeObject & { rules: unknown };
      await createOrReplace(admin, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: metadata.name, labels: metadata['labels'] }, rules });
      await admin.request({ method: 'DELETE', path: `/api/v1/namespaces/${namespace}` }).catch(() => undefined);
    }
  },
};

/** Milliseconds from `started` until the Deployment shows `replicas`, or undefined after 10 s. */
async function visibleAfter(admin: KubeHttp, namespace: string, replicas: number, started: number): Promise<number | undefined> {
  const path = `/apis/apps/v1/namespaces/${namespace}/deployments/bench`;
  while (performance.now() - started < 10_000) {
    const object = await admin.request<{ spec: { replicas: number } }>({ method: 'GET', path });
    if (object.spec.replicas === replicas) return performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return undefined;
}
