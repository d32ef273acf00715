import { reviewAccess } from '../../../src/kube/access-review.ts';
import { eventually, freshNamespace, impersonateOnly, roleBinding } from '../../support/kube-test-helpers.ts';
import { createOrReplace } from '../../support/servers/kube-objects.ts';
import { kubeHttpFor } from '../../support/servers/kubeconfigs.ts';
import { signedSlackForm, slashCommandBody } from '../../support/sign-slack-request.ts';
import { latencySummary, ROUNDS, spread, spreadText, startBenchLookout, type Scenario } from '../bench-support.ts';

/*
 * Issue 17: the `/ops status` card's time against the real kube-apiserver, from sending a signed
 * command until its reply reaches the (fake) response_url, one command at a time. The workload
 * has 20 pods (5 not ready), 12 Warning events and an HPA-less Deployment, and the person may
 * read it all and scale it: every read and every button's access review happens. No
 * Alertmanager (its part is one more request per namespace label).
 */

const USER = 'U024BE7LH';
const PODS = 20;

export const statusCard: Scenario = {
  id: 'status',
  needsKube: true,
  async run(context) {
    const kube = context.kube;
    if (kube === undefined) throw new Error('the status scenario needs the real kube-apiserver');
    const commands = context.option('status-commands', context.quick ? 30 : 100);
    const admin = kubeHttpFor(kube.admin);
    const namespace = await freshNamespace(admin, 'bench-status');
    const post = (path: string, body: unknown) => admin.request({ method: 'POST', path, body });
    await post(`/apis/apps/v1/namespaces/${namespace}/deployments`, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'bench', namespace },
      spec: { replicas: PODS, selector: { matchLabels: { app: 'bench' } }, template: { metadata: { labels: { app: 'bench' } }, spec: { containers: [{ name: 'bench', image: 'registry.example/bench:1' }] } } },
    });
    for (let i = 0; i < PODS; i++) {
      const name = `bench-7d9f-${String(i).padStart(5, '0')}`;
      await post(`/api/v1/namespaces/${namespace}/pods`, { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels: { app: 'bench' } }, spec: { containers: [{ name: 'bench', image: 'registry.example/bench:1' }] } });
      const ready = i >= 5;
      await admin.request({ method: 'PATCH', path: `/api/v1/namespaces/${namespace}/pods/${name}/status`, contentType: 'application/merge-patch+json', body: { status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] } } });
      if (i < 12) {
        await post(`/api/v1/namespaces/${namespace}/events`, { apiVersion: 'v1', kind: 'Event', metadata: { name: `${name}.warn`, namespace }, involvedObject: { kind: 'Pod', name, namespace }, reason: 'BackOff', message: 'Back-off restarting failed container', type: 'Warning', firstTimestamp: new Date().toISOString(), lastTimestamp: new Date().toISOString() });
      }
    }
    await createOrReplace(admin, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'operator', namespace },
      rules: [
        { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'patch'] },
        { apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['get', 'patch'] },
        { apiGroups: [''], resources: ['pods', 'events'], verbs: ['list'] },
        { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
        { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: ['list'] },
      ],
    });
    await createOrReplace(admin, roleBinding(namespace, 'alice-operates', { kind: 'Role', name: 'operator' }, { kind: 'User', name: 'slack:alice' }));
    const restoreImpersonation = await impersonateOnly(admin, ['slack:alice']);
    await eventually('the operator Role to take effect', async () => (await reviewAccess(admin, { username: 'slack:alice', groups: [] }, { verb: 'list', group: '', resource: 'pods', namespace })).allowed);
    const bench = await startBenchLookout({
      slack: { users: [{ id: USER, name: 'alice' }] },
      config: { identities: { prefix: 'slack:', users: [{ slack: USER, user: 'alice' }] } },
      extraEnv: { KUBECONFIG: kube.bot },
    });
    try {
      const url = `${bench.lookout.url}/slack/events`;
      let failures = 0;
      const statusOnce = async (): Promise<number> => {
        const responseUrl = bench.slack.responseUrl();
        const id = responseUrl.slice(responseUrl.lastIndexOf('/') + 1);
        const signed = signedSlackForm(bench.bed.signingSecret, slashCommandBody({ text: `status ${namespace}/bench`, user_id: USER, user_name: 'alice', response_url: responseUrl }), Date.now() / 1000);
        const started = performance.now();
        const res = await fetch(url, { method: 'POST', headers: { ...signed.headers }, body: signed.body });
        await res.arrayBuffer();
        while (performance.now() - started < 10_000) {
          const reply = bench.slack.responseUrlPosts.find((candidate) => candidate.id === id);
          if (reply !== undefined) {
            const text = (reply.body as { text?: string }).text ?? '';
            if (res.status !== 200 || !text.includes('*Pods not ready* 5 of 20')) failures += 1;
            return performance.now() - started;
          }
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
        failures += 1;
        return 10_000;
      };
      for (let i = 0; i < 5; i++) await statusOnce();
      const rounds: number[][] = [];
      for (let round = 0; round < ROUNDS; round++) {
        context.log(`status: round ${round + 1}/${ROUNDS}, ${commands} commands`);
        const samples: number[] = [];
        for (let i = 0; i < commands; i++) samples.push(await statusOnce());
        rounds.push(samples);
      }
      const p50 = spread(rounds.map((samples) => latencySummary(samples).p50));
      const p99 = spread(rounds.map((samples) => latencySummary(samples).p99));
      return {
        title: '/ops status: command → card at the response_url',
        figures: [
          [`card time p50 (${commands} commands a round)`, spreadText(p50)],
          [`card time p99`, spreadText(p99)],
          ...rounds.map((samples, i): [string, string] => [`  round ${i + 1}`, latencySummary(samples).text]),
          ['failed commands (non-200, wrong card, or no reply within 10 s)', String(failures)],
        ],
        budgets: [],
        notes: [
          `Per command Lookout reads as the person: the Deployment, its pods by selector (${PODS}), the HPAs and the namespace's Warning events, and makes 4 SubjectAccessReviews (Scale, Restart, Logs; Silence only with alerts). The fake Slack's response_url receives the card; polled every 2 ms.`,
          'No budget is set for it in DESIGN.md; the figures are for comparison between runs.',
          `Each round runs ${commands} commands one at a time; ${ROUNDS} rounds.`,
        ],
      };
    } finally {
      await bench.stop();
      await restoreImpersonation();
      await admin.request({ method: 'DELETE', path: `/api/v1/namespaces/${namespace}` }).catch(() => undefined);
    }
  },
};
