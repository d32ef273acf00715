import { beforeEach, describe, expect, it } from 'vitest';
import { mergeNotification } from '../../../alerts/merge-group.ts';
import { groupRef } from '../../../alerts/render.ts';
import type { Actor } from '../../../src/access/authorization.ts';
import { FOREIGN_WORKSPACE_MESSAGE } from '../../../src/access/home-workspace.ts';
import { InvalidInput } from '../../../src/errors.ts';
import type { KubeIdentity } from '../../../src/identity/resolve-identity.ts';
import { MODAL_GONE, MODAL_UNREADABLE, NOT_THIS_MESSAGE, alertButtonHandler, alertModalHandler, modalCallbackId, type AlertAction, pendingModalSchema, type AlertActionDeps } from '../../../src/slack/alert-actions.ts';
import type { ButtonClick, ViewSubmission } from '../../../src/slack/interaction-payloads.ts';
import { inProcessStore } from '../../../src/state/in-process-store.ts';
import { SqliteStore } from '../../../src/state/sqlite-store.ts';
import type { Store } from '../../../src/state/store.ts';
import { FakeGate, FakeKubeHttp, RecordingAuditTrail } from '../../helpers/access-fakes.ts';
import { freshMetrics, payload, recordingLogger } from '../../helpers/fakes.ts';
import { RecordingInteractionSlack, storedInteractions } from '../../helpers/interaction-fakes.ts';

const alice: Actor = { slackUserId: 'U024BE7LH', slackUserName: 'alice' };
const aliceIdentity: KubeIdentity = { username: 'slack:alice', groups: ['slack:sre'], derivation: [] };
const GROUP = '{}:{alertname="A"}';
const SCALE = { verb: 'update', group: 'apps', resource: 'deployments', subresource: 'scale' };

