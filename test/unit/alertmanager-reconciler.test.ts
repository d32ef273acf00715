import { Registry, Counter } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { planReconcileRepairs } from '../../alerts/plan-reconcile-repairs.ts';
import { silencedLine } from '../../alerts/silence-control.ts';
import { AlertmanagerReconciler, RESOLVED_BY_RECONCILER } from '../../src/alertmanager-reconciler.ts';
import { AlertmanagerError, type ActiveAlert, type AlertGroup, type AlertmanagerGroupsPort, type AlertmanagerPort, type Silence } from '../../src/integrations/alertmanager.ts';
import { inProcessStore } from '../../src/state/in-process-store.ts';
import { SqliteStore } from '../../src/state/sqlite-store.ts';
import type { FiringGroup } from '../../src/state/store.ts';
import { payload, recordingLogger } from '../helpers/fakes.ts';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const MINUTE = 60_000;
const GRACE = 10 * MINUTE;
const SILENCE = '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0';
const OTHER_SILENCE = '1f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0';

function amAlert(fingerprint: string, state: ActiveAlert['state'] = 'active', silencedBy: string[] = []): ActiveAlert {
  return { fingerprint, labels: { alertname: 'X', instance: fingerprint }, annotations: {}, startsAt: '2026-03-01T10:00:00Z', state, silencedBy };
}

function amGroup(receiver: string, ...alerts: ActiveAlert[]): AlertGroup {
  return { receiver, labels: { alertname: 'X' }, alerts };
}

function lookoutGroup(groupId: number, fingerprints: string[], extra: Partial<FiringGroup> = {}): FiringGroup {
  return { groupId, groupKey: `{}:{g="${groupId}"}`, alerts: fingerprints.map((fingerprint) => ({ fingerprint, startsAt: '2026-03-01T10:00:00Z' })), changedAt: NOW - 2 * GRACE, silenced: false, ...extra };
}

describe('planReconcileRepairs: what drifted, matched by fingerprint', () => {
  const plan = (lookout: FiringGroup[], alertmanager: AlertGroup[]) => planReconcileRepairs({ lookout, alertmanager, now: NOW, graceMs: GRACE });

  it('resolves a group none of whose alerts Alertmanager has, naming the exact occurrences', () => {
    expect(plan([lookoutGroup(1, ['a', 'b'])], [amGroup('other', amAlert('z'))])).toEqual([
      { kind: 'resolve', groupId: 1, groupKey: '{}:{g="1"}', alerts: { a: '2026-03-01T10:00:00Z', b: '2026-03-01T10:00:00Z' } },
    ]);
  });

  it('never resolves a group Alertmanager still has one active alert of, in any receiver’s group', () => {
    expect(plan([lookoutGroup(1, ['a', 'b'])], [amGroup('someone-else', amAlert('b'))])).toEqual([]);
    // Suppressed (silenced or inhibited) is not resolved either.
    expect(plan([lookoutGroup(1, ['a'])], [amGroup('lookout', amAlert('a', 'suppressed', []))])).toEqual([]);
  });

  it('leaves groups changed within the grace alone', () => {
    expect(plan([lookoutGroup(1, ['a'], { changedAt: NOW - GRACE + 1 })], [])).toEqual([]);
    expect(plan([lookoutGroup(1, ['a'], { changedAt: NOW - GRACE })], [])).toHaveLength(1);
  });

  it('marks a group silenced when one silence mutes every alert it shows firing', () => {
    const am = [amGroup('lookout', amAlert('a', 'suppressed', [OTHER_SILENCE, SILENCE])), amGroup('pager', amAlert('b', 'suppressed', [SILENCE]))];
    expect(plan([lookoutGroup(1, ['a', 'b'])], am)).toEqual([{ kind: 'silence', groupId: 1, groupKey: '{}:{g="1"}', silenceId: SILENCE }]);
  });

  it('does not mark silenced: already silenced, one alert unmuted, inhibited only, or no silence in common', () => {
    const muted = amGroup('lookout', amAlert('a', 'suppressed', [SILENCE]));
    expect(plan([lookoutGroup(1, ['a'], { silenced: true })], [muted])).toEqual([]);
    expect(plan([lookoutGroup(1, ['a', 'b'])], [muted, amGroup('lookout', amAlert('b'))])).toEqual([]);
    expect(plan([lookoutGroup(1, ['a', 'b'])], [muted])).toEqual([]);
    expect(plan([lookoutGroup(1, ['a'])], [amGroup('lookout', amAlert('a', 'suppressed', []))])).toEqual([]);
    expect(plan([lookoutGroup(1, ['a', 'b'])], [muted, amGroup('x', amAlert('b', 'suppressed', [OTHER_SILENCE]))])).toEqual([]);
  });
});

