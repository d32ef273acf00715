import { beforeEach, describe, expect, it } from 'vitest';
import { ACK_ACTION_ID, UNACK_ACTION_ID } from '../../../alerts/alert-buttons.ts';
import { defaultEnrichmentConfig } from '../../../alerts/enrichers/enrichment-config.ts';
import { mergeNotification } from '../../../alerts/merge-group.ts';
import { groupRef } from '../../../alerts/render.ts';
import type { Actor } from '../../../src/access/authorization.ts';
import { FOREIGN_WORKSPACE_MESSAGE, HomeWorkspace } from '../../../src/access/home-workspace.ts';
import type { KubeIdentity } from '../../../src/identity/resolve-identity.ts';
import { ACKNOWLEDGE_REASON, UNACKNOWLEDGE_REASON, acknowledgeActions, alertObject } from '../../../src/slack/acknowledge-action.ts';
import { NOT_THIS_MESSAGE, alertButtonHandler, pendingModalSchema, type AlertActionDeps } from '../../../src/slack/alert-actions.ts';
import type { ButtonClick } from '../../../src/slack/interaction-payloads.ts';
import { inProcessStore } from '../../../src/state/in-process-store.ts';
import { SqliteStore } from '../../../src/state/sqlite-store.ts';
import { FakeGate, RecordingAuditTrail } from '../../helpers/access-fakes.ts';
import { ManualClock, freshMetrics, metricValue, payload, recordingLogger } from '../../helpers/fakes.ts';
import { RecordingInteractionSlack, storedInteractions } from '../../helpers/interaction-fakes.ts';

const alice: Actor = { slackUserId: 'U024BE7LH', slackUserName: 'alice' };
const bob: Actor = { slackUserId: 'U0BOB', slackUserName: 'bob' };
const aliceIdentity: KubeIdentity = { username: 'slack:alice', groups: ['slack:oncall'], derivation: [] };
const bobIdentity: KubeIdentity = { username: 'slack:bob', groups: [], derivation: [] };