describe('alert-message actions with a modal', () => {
  let store: SqliteStore;
  let gate: FakeGate;
  let kube: FakeKubeHttp;
  let slack: RecordingInteractionSlack;
  let audit: RecordingAuditTrail;
  let deps: AlertActionDeps;
  let runs: Array<{ replicas: number; group: string }>;
  let action: AlertAction<{ replicas: number }>;
  let liveModals: () => Promise<string[]>;
  /** The one store of this test's Lookout (groups and open forms); a second replica shares it. */
  let sharedStore: Store;

  beforeEach(() => {
    store = new SqliteStore(':memory:');
    const { state } = mergeNotification(undefined, payload(GROUP, [{ fingerprint: 'a' }], { commonLabels: { alertname: 'A', namespace: 'shop', deployment: 'cart' } }));
    store.markMessageDelivered(store.addGroup(GROUP, 'C0ALERTS', state, 0), '1700000000.000100', 1);
    gate = new FakeGate({ identities: { [alice.slackUserId]: aliceIdentity } });
    kube = new FakeKubeHttp(() => ({ spec: { replicas: 2 } }));
    slack = new RecordingInteractionSlack();
    audit = new RecordingAuditTrail();
    runs = [];
    sharedStore = inProcessStore(store);
    const modals = storedInteractions('modal', pendingModalSchema, { store: sharedStore });
    liveModals = modals.live;
    deps = {
      store: sharedStore,
      gate,
      audit,
      kube,
      slack,
      modals: modals.interactions,
      log: recordingLogger().log,
      metrics: freshMetrics(),
      followUpIntervalMs: 0,
      signal: new AbortController().signal,
    };
    action = {
      actionId: 'scale',
      name: 'scale',
      coarseAccess: SCALE,
      modal: {
        view: () => ({ title: 'Scale shop/cart', submit: 'Scale', blocks: [{ type: 'input', block_id: 'replicas', label: { type: 'plain_text', text: 'Replicas' }, element: { type: 'plain_text_input', action_id: 'value' } }] }),
        fill: async ({ kube: asClicker }) => {
          const scale = await asClicker!.request<{ spec: { replicas: number } }>({ method: 'GET', path: '/apis/apps/v1/namespaces/shop/deployments/cart/scale' });
          return { title: 'Scale shop/cart', submit: 'Scale', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `now ${scale.spec.replicas}` } }] };
        },
        parse: (values) => {
          const text = values.replicas?.value?.value ?? '';
          return /^\d+$/.test(text) ? { input: { replicas: Number(text) } } : { errors: { replicas: 'a whole number, 0 or more' } };
        },
      },
      access: () => ({ ...SCALE, namespace: 'shop', name: 'cart' }),
      async run({ input, record, actor }) {
        if (input.replicas > 50) throw new InvalidInput('at most 50 replicas in shop');
        runs.push({ replicas: input.replicas, group: record.groupKey });
        return {
          auditDetail: `replicas 2 → ${input.replicas}`,
          thread: { text: `<@${actor.slackUserId}> scaled shop/cart 2 → ${input.replicas}` },
          followUp: async (progress) => {
            progress.update({ text: 'rolling out' });
            return { text: `<@${actor.slackUserId}> scaled shop/cart 2 → ${input.replicas}: rollout complete` };
          },
        };
      },
    };
  });

  const click = (overrides: Partial<ButtonClick> = {}): ButtonClick => ({
    actor: alice,
    actionId: 'scale',
    value: groupRef(GROUP),
    channelId: 'C0ALERTS',
    messageTs: '1700000000.000100',
    ephemeral: false,
    triggerId: '12345.98765.abcd2358fdea',
    responseUrl: undefined,
    ...overrides,
  });
  const submission = (privateMetadata: string, replicas: string, actor = alice): ViewSubmission => ({
    actor,
    callbackId: modalCallbackId('scale'),
    privateMetadata,
    values: { replicas: { value: { type: 'plain_text_input', value: replicas } } },
  });

  it('opens the modal before any Kubernetes or RBAC call, then fills it in as the clicker', async () => {
    const order: string[] = slack.order;
    const originalRequest = kube.request.bind(kube);
    kube.request = async (request) => {
      order.push('kubernetes');
      return originalRequest(request);
    };
    await alertButtonHandler(action, deps).handle(click());
    expect(order).toEqual(['views.open', 'kubernetes', 'views.update']);
    expect(gate.reviews).toEqual([]);
    expect(slack.views[0]).toMatchObject({ triggerId: '12345.98765.abcd2358fdea', view: { type: 'modal', callback_id: 'alert-action:scale', title: { text: 'Scale shop/cart' } } });
    expect(slack.views[0]!.view.private_metadata).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(kube.requests[0]?.impersonate).toEqual({ username: 'slack:alice', groups: ['slack:sre'] });
    expect(slack.viewUpdates[0]).toMatchObject({ viewId: 'V1', view: { private_metadata: slack.views[0]!.view.private_metadata, blocks: [{ text: { text: 'now 2' } }] } });
  });

  it('a form opened on one replica is submitted on another sharing the store, once; another person cannot submit it', async () => {
    const other = storedInteractions('modal', pendingModalSchema, { store: sharedStore });
    const otherReplica: AlertActionDeps = { ...deps, modals: other.interactions };
    await alertButtonHandler(action, deps).handle(click());
    const id = slack.views[0]!.view.private_metadata!;
    const bob = { slackUserId: 'U0BOB', slackUserName: 'bob' };
    expect((await alertModalHandler(action, otherReplica).submit(submission(id, '5', bob))).answer).toEqual({ errors: { replicas: MODAL_GONE } });
    const { answer, after } = await alertModalHandler(action, otherReplica).submit(submission(id, '5'));
    expect(answer).toBeUndefined();
    await after?.();
    expect(runs).toEqual([{ replicas: 5, group: GROUP }]);
    expect((await alertModalHandler(action, deps).submit(submission(id, '6'))).answer).toEqual({ errors: { replicas: MODAL_GONE } });
    expect(runs).toHaveLength(1);
  });

  it('a store that cannot be reached: no form is opened at the click, and a submission is answered in the form; nothing acts', async () => {
    let down = false;
    const guard = <A extends unknown[], R>(call: (...args: A) => Promise<R>) => async (...args: A): Promise<R> => {
      if (down) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      return call(...args);
    };
    const faulty: Store = { ...sharedStore, addPendingInteraction: guard(sharedStore.addPendingInteraction), peekPendingInteraction: guard(sharedStore.peekPendingInteraction), claimPendingInteraction: guard(sharedStore.claimPendingInteraction) };
    const withFaultyStore: AlertActionDeps = { ...deps, modals: storedInteractions('modal', pendingModalSchema, { store: faulty }).interactions };
    down = true;
    await alertButtonHandler(action, withFaultyStore).handle(click());
    expect(slack.views).toEqual([]);
    expect(slack.ephemerals.map((message) => message.text)).toEqual(['Lookout could not reach its store, so it opened no form. Click the button again in a moment.']);
    down = false;
    await alertButtonHandler(action, withFaultyStore).handle(click());
    const id = slack.views[0]!.view.private_metadata!;
    down = true;
    expect((await alertModalHandler(action, withFaultyStore).submit(submission(id, '5'))).answer).toEqual({ errors: { replicas: MODAL_UNREADABLE } });
    down = false;
    const { after } = await alertModalHandler(action, withFaultyStore).submit(submission(id, '5'));
    await after?.();
    expect(runs).toEqual([{ replicas: 5, group: GROUP }]);
  });

  it('a submission acts on the group the modal was opened for: reviewed, run, thread reply edited with progress, audited', async () => {
    await alertButtonHandler(action, deps).handle(click());
    const id = slack.views[0]!.view.private_metadata!;
    const { answer, after } = await alertModalHandler(action, deps).submit(submission(id, '5'));
    expect(answer).toBeUndefined();
    expect(runs).toEqual([]); // Slack gets its answer before the work starts
    await after?.();
    expect(runs).toEqual([{ replicas: 5, group: GROUP }]);
    expect(gate.reviews).toEqual([{ actor: alice, attributes: { ...SCALE, namespace: 'shop', name: 'cart' } }]);
    expect(slack.posts).toEqual([expect.objectContaining({ channel: 'C0ALERTS', threadTs: '1700000000.000100', text: '<@U024BE7LH> scaled shop/cart 2 → 5' })]);
    expect(slack.updates.at(-1)?.text).toBe('<@U024BE7LH> scaled shop/cart 2 → 5: rollout complete');
    expect(audit.entries).toEqual([expect.objectContaining({ action: 'scale', outcome: 'allowed', detail: 'replicas 2 → 5', identity: aliceIdentity })]);
  });

  it('bad input is shown next to the input, and the form stays usable', async () => {
    await alertButtonHandler(action, deps).handle(click());
    const id = slack.views[0]!.view.private_metadata!;
    expect(await alertModalHandler(action, deps).submit(submission(id, 'many'))).toEqual({ answer: { errors: { replicas: 'a whole number, 0 or more' } } });
    const { after } = await alertModalHandler(action, deps).submit(submission(id, '3'));
    await after?.();
    expect(runs).toEqual([{ replicas: 3, group: GROUP }]);
  });

  it('a forged reference, another person, or a second submission does nothing and says so in the form', async () => {
    await alertButtonHandler(action, deps).handle(click());
    const id = slack.views[0]!.view.private_metadata!;
    const modal = alertModalHandler(action, deps);
    const gone = { answer: { errors: { replicas: MODAL_GONE } } };
    expect(await modal.submit(submission('AAAAAAAAAAAAAAAAAAAAAA', '5'))).toEqual(gone);
    expect(await modal.submit(submission(id, '5', { slackUserId: 'U0MALLORY', slackUserName: 'mallory' }))).toEqual(gone);
    const first = await modal.submit(submission(id, '5'));
    await first.after?.();
    expect(await modal.submit(submission(id, '6'))).toEqual(gone);
    expect(runs).toEqual([{ replicas: 5, group: GROUP }]);
    expect(gate.reviews).toHaveLength(1);
  });

  it('a click whose value names another group opens nothing and is audited', async () => {
    await alertButtonHandler(action, deps).handle(click({ value: groupRef('{}:{alertname="B"}') }));
    expect(slack.views).toEqual([]);
    expect(slack.ephemerals.map((message) => message.text)).toEqual([NOT_THIS_MESSAGE]);
    expect(audit.entries).toEqual([expect.objectContaining({ outcome: 'denied', attributes: SCALE })]);
  });

  it("a click on another channel's message (same ts) opens nothing", async () => {
    await alertButtonHandler(action, deps).handle(click({ channelId: 'C0OTHER' }));
    expect(slack.views).toEqual([]);
    expect(slack.ephemerals.map((message) => message.text)).toEqual([NOT_THIS_MESSAGE]);
  });

  it('a refused submission (RBAC) changes nothing and names the permission to the clicker only', async () => {
    gate.allow = () => false;
    await alertButtonHandler(action, deps).handle(click());
    const { after } = await alertModalHandler(action, deps).submit(submission(slack.views[0]!.view.private_metadata!, '5'));
    await after?.();
    expect(runs).toEqual([]);
    expect(slack.posts).toEqual([]);
    expect(slack.ephemerals.map((message) => message.text)).toEqual([expect.stringContaining('`update` on `deployments/scale.apps`')]);
    expect(audit.entries).toEqual([expect.objectContaining({ outcome: 'denied' })]);
  });

  it("a UserError from the action reaches the clicker as it is, audited as failed", async () => {
    await alertButtonHandler(action, deps).handle(click());
    const { after } = await alertModalHandler(action, deps).submit(submission(slack.views[0]!.view.private_metadata!, '99'));
    await after?.();
    expect(slack.ephemerals.map((message) => message.text)).toEqual(['at most 50 replicas in shop']);
    expect(audit.entries).toEqual([expect.objectContaining({ outcome: 'failed', detail: 'at most 50 replicas in shop' })]);
  });

  it('a person of another workspace (Slack Connect) gets no form and nothing is read as them', async () => {
    deps.home = { get: async () => ({ teamId: 'T0HOME' }) };
    await alertButtonHandler(action, deps).handle(click({ actor: { ...alice, teamId: 'T0OTHER' } }));
    expect(slack.views).toEqual([]);
    expect(kube.requests).toEqual([]);
    expect(await liveModals()).toEqual([]);
    expect(slack.ephemerals.map((message) => message.text)).toEqual([FOREIGN_WORKSPACE_MESSAGE]);
    expect(audit.entries).toEqual([expect.objectContaining({ outcome: 'denied', attributes: SCALE, detail: 'refused: not a member of this Slack workspace (team T0OTHER)' })]);
    await alertButtonHandler(action, deps).handle(click({ actor: { ...alice, teamId: 'T0HOME' } }));
    expect(slack.views).toHaveLength(1);
  });

  it('when views.open fails (trigger expired), the clicker is told to click again and no form is pending', async () => {
    slack.failOpenView = new Error('expired_trigger_id');
    await alertButtonHandler(action, deps).handle(click());
    expect(slack.ephemerals.map((message) => message.text)).toEqual([expect.stringContaining('Click the button again')]);
    expect(await liveModals()).toEqual([]);
  });
});