/** Alertmanager's groups and silences from a table; down throws as the client does. */
class FakeAlertmanager implements AlertmanagerGroupsPort, Pick<AlertmanagerPort, 'getSilence'> {
  groups: AlertGroup[] = [];
  silences = new Map<string, Silence>();
  down = false;

  async listAlertGroups(): Promise<AlertGroup[]> {
    if (this.down) throw new AlertmanagerError('unreachable');
    return this.groups;
  }

  async getSilence(id: string): Promise<Silence | undefined> {
    return this.silences.get(id);
  }
}

function setUp() {
  const engine = new SqliteStore(':memory:');
  const store = inProcessStore(engine);
  const registry = new Registry();
  const runs = new Counter({ name: 'runs', help: 'h', labelNames: ['outcome'], registers: [registry] });
  const repairs = new Counter({ name: 'repairs', help: 'h', labelNames: ['kind'], registers: [registry] });
  const alertmanager = new FakeAlertmanager();
  const changed: number[] = [];
  const silenced: Array<[number, string]> = [];
  let now = NOW;
  const reconciler = new AlertmanagerReconciler({
    store,
    alertmanager,
    log: recordingLogger().log,
    runs,
    repairs,
    intervalMs: 5 * MINUTE,
    graceMs: GRACE,
    onChanged: () => changed.push(now),
    onSilenced: (groupId, mark) => silenced.push([groupId, mark.silenceId]),
    now: () => now,
  });
  const count = async (name: string, label: string) => (await registry.getSingleMetric(name)!.get()).values.find((value) => Object.values(value.labels).includes(label))?.value ?? 0;
  const advance = (ms: number) => {
    now += ms;
  };
  return { engine, store, alertmanager, reconciler, changed, silenced, count, advance };
}

