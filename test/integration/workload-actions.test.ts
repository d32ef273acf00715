import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reviewAccess } from '../../src/kube/access-review.ts';
import type { KubeHttp } from '../../src/kube/kube-http.ts';
import type { FakeSlack } from '../support/fake-slack.ts';
import { eventually, freshNamespace, impersonateOnly, roleBinding, writeStatus } from '../support/kube-test-helpers.ts';
import { waitFor } from '../support/free-port.ts';
import { startLookout, type LookoutProcess } from '../support/lookout-process.ts';
import { startLookoutTestBed, type LookoutTestBed } from '../support/lookout-test-bed.ts';
import { createOrReplace, type KubeObject } from '../support/servers/kube-objects.ts';
import { kubeHttpFor } from '../support/servers/kubeconfigs.ts';
import { testServers } from '../support/servers/test-servers.ts';
import { signedSlackForm, slashCommandBody } from '../support/sign-slack-request.ts';
import { blockActionsPayload, postSignedInteraction, viewSubmissionPayload } from '../support/slack-interactions.ts';

/*
 * `/ops scale` and `/ops restart` end to end: Lookout as `npm start` runs it (the bot's
 * kubeconfig), the real kube-apiserver, the fake Slack, signed slash commands and signed
 * Confirm clicks. No controller-manager runs here: nothing creates pods or writes a workload's
 * status, so the tests write status as admin where they follow a rollout.
 *
 *   alice  slack:alice  Role "scaler": deployments/scale + statefulsets/scale (get, patch) ONLY,
 *                       plus patch horizontalpodautoscalers named `web`
 *   bob    slack:bob    nothing
 *   carol  slack:carol  Role "restarter": patch deployments, statefulsets, daemonsets
 */

const SIGNING_SECRET = 'workload-actions-signing-secret-0123';
const ALICE = { id: 'U0ALICE', name: 'alice' };
const BOB = { id: 'U0BOB', name: 'bob' };
const CAROL = { id: 'U0CAROL', name: 'carol' };
const IDENTITIES = { prefix: 'slack:', users: [{ slack: ALICE.id, user: 'alice' }, { slack: BOB.id, user: 'bob' }, { slack: CAROL.id, user: 'carol' }] };

const template = (app: string) => ({ metadata: { labels: { app } }, spec: { containers: [{ name: app, image: `registry.example/${app}:1` }] } });
const deployment = (namespace: string, name: string, replicas: number, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace },
  spec: { replicas, selector: { matchLabels: { app: name } }, template: template(name), ...extra },
});
const statefulSet = (namespace: string, name: string, replicas: number, strategy = 'RollingUpdate'): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name, namespace },
  spec: { replicas, serviceName: name, selector: { matchLabels: { app: name } }, template: template(name), updateStrategy: { type: strategy } },
});
const role = (namespace: string, name: string, rules: unknown[]): KubeObject => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace }, rules });

