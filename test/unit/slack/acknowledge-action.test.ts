import { beforeEach, describe, expect, it } from 'vitest';
import { mergeNotification } from '../../../alerts/merge-group.ts';
import { groupRef } from '../../../alerts/render.ts';
import type { Actor, AuditEntry, Authorization } from '../../../src/access/authorization.ts';
import { FOREIGN_WORKSPACE_MESSAGE, HomeWorkspace } from '../../../src/access/home-workspace.ts';
import type { ResourceAttributes } from '../../../src/kube/access-review.ts';
import {
  ACKNOWLEDGE_REASON,
  NOT_THIS_MESSAGE,
  alertObject,
  handleAcknowledge,
  parseAcknowledgeClick,
  type AcknowledgeClick,
  type AcknowledgeDeps,
} from '../../../src/slack/acknowledge-action.ts';
import { SqliteStore } from '../../../src/state/sqlite-store.ts';
import { defaultEnrichmentConfig } from '../../../alerts/enrichers/enrichment-config.ts';
import { ManualClock, freshMetrics, metricValue, payload, recordingLogger } from '../../helpers/fakes.ts';

const alice: Actor = { slackUserId: 'U024BE7LH', slackUserName: 'alice' };
const aliceIdentity = { username: 'slack:alice', groups: ['slack:oncall'], derivation: [] };