describe('AlertmanagerReconciler over the real SQLite store', () => {
  it('repairs the stale-resolve case: the posted message is resolved in place with one thread reply', async () => {
    const { engine, store, alertmanager, reconciler, changed, count, advance } = setUp();
    await store.addNotifications([{ payload: payload('g', [{ fingerprint: 'a', startsAt: '2026-03-01T10:00:00Z' }]), receivedAt: NOW }]);
    await store.foldInbox(10);
    const posted = engine.latestGroup('g')!;
    engine.markMessageDelivered(posted.id, '1700000000.000100', posted.version);
    // The resolve of an older occurrence: not applied (merge-group), so the group stays firing.
    await store.addNotifications([{ payload: payload('g', [{ fingerprint: 'a', status: 'resolved', startsAt: '2026-03-01T09:00:00Z' }]), receivedAt: NOW + 1 }]);
    await store.foldInbox(10);
    expect(engine.latestGroup('g')!.version).toBe(posted.version);

    advance(GRACE);
    alertmanager.groups = [amGroup('lookout', amAlert('unrelated'))];
    expect(await reconciler.pass()).toBe('ok');

    const repaired = engine.latestGroup('g')!;
    expect(repaired.id).toBe(posted.id);
    expect(repaired.messageTs).toBe('1700000000.000100');
    expect(repaired.version).toBe(posted.version + 1);
    expect(repaired.state.alerts.map((alert) => [alert.status, alert.endsAt])).toEqual([['resolved', new Date(NOW + GRACE).toISOString()]]);
    const replies = engine.nextReplyPerChannel(NOW + GRACE);
    expect(replies.map((reply) => [reply.groupId, reply.text])).toEqual([[posted.id, RESOLVED_BY_RECONCILER]]);
    expect(await count('repairs', 'resolved')).toBe(1);
    expect(changed).toHaveLength(1);

    // A second pass finds nothing firing: no second reply, no second repair.
    expect(await reconciler.pass()).toBe('ok');
    expect(engine.storedRows().replies).toBe(1);
    expect(await count('repairs', 'resolved')).toBe(1);
    expect(await count('runs', 'ok')).toBe(2);
  });

  it('leaves a group alone that Alertmanager still has active, or that changed within the grace', async () => {
    const { engine, store, alertmanager, reconciler, count, advance } = setUp();
    await store.addNotifications([{ payload: payload('kept', [{ fingerprint: 'a' }]), receivedAt: NOW }, { payload: payload('young', [{ fingerprint: 'y' }]), receivedAt: NOW + GRACE - 1 }]);
    await store.foldInbox(10);
    advance(GRACE);
    alertmanager.groups = [amGroup('elsewhere', amAlert('a'))];
    expect(await reconciler.pass()).toBe('ok');
    expect(engine.latestGroup('kept')!.version).toBe(1);
    expect(engine.latestGroup('young')!.version).toBe(1);
    expect(await count('repairs', 'resolved')).toBe(0);
  });

  it('repairs nothing when Alertmanager is down, and counts the error', async () => {
    const { engine, store, alertmanager, reconciler, count, advance } = setUp();
    await store.addNotifications([{ payload: payload('g', [{ fingerprint: 'a' }]), receivedAt: NOW }]);
    await store.foldInbox(10);
    advance(GRACE);
    alertmanager.down = true;
    expect(await reconciler.pass()).toBe('alertmanager_error');
    expect(engine.latestGroup('g')!.state.alerts[0]!.status).toBe('firing');
    expect(await count('runs', 'alertmanager_error')).toBe(1);
    expect(await count('runs', 'ok')).toBe(0);
  });

  it('does not resolve a group a notification moved on meanwhile (a newer occurrence)', async () => {
    const { engine, store, advance } = setUp();
    await store.addNotifications([{ payload: payload('g', [{ fingerprint: 'a', startsAt: '2026-03-01T10:00:00Z' }]), receivedAt: NOW }]);
    await store.foldInbox(10);
    const group = engine.latestGroup('g')!;
    advance(GRACE);
    const stale = await store.resolveVanishedAlerts({ groupId: group.id, alerts: { a: '2026-03-01T09:00:00Z' }, reply: 'x', at: NOW });
    expect(stale).toBe(false);
    expect(engine.latestGroup('g')!.version).toBe(1);
  });

  it('shows a silence made in Alertmanager on the message, and hands it to the silence watcher', async () => {
    const { engine, store, alertmanager, reconciler, silenced, count, advance } = setUp();
    await store.addNotifications([{ payload: payload('g', [{ fingerprint: 'a' }]), receivedAt: NOW }]);
    await store.foldInbox(10);
    advance(GRACE);
    alertmanager.groups = [amGroup('lookout', amAlert('a', 'suppressed', [SILENCE]))];
    alertmanager.silences.set(SILENCE, { id: SILENCE, matchers: [], startsAt: '2026-03-01T11:00:00Z', endsAt: '2026-03-01T14:00:00Z', createdBy: '<!channel> amtool', comment: '', state: 'active' });
    expect(await reconciler.pass()).toBe('ok');

    const group = engine.latestGroup('g')!;
    expect(group.state.silenced).toEqual({ by: '', until: '2026-03-01T14:00:00.000Z', silenceId: SILENCE });
    expect(group.version).toBe(2);
    // createdBy is never echoed into Slack.
    expect(silencedLine(group.state)).toBe('🔕 Silenced in Alertmanager until <!date^1772373600^{date_short_pretty} {time}|2026-03-01 14:00 UTC>');
    expect(silenced).toEqual([[group.id, SILENCE]]);
    expect(await count('repairs', 'silenced')).toBe(1);
  });

  it('leaves a silence whose end is not a time unshown, and the pass still counts as ok', async () => {
    const { engine, store, alertmanager, reconciler, count, advance } = setUp();
    await store.addNotifications([{ payload: payload('g', [{ fingerprint: 'a' }]), receivedAt: NOW }]);
    await store.foldInbox(10);
    advance(GRACE);
    alertmanager.groups = [amGroup('lookout', amAlert('a', 'suppressed', [SILENCE]))];
    alertmanager.silences.set(SILENCE, { id: SILENCE, matchers: [], startsAt: '2026-03-01T11:00:00Z', endsAt: 'soon', createdBy: 'amtool', comment: '', state: 'active' });
    expect(await reconciler.pass()).toBe('ok');
    expect(engine.latestGroup('g')!.state.silenced).toBeUndefined();
    expect(await count('repairs', 'silenced')).toBe(0);
  });

  it('keeps a silence made from Slack between the read and the repair', async () => {
    const { engine, store, advance } = setUp();
    await store.addNotifications([{ payload: payload('g', [{ fingerprint: 'a' }]), receivedAt: NOW }]);
    await store.foldInbox(10);
    const group = engine.latestGroup('g')!;
    advance(GRACE);
    const alice = { by: 'U0ALICE', until: '2026-03-01T13:00:00.000Z', silenceId: OTHER_SILENCE };
    expect(await store.markGroupSilenced({ groupId: group.id, mark: alice, at: NOW })).toBe(true);
    expect(await store.markGroupSilenced({ groupId: group.id, mark: { by: '', until: '2026-03-01T14:00:00.000Z', silenceId: SILENCE }, at: NOW, unlessSilenced: true })).toBe(false);
    expect(engine.latestGroup('g')!.state.silenced).toEqual(alice);
  });

  it('never runs two passes at once', async () => {
    const { alertmanager, reconciler, count } = setUp();
    let release: () => void = () => {};
    let calls = 0;
    alertmanager.listAlertGroups = () => {
      calls += 1;
      return new Promise((resolve) => (release = () => resolve([])));
    };
    const first = reconciler.pass();
    const second = reconciler.pass();
    release();
    await Promise.all([first, second]);
    expect(calls).toBe(1);
    expect(await count('runs', 'ok')).toBe(1);
  });
});