describe('scale and restart against the real kube-apiserver', () => {
  const servers = testServers();
  let namespace: string;
  let admin: KubeHttp;
  let bed: LookoutTestBed;
  let slack: FakeSlack;
  let lookout: LookoutProcess;
  let restoreImpersonation: (() => Promise<void>) | undefined;
  let clicks = 0;

  /** Creates a workload or HPA (the harness's createOrReplace knows only RBAC and core kinds). */
  const create = async (object: KubeObject): Promise<void> => {
    const plural = `${object.kind.toLowerCase()}s`;
    const base = object.apiVersion.includes('/') ? `/apis/${object.apiVersion}` : `/api/${object.apiVersion}`;
    await admin.request({ method: 'POST', path: `${base}/namespaces/${object.metadata.namespace ?? ''}/${plural}`, body: object });
  };
  const path = (resource: string, name: string) => `/apis/apps/v1/namespaces/${namespace}/${resource}/${name}`;
  const replicasOf = async (resource: string, name: string) => (await admin.request<{ spec: { replicas: number } }>({ method: 'GET', path: path(resource, name) })).spec.replicas;

  beforeAll(async () => {
    admin = kubeHttpFor(servers.kube.kubeconfigs.admin);
    namespace = await freshNamespace(admin, 'actions');
    for (const object of [
      deployment(namespace, 'cart', 2),
      deployment(namespace, 'web', 3),
      deployment(namespace, 'frozen', 1, { paused: true }),
      deployment(namespace, 'rollout', 1),
      statefulSet(namespace, 'db', 1),
      statefulSet(namespace, 'legacy', 1, 'OnDelete'),
      {
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: 'web', namespace },
        spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 2, maxReplicas: 5, metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }] },
      },
    ]) {
      await create(object);
    }
    // Only the scale subresource: no get/patch on deployments themselves.
    await createOrReplace(admin, role(namespace, 'scaler', [
      { apiGroups: ['apps'], resources: ['deployments/scale', 'statefulsets/scale'], verbs: ['get', 'patch'] },
      { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], resourceNames: ['web'], verbs: ['patch'] },
    ]));
    await createOrReplace(admin, role(namespace, 'restarter', [{ apiGroups: ['apps'], resources: ['deployments', 'statefulsets', 'daemonsets'], verbs: ['patch'] }]));
    await createOrReplace(admin, roleBinding(namespace, 'alice-scales', { kind: 'Role', name: 'scaler' }, { kind: 'User', name: 'slack:alice' }));
    await createOrReplace(admin, roleBinding(namespace, 'carol-restarts', { kind: 'Role', name: 'restarter' }, { kind: 'User', name: 'slack:carol' }));

    restoreImpersonation = await impersonateOnly(admin, ['slack:alice', 'slack:bob', 'slack:carol']);
    await eventually('the RoleBindings to take effect', async () =>
      (await reviewAccess(admin, { username: 'slack:alice', groups: [] }, { verb: 'patch', group: 'apps', resource: 'deployments', subresource: 'scale', namespace, name: 'cart' })).allowed &&
      (await reviewAccess(admin, { username: 'slack:carol', groups: [] }, { verb: 'patch', group: 'apps', resource: 'deployments', namespace, name: 'cart' })).allowed,
    );

    bed = await startLookoutTestBed({
      slack: { users: [ALICE, BOB, CAROL] },
      config: { channel: 'C0ALERTS', identities: IDENTITIES, scale: { maxReplicas: 50, maxReplicasByNamespace: { [namespace]: 10 } }, rollout: { timeout: '20s', pollInterval: '100ms' }, interactions: { progressInterval: '500ms' } },
      signingSecret: SIGNING_SECRET,
      extraEnv: { KUBECONFIG: servers.kube.kubeconfigs.bot },
    });
    slack = bed.slack;
    lookout = await startLookout(bed.env);
  });

  afterAll(async () => {
    await lookout?.stop();
    await bed?.close();
    await restoreImpersonation?.();
  });

  type Post = { text: string; blocks?: Array<{ type: string; elements?: Array<{ action_id: string; value: string }> }>; replace_original?: boolean };
  const postsTo = (url: string): Post[] => {
    const id = url.slice(url.lastIndexOf('/') + 1);
    return slack.responseUrlPosts.filter((post) => post.id === id).map((post) => post.body as Post);
  };

  /** Sends a signed `/ops …`; returns its response_url and the first reply. */
  async function ops(user: { id: string; name: string }, text: string): Promise<{ url: string; reply: Post }> {
    const url = slack.responseUrl();
    const signed = signedSlackForm(SIGNING_SECRET, slashCommandBody({ user_id: user.id, user_name: user.name, text, response_url: url }), Math.floor(Date.now() / 1000));
    const res = await fetch(`${lookout.url}/slack/events`, { method: 'POST', headers: { ...signed.headers }, body: signed.body });
    expect(res.status).toBe(200);
    const reply = await waitFor(`the reply to "${text}"`, () => postsTo(url)[0]);
    return { url, reply };
  }

  /** A signed block_actions click on a button of an ephemeral reply; returns the click's response_url. */
  async function clickButton(user: { id: string; name: string }, actionId: string, value: string): Promise<string> {
    clicks += 1;
    const url = slack.responseUrl();
    const message = { channel: 'C0ALERTS', ts: `1700000100.${String(clicks).padStart(6, '0')}`, ephemeral: true };
    const res = await postSignedInteraction(lookout.url, SIGNING_SECRET, blockActionsPayload({ user, message, button: { actionId, value, label: 'Confirm' }, responseUrl: url }));
    expect(res.status).toBe(200);
    return url;
  }

  const confirmId = (reply: Post): string => {
    const button = reply.blocks?.find((block) => block.type === 'actions')?.elements?.find((element) => element.action_id === 'command:confirm');
    if (button === undefined) throw new Error(`no Confirm button in: ${reply.text}`);
    return button.value;
  };
  const finalOf = (url: string, pattern: RegExp) => waitFor(`a reply matching ${pattern}`, () => postsTo(url).find((post) => pattern.test(post.text)));

  it('scales through the scale subresource with a Role that grants only deployments/scale', async () => {
    const { reply } = await ops(ALICE, `scale ${namespace}/cart 4`);
    expect(reply.text).toBe(`${namespace}/cart: 2 → 4 replicas`);
    expect(await replicasOf('deployments', 'cart')).toBe(4);
  });

  it('refuses a person without the permission, names it, and changes nothing', async () => {
    const { reply } = await ops(BOB, `scale ${namespace}/cart 7`);
    expect(reply.text).toBe(`Not allowed: this needs \`patch\` on \`deployments/scale.apps\` named cart in namespace ${namespace}.`);
    expect(await replicasOf('deployments', 'cart')).toBe(4);
  });

  it('scales a StatefulSet (kind in the path, and kubectl’s -n form)', async () => {
    expect((await ops(ALICE, `scale ${namespace}/sts/db 2`)).reply.text).toBe(`${namespace}/statefulset/db: 1 → 2 replicas`);
    expect(await replicasOf('statefulsets', 'db')).toBe(2);
    expect((await ops(ALICE, `scale -n ${namespace} statefulset/db --replicas=3`)).reply.text).toBe(`${namespace}/statefulset/db: 2 → 3 replicas`);
    expect(await replicasOf('statefulsets', 'db')).toBe(3);
  });

  it('refuses more than the namespace maximum, naming the limit', async () => {
    const { reply } = await ops(ALICE, `scale ${namespace}/cart 11`);
    expect(reply.text).toContain(`Lookout's limit of 10 for namespace ${namespace}`);
    expect(await replicasOf('deployments', 'cart')).toBe(4);
  });

  it('refuses plain scaling of a workload an HPA scales, naming its bounds, and changes the bounds with --hpa-max', async () => {
    const { reply } = await ops(ALICE, `scale ${namespace}/web 4`);
    expect(reply.text).toContain('is scaled by HPA `web` (min 2, max 5');
    expect(reply.text).toContain('--hpa-max');
    expect(await replicasOf('deployments', 'web')).toBe(3);

    expect((await ops(ALICE, `scale ${namespace}/web --hpa-max 8`)).reply.text).toContain('HPA `web` max 5 → 8');
    const hpa = await admin.request<{ spec: { minReplicas: number; maxReplicas: number } }>({ method: 'GET', path: `/apis/autoscaling/v2/namespaces/${namespace}/horizontalpodautoscalers/web` });
    expect(hpa.spec).toMatchObject({ minReplicas: 2, maxReplicas: 8 });
    // Reviewed separately as `patch horizontalpodautoscalers`: bob may not.
    expect((await ops(BOB, `scale ${namespace}/web --hpa-min 1`)).reply.text).toBe(
      `Not allowed: this needs \`patch\` on \`horizontalpodautoscalers.autoscaling\` named web in namespace ${namespace}.`,
    );
  });

  it('asks before scaling down by more than half; Confirm acts, a forged Confirm does nothing', async () => {
    const { reply } = await ops(ALICE, `scale ${namespace}/cart 1`);
    expect(reply.text).toContain('from 4 to 1 replicas');
    expect(await replicasOf('deployments', 'cart')).toBe(4);

    const forged = await clickButton(ALICE, 'command:confirm', 'AAAAAAAAAAAAAAAAAAAAAA');
    await finalOf(forged, /expired, was already answered, or is not yours/);
    // Someone else clicking the real button does nothing either.
    const stolen = await clickButton(BOB, 'command:confirm', confirmId(reply));
    await finalOf(stolen, /is not yours/);
    expect(await replicasOf('deployments', 'cart')).toBe(4);

    const confirmed = await clickButton(ALICE, 'command:confirm', confirmId(reply));
    await finalOf(confirmed, new RegExp(`^${namespace}/cart: 4 → 1 replicas`));
    expect(await replicasOf('deployments', 'cart')).toBe(1);
  });

  it('a change made between the question and Confirm: nothing is overwritten, and the question for what it would do now is asked', async () => {
    const { reply } = await ops(ALICE, `scale ${namespace}/cart 0`);
    expect(reply.text).toContain('from 1 to 0 replicas');
    await admin.request({ method: 'PATCH', path: `${path('deployments', 'cart')}/scale`, contentType: 'application/merge-patch+json', body: { spec: { replicas: 6 } } });
    const url = await clickButton(ALICE, 'command:confirm', confirmId(reply));
    const answer = await finalOf(url, /changed since you asked, so nothing was done/);
    expect(answer.text).toContain(`Scale *${namespace}/cart* from 6 to 0 replicas? This stops every pod.`);
    expect(await replicasOf('deployments', 'cart')).toBe(6);
    const fresh = confirmId(answer);
    expect(fresh).not.toBe(confirmId(reply));
    const cancelled = await clickButton(ALICE, 'command:cancel', fresh);
    await finalOf(cancelled, /^Cancelled; nothing was changed\.$/);
    expect(await replicasOf('deployments', 'cart')).toBe(6);
  });

  it('follows the rollout until complete (status written as admin: no controller-manager runs here)', async () => {
    const { url, reply } = await ops(ALICE, `scale ${namespace}/rollout 3`);
    expect(reply.text).toBe(`${namespace}/rollout: 1 → 3 replicas`);
    const progress = await finalOf(url, /Rolling out: desired 3/);
    expect(progress.replace_original).toBe(true);
    const generation = (await admin.request<{ metadata: { generation: number } }>({ method: 'GET', path: path('deployments', 'rollout') })).metadata.generation;
    await writeStatus(admin, path('deployments', 'rollout'), { observedGeneration: generation, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 });
    const done = await finalOf(url, /Rollout complete: desired 3 · updated 3 · ready 3 · available 3/);
    expect(done.text.startsWith(`${namespace}/rollout: 1 → 3 replicas`)).toBe(true);
    expect(postsTo(url).length).toBeLessThanOrEqual(5);
  });

  it('reports a stalled rollout with its reason', async () => {
    const { url } = await ops(ALICE, `scale ${namespace}/rollout 4`);
    await writeStatus(admin, path('deployments', 'rollout'), {
      conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "rollout-1" has timed out progressing.', lastUpdateTime: new Date().toISOString(), lastTransitionTime: new Date().toISOString() }],
    });
    const stalled = await finalOf(url, /Rollout stalled \(ProgressDeadlineExceeded: ReplicaSet "rollout-1" has timed out progressing\.\)/);
    expect(stalled.text).toContain('desired 4');
  });

  it('restarts after Confirm: sets restartedAt (RFC 3339) on the pod template as the person', async () => {
    const before = Date.now();
    const { reply } = await ops(CAROL, `restart ${namespace}/cart`);
    expect(reply.text).toContain(`Restart *${namespace}/cart*?`);
    const url = await clickButton(CAROL, 'command:confirm', confirmId(reply));
    await finalOf(url, /restarting \(restartedAt/);
    const object = await admin.request<{ spec: { template: { metadata: { annotations?: Record<string, string> } } } }>({ method: 'GET', path: path('deployments', 'cart') });
    const stamp = object.spec.template.metadata.annotations?.['kubectl.kubernetes.io/restartedAt'] ?? '';
    expect(stamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(Date.parse(stamp)).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
  });

  it('refuses a person without patch on deployments, naming it', async () => {
    const { reply } = await ops(ALICE, `restart ${namespace}/cart`);
    expect(reply.text).toBe(`Not allowed: this needs \`patch\` on \`deployments.apps\` named cart in namespace ${namespace}.`);
  });

  it('refuses to restart a paused Deployment, saying it is paused', async () => {
    const { reply } = await ops(CAROL, `restart ${namespace}/frozen`);
    expect(reply.text).toContain(`${namespace}/frozen is paused`);
    expect(reply.blocks).toBeUndefined();
  });

  it('warns that a StatefulSet with updateStrategy OnDelete restarts nothing by itself', async () => {
    const { reply } = await ops(CAROL, `restart ${namespace}/statefulset/legacy`);
    expect(reply.text).toContain('updateStrategy is OnDelete');
    const url = await clickButton(CAROL, 'command:confirm', confirmId(reply));
    await finalOf(url, /OnDelete: no pod restarts until it is deleted/);
  });

  describe('the Scale and Restart buttons on an alert message', () => {
    let alert: { ts: string; channel: string; blocks?: readonly unknown[] | undefined };
    let other: { ts: string; channel: string; blocks?: readonly unknown[] | undefined };

    const buttonValue = (message: { blocks?: readonly unknown[] | undefined }, actionId: string): string | undefined => {
      for (const block of (message.blocks ?? []) as Array<{ elements?: Array<{ action_id?: string; value?: string }> }>) {
        const button = block.elements?.find((element) => element.action_id === actionId);
        if (button?.value) return button.value;
      }
      return undefined;
    };
    const current = (ts: string) => slack.messages('C0ALERTS').find((message) => message.ts === ts)!;

    /** A signed block_actions click on a button of an alert message. */
    async function clickAlert(user: { id: string; name: string }, message: { ts: string; channel: string }, actionId: string, value: string, triggerId = slack.issueTriggerId()): Promise<void> {
      const res = await postSignedInteraction(lookout.url, SIGNING_SECRET, blockActionsPayload({ user, message, button: { actionId, value }, triggerId, responseUrl: slack.responseUrl() }));
      expect(res.status).toBe(200);
    }

    /** A signed view_submission of the Scale form. */
    async function submitScale(user: { id: string; name: string }, privateMetadata: string, replicasBlock: string, replicas: string, largeDown = false): Promise<Response> {
      const payload = viewSubmissionPayload({
        user,
        triggerId: slack.issueTriggerId(),
        view: { callbackId: 'alert-action:workload:scale', privateMetadata, title: 'Scale' },
        values: {
          [replicasBlock]: { value: { type: 'plain_text_input', value: replicas } },
          'confirm-large': { value: { type: 'checkboxes', selected_options: largeDown ? [{ text: { type: 'plain_text', text: 'Yes' }, value: 'yes' }] : [] } },
        },
      });
      return postSignedInteraction(lookout.url, SIGNING_SECRET, payload);
    }

    beforeAll(async () => {
      await create(deployment(namespace, 'api', 2));
      await create(deployment(namespace, 'worker', 1));
      await createOrReplace(admin, roleBinding(namespace, 'alice-restarts', { kind: 'Role', name: 'restarter' }, { kind: 'User', name: 'slack:alice' }));
      for (const name of ['api', 'worker']) {
        const res = await fetch(`${lookout.url}/alertmanager`, {
          method: 'POST',
          headers: { authorization: `Bearer ${bed.webhookToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            version: '4',
            groupKey: `{}:{alertname="Down-${name}"}`,
            status: 'firing',
            receiver: 'lookout',
            groupLabels: { alertname: `Down-${name}` },
            commonLabels: { alertname: `Down-${name}`, namespace, deployment: name },
            commonAnnotations: {},
            externalURL: 'http://alertmanager.example',
            alerts: [{ status: 'firing', labels: { alertname: `Down-${name}`, namespace, deployment: name }, annotations: {}, startsAt: '2026-01-01T00:00:00Z', endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: `fp-${name}` }],
          }),
        });
        expect(res.status).toBe(200);
      }
      // Enrichment finds the Deployment and the message is edited to offer Scale and Restart.
      [alert, other] = await waitFor('both alert messages with Scale buttons', () => {
        const api = slack.messages('C0ALERTS').find((message) => message.text.includes('Down-api'));
        const worker = slack.messages('C0ALERTS').find((message) => message.text.includes('Down-worker'));
        return api && worker && buttonValue(api, 'workload:scale') && buttonValue(worker, 'workload:scale') ? [api, worker] : undefined;
      });
    });

    it('Scale opens the form at once, fills in the current replicas, and a submission scales as the clicker with a thread reply', async () => {
      const opened = slack.views().length;
      await clickAlert(ALICE, alert, 'workload:scale', buttonValue(current(alert.ts), 'workload:scale')!);
      const view = await waitFor('the Scale form', () => slack.views()[opened] as { private_metadata: string; callback_id: string } | undefined);
      expect(view.callback_id).toBe('alert-action:workload:scale');
      const filled = await waitFor('the form filled in', () => slack.viewUpdates().find((update) => JSON.stringify(update.view).includes('"initial_value":"2"')));
      const block = ((filled.view as { blocks: Array<{ block_id?: string }> }).blocks.find((b) => b.block_id?.startsWith('replicas')))!.block_id!;
      expect((await submitScale(ALICE, view.private_metadata, block, '3')).status).toBe(200);
      await eventually('api at 3 replicas', async () => (await replicasOf('deployments', 'api')) === 3);
      const reply = await waitFor('the thread reply', () => slack.replies('C0ALERTS', alert.ts).find((message) => message.text.includes('scaled')));
      expect(reply.text).toContain(`<@${ALICE.id}> scaled: ${namespace}/api: 2 → 3 replicas`);
    });

    it('a forged value (another group) or a click on another message opens nothing and changes nothing', async () => {
      const opened = slack.views().length;
      await clickAlert(ALICE, alert, 'workload:scale', buttonValue(current(other.ts), 'workload:scale')!);
      await clickAlert(ALICE, { ts: alert.ts, channel: 'C0ELSEWHERE' }, 'workload:restart', buttonValue(current(alert.ts), 'workload:restart')!);
      await waitFor('the refusal', () => slack.ephemerals('C0ALERTS').find((message) => message.user === ALICE.id && message.text.includes('does not belong to this message')));
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(slack.views()).toHaveLength(opened);
      expect(await replicasOf('deployments', 'api')).toBe(3);
      const template = await admin.request<{ spec: { template: { metadata: { annotations?: Record<string, string> } } } }>({ method: 'GET', path: path('deployments', 'api') });
      expect(template.spec.template.metadata.annotations?.['kubectl.kubernetes.io/restartedAt']).toBeUndefined();
    });

    it('a forged form reference does nothing', async () => {
      const res = await submitScale(ALICE, 'AAAAAAAAAAAAAAAAAAAAAA', 'replicas', '9');
      expect(await res.json()).toMatchObject({ response_action: 'errors' });
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await replicasOf('deployments', 'api')).toBe(3);
    });

    it('Scale by a person without the permission is refused, naming it, and changes nothing', async () => {
      const opened = slack.views().length;
      await clickAlert(BOB, alert, 'workload:scale', buttonValue(current(alert.ts), 'workload:scale')!);
      const view = await waitFor('the Scale form', () => slack.views()[opened] as { private_metadata: string } | undefined);
      await submitScale(BOB, view.private_metadata, 'replicas', '5');
      const refusal = await waitFor('the refusal to bob', () => slack.ephemerals('C0ALERTS').find((message) => message.user === BOB.id && message.text.startsWith('Not allowed')));
      expect(refusal.text).toBe(`Not allowed: this needs \`patch\` on \`deployments/scale.apps\` named api in namespace ${namespace}.`);
      expect(await replicasOf('deployments', 'api')).toBe(3);
    });

    it('Restart (confirmed in Slack\'s dialog) sets restartedAt as the clicker and says so in the thread', async () => {
      await clickAlert(ALICE, other, 'workload:restart', buttonValue(current(other.ts), 'workload:restart')!);
      const reply = await waitFor('the thread reply', () => slack.replies('C0ALERTS', other.ts).find((message) => message.text.includes('restarted')));
      expect(reply.text).toContain(`<@${ALICE.id}> restarted: ${namespace}/worker: restarting (restartedAt`);
      const object = await admin.request<{ spec: { template: { metadata: { annotations?: Record<string, string> } } } }>({ method: 'GET', path: path('deployments', 'worker') });
      expect(object.spec.template.metadata.annotations?.['kubectl.kubernetes.io/restartedAt']).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    });
  });
});