describe('Acknowledge and Unacknowledge buttons', () => {
  let clock: ManualClock;
  let store: SqliteStore;
  let audit: RecordingAuditTrail;
  let gate: FakeGate;
  let slack: RecordingInteractionSlack;
  let queued: number;
  let deps: AlertActionDeps;
  let metrics: ReturnType<typeof freshMetrics>;

  beforeEach(() => {
    clock = new ManualClock(Date.parse('2026-03-01T10:00:00Z'));
    store = new SqliteStore(':memory:');
    audit = new RecordingAuditTrail();
    gate = new FakeGate({ identities: { [alice.slackUserId]: aliceIdentity, [bob.slackUserId]: bobIdentity } });
    slack = new RecordingInteractionSlack();
    queued = 0;
    metrics = freshMetrics();
    deps = {
      store: inProcessStore(store),
      gate,
      audit,
      kube: undefined,
      slack,
      modals: storedInteractions('modal', pendingModalSchema, { now: clock.now }).interactions,
      log: recordingLogger().log,
      metrics,
      followUpIntervalMs: 0,
      signal: new AbortController().signal,
    };
    postedGroup('{}:{alertname="A"}', 'C0ALERTS', '1700000000.000100', { namespace: 'shop', deployment: 'cart' });
    postedGroup('{}:{alertname="B"}', 'C0ALERTS', '1700000000.000200', { namespace: 'payments' });
  });

  function actions(options: Partial<AlertActionDeps> = {}) {
    const [ack, unack] = acknowledgeActions({ store: inProcessStore(store), onQueued: () => (queued += 1), now: clock.now });
    return { ack: alertButtonHandler(ack, { ...deps, ...options }), unack: alertButtonHandler(unack, { ...deps, ...options }) };
  }

  /** A posted group message in `channel` at `ts`. */
  function postedGroup(groupKey: string, channel: string, ts: string, labels: Record<string, string>): number {
    const { state } = mergeNotification(undefined, payload(groupKey, [{ fingerprint: `${groupKey}-a` }], { commonLabels: { alertname: 'KubePodCrashLooping', ...labels } }));
    const id = store.addGroup(groupKey, channel, state, clock.now());
    store.markMessageDelivered(id, ts, 1);
    return id;
  }

  function click(overrides: Partial<ButtonClick> = {}): ButtonClick {
    return {
      actor: alice,
      actionId: ACK_ACTION_ID,
      channelId: 'C0ALERTS',
      messageTs: '1700000000.000100',
      value: groupRef('{}:{alertname="A"}'),
      ephemeral: false,
      triggerId: undefined,
      responseUrl: undefined,
      ...overrides,
    };
  }

  function snapshot() {
    return { a: store.latestGroup('{}:{alertname="A"}'), b: store.latestGroup('{}:{alertname="B"}'), replies: store.nextReplyPerChannel(Number.MAX_SAFE_INTEGER) };
  }

  const told = () => slack.ephemerals.map((message) => message.text);

  it('refuses a forged value naming another group, asks nobody, and changes nothing', async () => {
    const before = snapshot();
    await actions().ack.handle(click({ value: groupRef('{}:{alertname="B"}') }));

    expect(told()).toEqual([NOT_THIS_MESSAGE]);
    expect(slack.ephemerals[0]).toMatchObject({ channel: 'C0ALERTS', user: alice.slackUserId });
    expect(gate.reviews).toHaveLength(0);
    expect(snapshot()).toEqual(before);
    expect(queued).toBe(0);
    expect(audit.entries).toEqual([expect.objectContaining({ action: 'acknowledge', outcome: 'denied', actor: alice })]);
    expect(await metricValue(metrics, 'lookout_button_actions_total', { action: 'acknowledge', outcome: 'refused' })).toBe(1);
  });

  it('refuses a click by a person of another workspace before reading anything, and audits it', async () => {
    const before = snapshot();
    const home = new HomeWorkspace({ lookup: async () => ({ teamId: 'T0LOOKOUT' }) });
    const stranger: Actor = { slackUserId: 'U0EXT', slackUserName: 'ext', teamId: 'T0ELSEWHERE' };
    await actions({ home }).ack.handle(click({ actor: stranger }));
    expect(told()).toEqual([FOREIGN_WORKSPACE_MESSAGE]);
    expect(gate.reviews).toHaveLength(0);
    expect(snapshot()).toEqual(before);
    expect(audit.entries).toEqual([
      expect.objectContaining({ action: 'acknowledge', actor: stranger, outcome: 'denied', detail: 'refused: not a member of this Slack workspace (team T0ELSEWHERE)' }),
    ]);
    // A click that states no team at all is not taken for one of ours either.
    await actions({ home }).ack.handle(click());
    expect(told()).toEqual([FOREIGN_WORKSPACE_MESSAGE, FOREIGN_WORKSPACE_MESSAGE]);
    expect(gate.reviews).toHaveLength(0);
  });

  it('acknowledges for a member of its own workspace', async () => {
    const home = new HomeWorkspace({ lookup: async () => ({ teamId: 'T0LOOKOUT' }) });
    await actions({ home }).ack.handle(click({ actor: { ...alice, teamId: 'T0LOOKOUT' } }));
    expect(told()).toEqual([]);
    expect(store.latestGroup('{}:{alertname="A"}')!.state.acknowledged?.by).toBe(alice.slackUserId);
  });

  it('refuses a click on a message Lookout does not know, whatever its value', async () => {
    const before = snapshot();
    await actions().ack.handle(click({ messageTs: '1700000000.999999' }));
    expect(told()).toEqual([NOT_THIS_MESSAGE]);
    expect(snapshot()).toEqual(before);
  });

  it("refuses the right message ts in another channel (a click on another channel's message)", async () => {
    await actions().ack.handle(click({ channelId: 'C0INCIDENTS' }));
    expect(told()).toEqual([NOT_THIS_MESSAGE]);
    expect(gate.reviews).toHaveLength(0);
  });

  it('asks RBAC for acknowledge on alerts.lookout.dev in the group namespace, named by alertname', async () => {
    await actions().ack.handle(click());
    expect(gate.reviews).toEqual([
      { actor: alice, attributes: { verb: 'acknowledge', group: 'lookout.dev', resource: 'alerts', namespace: 'shop', name: 'KubePodCrashLooping' } },
    ]);
  });

  it('asks cluster-wide when the group has no common namespace', async () => {
    postedGroup('{}:{alertname="C"}', 'C0ALERTS', '1700000000.000300', {});
    await actions().ack.handle(click({ messageTs: '1700000000.000300', value: groupRef('{}:{alertname="C"}') }));
    expect(gate.reviews[0]!.attributes).toEqual({ verb: 'acknowledge', group: 'lookout.dev', resource: 'alerts', name: 'KubePodCrashLooping' });
  });

  it('denied: answers only the clicker with the missing permission, changes nothing, audits with the identity', async () => {
    gate.allow = () => false;
    const before = snapshot();
    await actions().ack.handle(click());

    expect(told()).toEqual([expect.stringContaining('`acknowledge` on `alerts.lookout.dev`')]);
    expect(snapshot()).toEqual(before);
    expect(audit.entries[0]).toMatchObject({
      outcome: 'denied',
      identity: { username: 'slack:alice' },
      target: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'cart' },
    });
  });

  it('unmapped: says how to get access, audits without an identity', async () => {
    await actions().ack.handle(click({ actor: { slackUserId: 'U0NOBODY', slackUserName: 'nobody' } }));
    expect(told()).toEqual([expect.stringContaining('not mapped')]);
    expect(audit.entries[0]!.identity).toBeUndefined();
    expect(store.latestGroup('{}:{alertname="A"}')!.state.acknowledged).toBeUndefined();
  });

  it('allowed: records who and when server-side, queues the edit and a thread reply, audits with the reason and target', async () => {
    const before = store.latestGroup('{}:{alertname="A"}')!;
    await actions().ack.handle(click());

    expect(told()).toEqual([]);
    const after = store.latestGroup('{}:{alertname="A"}')!;
    expect(after.state.acknowledged).toEqual({ by: 'U024BE7LH', at: '2026-03-01T10:00:00.000Z' });
    expect(after.version).toBe(before.version + 1); // the outbox edits the message
    expect(store.nextReplyPerChannel(clock.now()).map((reply) => [reply.messageTs, reply.text])).toEqual([['1700000000.000100', '✋ Acknowledged by <@U024BE7LH>']]);
    expect(queued).toBe(1);
    expect(audit.entries).toEqual([
      expect.objectContaining({
        action: 'acknowledge',
        outcome: 'allowed',
        reason: ACKNOWLEDGE_REASON,
        identity: aliceIdentity,
        target: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'cart' },
      }),
    ]);
    expect(store.latestGroup('{}:{alertname="B"}')!.state.acknowledged).toBeUndefined();
  });

  it('audits on the Namespace when the alert names no object in it', async () => {
    await actions().ack.handle(click({ messageTs: '1700000000.000200', value: groupRef('{}:{alertname="B"}') }));
    expect(audit.entries[0]!.target).toEqual({ apiVersion: 'v1', kind: 'Namespace', name: 'payments' });
  });

  // The audit Event goes on what the alert is about, as enrichment resolves it (kube-prometheus-stack labels).
  it.each([
    [{ horizontalpodautoscaler: 'cart' }, { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', namespace: 'shop', name: 'cart' }],
    [{ poddisruptionbudget: 'cart' }, { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', namespace: 'shop', name: 'cart' }],
    [{ resourcequota: 'compute' }, { apiVersion: 'v1', kind: 'ResourceQuota', namespace: 'shop', name: 'compute' }],
    [{ persistentvolumeclaim: 'data-db-0' }, { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: 'shop', name: 'data-db-0' }],
    [{ persistentvolume: 'pv-1' }, { apiVersion: 'v1', kind: 'PersistentVolume', name: 'pv-1' }],
  ])('audits on the object the alert names: %o', (objectLabels, expected) => {
    const exporter = { namespace: 'shop', pod: 'kps-kube-state-metrics-6b8f9c7d4-q2w8e', container: 'kube-state-metrics' };
    const state = { commonLabels: { alertname: 'X', ...exporter, ...objectLabels } } as unknown as Parameters<typeof alertObject>[0];
    expect(alertObject(state, defaultEnrichmentConfig().labels)).toEqual(expected);
  });

  it('a second Acknowledge click says who acknowledged, without another review or change', async () => {
    await actions().ack.handle(click());
    const version = store.latestGroup('{}:{alertname="A"}')!.version;
    await actions().ack.handle(click({ actor: bob }));
    expect(told()).toEqual(['Already acknowledged by <@U024BE7LH>.']);
    expect(gate.reviews).toHaveLength(1);
    expect(store.latestGroup('{}:{alertname="A"}')!.version).toBe(version);
  });

  it('two Acknowledge clicks at once acknowledge once, and the other clicker is told who did', async () => {
    const { ack } = actions();
    await Promise.all([ack.handle(click()), ack.handle(click({ actor: bob }))]);
    expect(store.nextReplyPerChannel(clock.now())).toHaveLength(1);
    expect(told()).toEqual([expect.stringMatching(/^Already acknowledged by <@U/)]);
    const outcomes = audit.entries.map((entry) => entry.outcome);
    expect(outcomes.filter((outcome) => outcome === 'allowed')).toHaveLength(1);
    expect(outcomes).toHaveLength(2);
  });

  it('Unacknowledge by another allowed person takes the acknowledgement back, with a thread reply and an audit record', async () => {
    const { ack, unack } = actions();
    await ack.handle(click());
    const version = store.latestGroup('{}:{alertname="A"}')!.version;
    await unack.handle(click({ actor: bob, actionId: UNACK_ACTION_ID }));

    const after = store.latestGroup('{}:{alertname="A"}')!;
    expect(after.state.acknowledged).toBeUndefined();
    expect(after.version).toBe(version + 1);
    expect(store.nextReplyPerChannel(Number.MAX_SAFE_INTEGER).length).toBeGreaterThan(0);
    expect(gate.reviews[1]).toEqual({ actor: bob, attributes: { verb: 'acknowledge', group: 'lookout.dev', resource: 'alerts', namespace: 'shop', name: 'KubePodCrashLooping' } });
    expect(audit.entries[1]).toMatchObject({ action: 'unacknowledge', outcome: 'allowed', reason: UNACKNOWLEDGE_REASON, identity: bobIdentity });
  });

  it('Unacknowledge by someone RBAC refuses changes nothing and names the permission', async () => {
    const { ack, unack } = actions();
    await ack.handle(click());
    gate.allow = (identity) => identity.username !== 'slack:bob';
    await unack.handle(click({ actor: bob, actionId: UNACK_ACTION_ID }));
    expect(store.latestGroup('{}:{alertname="A"}')!.state.acknowledged?.by).toBe(alice.slackUserId);
    expect(told()).toEqual([expect.stringContaining('`acknowledge` on `alerts.lookout.dev`')]);
  });

  it('Unacknowledge on a group nobody acknowledged is refused without a review', async () => {
    await actions().unack.handle(click({ actionId: UNACK_ACTION_ID }));
    expect(told()).toEqual([expect.stringContaining('not acknowledged')]);
    expect(gate.reviews).toHaveLength(0);
  });

  it('a failed access review is an internal error with a reference, audited as failed', async () => {
    gate.failWith = new Error('connect ECONNREFUSED 127.0.0.1:6443');
    await actions().ack.handle(click());
    expect(told()).toEqual([expect.stringMatching(/^Internal error \(ref [0-9a-f]{8}\)/)]);
    expect(JSON.stringify(slack.ephemerals)).not.toContain('ECONNREFUSED');
    expect(audit.entries[0]).toMatchObject({ outcome: 'failed' });
    expect(store.latestGroup('{}:{alertname="A"}')!.state.acknowledged).toBeUndefined();
  });

  it('a failing state store answers with a reference and audits the failure', async () => {
    store.close(); // every query now throws
    await actions().ack.handle(click());
    expect(told()).toEqual([expect.stringMatching(/^Internal error \(ref [0-9a-f]{8}\)/)]);
    expect(audit.entries).toEqual([expect.objectContaining({ outcome: 'failed', actor: alice })]);
  });
});