describe('Acknowledge button handler', () => {
  let clock: ManualClock;
  let store: SqliteStore;
  let audits: AuditEntry[];
  let reviews: Array<{ actor: Actor; attributes: ResourceAttributes }>;
  let decision: Authorization | Error;
  let queued: number;
  let deps: AcknowledgeDeps;
  let metrics: ReturnType<typeof freshMetrics>;

  beforeEach(() => {
    clock = new ManualClock(Date.parse('2026-03-01T10:00:00Z'));
    store = new SqliteStore(':memory:');
    audits = [];
    reviews = [];
    decision = { allowed: true, identity: aliceIdentity };
    queued = 0;
    metrics = freshMetrics();
    deps = {
      store,
      authorize: async (actor, attributes) => {
        reviews.push({ actor, attributes });
        if (decision instanceof Error) throw decision;
        return decision;
      },
      audit: { record: async (entry) => void audits.push(entry) },
      log: recordingLogger().log,
      metrics,
      onQueued: () => (queued += 1),
      now: clock.now,
    };
  });

  /** A posted group message in `channel` at `ts`. */
  function postedGroup(groupKey: string, channel: string, ts: string, labels: Record<string, string>): number {
    const { state } = mergeNotification(undefined, payload(groupKey, [{ fingerprint: `${groupKey}-a` }], { commonLabels: { alertname: 'KubePodCrashLooping', ...labels } }));
    const id = store.addGroup(groupKey, channel, state, clock.now());
    store.markMessageDelivered(id, ts, 1);
    return id;
  }

  function click(overrides: Partial<AcknowledgeClick> = {}): AcknowledgeClick {
    return { actor: alice, channelId: 'C0ALERTS', messageTs: '1700000000.000100', value: groupRef('{}:{alertname="A"}'), ...overrides };
  }

  function snapshot() {
    return { a: store.latestGroup('{}:{alertname="A"}'), b: store.latestGroup('{}:{alertname="B"}'), replies: store.nextReplyPerChannel(Number.MAX_SAFE_INTEGER) };
  }

  beforeEach(() => {
    postedGroup('{}:{alertname="A"}', 'C0ALERTS', '1700000000.000100', { namespace: 'shop', deployment: 'cart' });
    postedGroup('{}:{alertname="B"}', 'C0ALERTS', '1700000000.000200', { namespace: 'payments' });
  });

  it('refuses a forged value naming another group, asks nobody, and changes nothing', async () => {
    const before = snapshot();
    const result = await handleAcknowledge(deps, click({ value: groupRef('{}:{alertname="B"}') }));

    expect(result).toEqual({ outcome: 'refused', ephemeral: NOT_THIS_MESSAGE });
    expect(reviews).toHaveLength(0);
    expect(snapshot()).toEqual(before);
    expect(queued).toBe(0);
    expect(audits).toEqual([expect.objectContaining({ action: 'acknowledge', outcome: 'denied', actor: alice })]);
    expect(await metricValue(metrics, 'lookout_button_actions_total', { action: 'acknowledge', outcome: 'refused' })).toBe(1);
  });

  it('refuses a click by a person of another workspace before reading anything, and audits it', async () => {
    const before = snapshot();
    const home = new HomeWorkspace({ lookup: async () => ({ teamId: 'T0LOOKOUT' }) });
    const stranger: Actor = { slackUserId: 'U0EXT', slackUserName: 'ext', teamId: 'T0ELSEWHERE' };
    const result = await handleAcknowledge({ ...deps, home }, click({ actor: stranger }));
    expect(result).toEqual({ outcome: 'refused', ephemeral: FOREIGN_WORKSPACE_MESSAGE });
    expect(reviews).toHaveLength(0);
    expect(snapshot()).toEqual(before);
    expect(queued).toBe(0);
    expect(audits).toEqual([
      expect.objectContaining({ action: 'acknowledge', actor: stranger, outcome: 'denied', detail: 'refused: not a member of this Slack workspace (team T0ELSEWHERE)' }),
    ]);
    // A click that states no team at all is not taken for one of ours either.
    expect(await handleAcknowledge({ ...deps, home }, click())).toEqual({ outcome: 'refused', ephemeral: FOREIGN_WORKSPACE_MESSAGE });
    expect(reviews).toHaveLength(0);
  });

  it('acknowledges for a member of its own workspace', async () => {
    const home = new HomeWorkspace({ lookup: async () => ({ teamId: 'T0LOOKOUT' }) });
    const result = await handleAcknowledge({ ...deps, home }, click({ actor: { ...alice, teamId: 'T0LOOKOUT' } }));
    expect(result).toEqual({ outcome: 'acknowledged' });
    expect(reviews).toHaveLength(1);
  });

  it('refuses a click on a message Lookout does not know, whatever its value', async () => {
    const before = snapshot();
    const result = await handleAcknowledge(deps, click({ messageTs: '1700000000.999999' }));
    expect(result).toEqual({ outcome: 'refused', ephemeral: NOT_THIS_MESSAGE });
    expect(snapshot()).toEqual(before);
  });

  it('refuses the right message ts in another channel', async () => {
    const result = await handleAcknowledge(deps, click({ channelId: 'C0INCIDENTS' }));
    expect(result.outcome).toBe('refused');
    expect(reviews).toHaveLength(0);
  });

  it('asks RBAC for acknowledge on alerts.lookout.dev in the group namespace, named by alertname', async () => {
    await handleAcknowledge(deps, click());
    expect(reviews).toEqual([
      { actor: alice, attributes: { verb: 'acknowledge', group: 'lookout.dev', resource: 'alerts', namespace: 'shop', name: 'KubePodCrashLooping' } },
    ]);
  });

  it('asks cluster-wide when the group has no common namespace', async () => {
    postedGroup('{}:{alertname="C"}', 'C0ALERTS', '1700000000.000300', {});
    await handleAcknowledge(deps, click({ messageTs: '1700000000.000300', value: groupRef('{}:{alertname="C"}') }));
    expect(reviews[0]!.attributes).toEqual({ verb: 'acknowledge', group: 'lookout.dev', resource: 'alerts', name: 'KubePodCrashLooping' });
  });

  it('denied: answers only the clicker with the missing permission, changes nothing, audits with the identity', async () => {
    decision = { allowed: false, reason: 'denied', identity: aliceIdentity, message: 'Not allowed: this needs `acknowledge` on `alerts.lookout.dev` named KubePodCrashLooping in namespace shop.' };
    const before = snapshot();
    const result = await handleAcknowledge(deps, click());

    expect(result).toEqual({ outcome: 'denied', ephemeral: expect.stringContaining('`acknowledge` on `alerts.lookout.dev`') });
    expect(snapshot()).toEqual(before);
    expect(audits[0]).toMatchObject({
      outcome: 'denied',
      identity: { username: 'slack:alice' },
      target: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'cart' },
    });
  });

  it('unmapped: says how to get access, audits without an identity', async () => {
    decision = { allowed: false, reason: 'unmapped', message: 'You are not mapped to a Kubernetes identity' };
    const result = await handleAcknowledge(deps, click());
    expect(result).toMatchObject({ outcome: 'denied', ephemeral: expect.stringContaining('not mapped') });
    expect(audits[0]!.identity).toBeUndefined();
    expect(store.latestGroup('{}:{alertname="A"}')!.state.acknowledged).toBeUndefined();
  });

  it('allowed: records who and when server-side, queues the edit and a thread reply, audits with the reason and target', async () => {
    const before = store.latestGroup('{}:{alertname="A"}')!;
    const result = await handleAcknowledge(deps, click());

    expect(result).toEqual({ outcome: 'acknowledged' });
    const after = store.latestGroup('{}:{alertname="A"}')!;
    expect(after.state.acknowledged).toEqual({ by: 'U024BE7LH', at: '2026-03-01T10:00:00.000Z' });
    expect(after.version).toBe(before.version + 1); // the outbox edits the message
    expect(store.nextReplyPerChannel(clock.now()).map((reply) => [reply.messageTs, reply.text])).toEqual([
      ['1700000000.000100', '✋ Acknowledged by <@U024BE7LH>'],
    ]);
    expect(queued).toBe(1);
    expect(audits).toEqual([
      expect.objectContaining({
        action: 'acknowledge',
        outcome: 'allowed',
        reason: ACKNOWLEDGE_REASON,
        identity: aliceIdentity,
        target: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'cart' },
      }),
    ]);
    // The other group is untouched.
    expect(store.latestGroup('{}:{alertname="B"}')!.state.acknowledged).toBeUndefined();
  });

  it('audits on the Namespace when the alert names no object in it', async () => {
    await handleAcknowledge(deps, click({ messageTs: '1700000000.000200', value: groupRef('{}:{alertname="B"}') }));
    expect(audits[0]!.target).toEqual({ apiVersion: 'v1', kind: 'Namespace', name: 'payments' });
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

  it('a second click says who acknowledged, without another review or change', async () => {
    await handleAcknowledge(deps, click());
    const version = store.latestGroup('{}:{alertname="A"}')!.version;
    const second = await handleAcknowledge(deps, click({ actor: { slackUserId: 'U0BOB', slackUserName: 'bob' } }));
    expect(second).toEqual({ outcome: 'refused', ephemeral: 'Already acknowledged by <@U024BE7LH>.' });
    expect(reviews).toHaveLength(1);
    expect(store.latestGroup('{}:{alertname="A"}')!.version).toBe(version);
  });

  it('two clicks at once acknowledge once', async () => {
    const results = await Promise.all([handleAcknowledge(deps, click()), handleAcknowledge(deps, click())]);
    expect(results.map((r) => r.outcome).sort()).toEqual(['acknowledged', 'refused']);
    expect(store.nextReplyPerChannel(clock.now())).toHaveLength(1);
  });

  it('a failed access review is an internal error with a reference, audited as failed', async () => {
    decision = new Error('connect ECONNREFUSED 127.0.0.1:6443');
    const result = await handleAcknowledge(deps, click());
    expect(result).toMatchObject({ outcome: 'error', ephemeral: expect.stringMatching(/^Internal error \(ref [0-9a-f]{8}\)/) });
    expect(JSON.stringify(result)).not.toContain('ECONNREFUSED');
    expect(audits[0]).toMatchObject({ outcome: 'failed' });
    expect(store.latestGroup('{}:{alertname="A"}')!.state.acknowledged).toBeUndefined();
  });
});

describe('parseAcknowledgeClick', () => {
  const body = {
    type: 'block_actions',
    user: { id: 'U024BE7LH', username: 'alice', name: 'alice', team_id: 'T0LOOKOUT' },
    container: { type: 'message', message_ts: '1700000000.000100', channel_id: 'C0ALERTS', is_ephemeral: false },
    channel: { id: 'C0OTHER', name: 'other' },
    message: { ts: '1700000000.999999' },
    actions: [{ action_id: 'ack', block_id: 'forged', type: 'button', value: 'g1:abc', action_ts: '1700000001.000000' }],
  };

  it('reads the clicked message from container, not from channel or message fields', () => {
    expect(parseAcknowledgeClick(body, 'ack')).toEqual({
      actor: { slackUserId: 'U024BE7LH', slackUserName: 'alice', teamId: 'T0LOOKOUT' },
      channelId: 'C0ALERTS',
      messageTs: '1700000000.000100',
      value: 'g1:abc',
    });
  });

  it("takes the clicker's team from user.team_id, not from the team the click happened in", () => {
    const shared = { ...body, user: { ...body.user, team_id: 'T0ELSEWHERE' }, team: { id: 'T0LOOKOUT', domain: 'lookout' } };
    expect(parseAcknowledgeClick(shared, 'ack')?.actor).toEqual({ slackUserId: 'U024BE7LH', slackUserName: 'alice', teamId: 'T0ELSEWHERE' });
  });

  it('falls back to team.id without user.team_id, and reads the Enterprise Grid organisation', () => {
    const { team_id: _omitted, ...user } = body.user;
    const grid = { ...body, user, team: { id: 'T0SISTER', domain: 'sister', enterprise_id: 'E0ORG', enterprise_name: 'Org' }, enterprise: { id: 'E0ORG', name: 'Org' } };
    expect(parseAcknowledgeClick(grid, 'ack')?.actor).toEqual({ slackUserId: 'U024BE7LH', slackUserName: 'alice', teamId: 'T0SISTER', enterpriseId: 'E0ORG' });
    expect(parseAcknowledgeClick({ ...body, user, team: null }, 'ack')?.actor).toEqual({ slackUserId: 'U024BE7LH', slackUserName: 'alice' });
  });

  it('ignores clicks from views and payloads without the action', () => {
    expect(parseAcknowledgeClick({ ...body, container: { type: 'view', view_id: 'V1' } }, 'ack')).toBeUndefined();
    expect(parseAcknowledgeClick(body, 'other')).toBeUndefined();
    expect(parseAcknowledgeClick({ ...body, user: { id: 'not a user' } }, 'ack')).toBeUndefined();
  });
});

describe('Acknowledge when the state store fails', () => {
  it('answers with a reference, records nothing, and audits the failure', async () => {
    const audits: AuditEntry[] = [];
    const failing = new SqliteStore(':memory:');
    failing.close(); // every query now throws
    const result = await handleAcknowledge(
      {
        store: failing,
        authorize: async () => ({ allowed: true, identity: aliceIdentity }),
        audit: { record: async (entry) => void audits.push(entry) },
        log: recordingLogger().log,
        metrics: freshMetrics(),
        onQueued: () => undefined,
      },
      { actor: alice, channelId: 'C0ALERTS', messageTs: '1700000000.000100', value: 'g1:x' },
    );
    expect(result).toMatchObject({ outcome: 'error', ephemeral: expect.stringMatching(/^Internal error \(ref [0-9a-f]{8}\)/) });
    expect(audits).toEqual([expect.objectContaining({ outcome: 'failed', actor: alice })]);
  });
});
