import { afterEach, describe, expect, it, vi } from 'vitest';
import type { GroupState, SilenceMark } from '../../alerts/group-state.ts';
import { groupSilenceMatchers, silenceButtons, silencedLine } from '../../alerts/silence-control.ts';
import { clearGroupSilence, markGroupSilenced } from '../../alerts/silence-group.ts';
import type { AlertmanagerPort, Silence } from '../../src/integrations/alertmanager.ts';
import { SilenceExpiry } from '../../src/silence-expiry.ts';
import { asyncEngine } from '../../src/state/async-engine.ts';
import { inProcessStore } from '../../src/state/in-process-store.ts';
import { SqliteStore } from '../../src/state/sqlite-store.ts';
import { ManualClock, payload, recordingLogger } from '../helpers/fakes.ts';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const HOUR = 3_600_000;

function state(labels: Record<string, string>, status: 'firing' | 'resolved' = 'firing'): GroupState {
  return {
    groupKey: `{}:${JSON.stringify(labels)}`,
    receiver: 'lookout',
    externalURL: 'http://alertmanager:9093',
    groupLabels: labels,
    commonLabels: { ...labels, severity: 'critical' },
    commonAnnotations: {},
    alerts: payload('g', [{ fingerprint: 'a1', status, labels }]).alerts,
    truncatedAlerts: 0,
  };
}

describe('the Silence control and line on alert messages', () => {
  it('silences exactly the group: its groupLabels, else its commonLabels', () => {
    expect(groupSilenceMatchers(state({ namespace: 'shop', alertname: 'X' }))).toEqual([
      { name: 'alertname', value: 'X', isRegex: false, isEqual: true },
      { name: 'namespace', value: 'shop', isRegex: false, isEqual: true },
    ]);
    expect(groupSilenceMatchers({ ...state({}), commonLabels: { alertname: 'Y' } })).toEqual([{ name: 'alertname', value: 'Y', isRegex: false, isEqual: true }]);
  });

  it('is offered only while firing, not silenced, and when the labels can name the group', () => {
    expect(silenceButtons(state({ alertname: 'X' }), 'g1:ref').map((button) => [button.action_id, button.value])).toEqual([
      ['silence-1h', 'g1:ref'],
      ['silence-4h', 'g1:ref'],
      ['silence-24h', 'g1:ref'],
      ['silence-custom', 'g1:ref'],
    ]);
    expect(silenceButtons(state({ alertname: 'X' }, 'resolved'), 'g1:ref')).toEqual([]);
    expect(silenceButtons({ ...state({ alertname: 'X' }), silenced: { by: 'U1', until: '2026-03-01T13:00:00Z', silenceId: 's' } }, 'g1:ref')).toEqual([]);
    expect(silenceButtons({ ...state({}), commonLabels: {} }, 'g1:ref')).toEqual([]);
  });

  it('says who silenced until when, in the reader’s time zone, while the group fires', () => {
    const silenced = { ...state({ alertname: 'X' }), silenced: { by: 'U0ALICE', until: '2026-03-01T14:00:00.000Z', silenceId: 's' } };
    expect(silencedLine(silenced)).toBe('🔕 Silenced by <@U0ALICE> until <!date^1772373600^{date_short_pretty} {time}|2026-03-01 14:00 UTC>');
    expect(silencedLine({ ...silenced, alerts: state({ alertname: 'X' }, 'resolved').alerts })).toBeUndefined();
    expect(silencedLine({ ...silenced, silenced: { by: '<!channel>', until: silenced.silenced.until, silenceId: 's' } })).toBeUndefined();
  });
});

/** Answers getSilence from a table; records the questions. */
class FakeAlertmanager implements Pick<AlertmanagerPort, 'getSilence'> {
  readonly asked: string[] = [];
  silences = new Map<string, Pick<Silence, 'state' | 'endsAt'>>();
  down = false;

  async getSilence(id: string): Promise<Silence | undefined> {
    this.asked.push(id);
    if (this.down) throw new Error('unreachable');
    const found = this.silences.get(id);
    return found && { id, matchers: [], startsAt: '', createdBy: '', comment: '', ...found };
  }
}

describe('SilenceExpiry: the message stops saying "silenced" when the silence ends', () => {
  const stores: SqliteStore[] = [];
  afterEach(() => {
    for (const store of stores.splice(0)) store.close();
  });

  function setUp() {
    const store = new SqliteStore(':memory:');
    stores.push(store);
    const clock = new ManualClock(NOW);
    const alertmanager = new FakeAlertmanager();
    let changes = 0;
    const expiry = new SilenceExpiry({
      store: inProcessStore(store),
      alertmanager: alertmanager as unknown as AlertmanagerPort,
      log: recordingLogger().log,
      onChanged: () => changes++,
      recheckMs: 60_000,
      now: clock.now,
    });
    const silencedGroup = async (key: string, mark: SilenceMark): Promise<number> => {
      const id = store.addGroup(key, 'C1', state({ alertname: key }), NOW);
      store.markMessageDelivered(id, `${id}.1`, 1);
      expect(await markGroupSilenced(asyncEngine(store), { groupId: id, mark, at: NOW })).toBe(true);
      alertmanager.silences.set(mark.silenceId, { state: 'active', endsAt: mark.until });
      return id;
    };
    return { store, clock, alertmanager, expiry, silencedGroup, changes: () => changes };
  }

  const mark = (silenceId: string, untilMs: number): SilenceMark => ({ by: 'U0ALICE', until: new Date(untilMs).toISOString(), silenceId });

  it('clears a silence at its end time, with a thread reply and a new version for the outbox', async () => {
    const { store, clock, expiry, silencedGroup, changes } = setUp();
    const id = await silencedGroup('A', mark('s-a', NOW + HOUR));
    const versionSilenced = store.groupById(id)!.version;
    expiry.start();
    await expiry.pass();
    expect(store.groupById(id)!.state.silenced).toBeDefined();
    clock.advance(HOUR);
    await expiry.pass();
    const group = store.groupById(id)!;
    expect(group.state.silenced).toBeUndefined();
    expect(group.version).toBe(versionSilenced + 1);
    expect(store.nextReplyPerChannel(clock.now()).map((reply) => reply.text)).toEqual(['🔔 The silence by <@U0ALICE> has ended: this group notifies again.']);
    expect(changes()).toBe(1);
    expect(store.silencedGroups()).toEqual([]);
  });

  it('names the silence, not a person, when one made in Alertmanager (found by the reconciler) ends', async () => {
    const { store, clock, expiry, silencedGroup } = setUp();
    const id = await silencedGroup('A', { by: '', until: new Date(NOW + HOUR).toISOString(), silenceId: 's-am' });
    expiry.start();
    clock.advance(HOUR);
    await expiry.pass();
    expect(store.groupById(id)!.state.silenced).toBeUndefined();
    expect(store.nextReplyPerChannel(clock.now()).map((reply) => reply.text)).toEqual(['🔔 The silence `s-am` has ended: this group notifies again.']);
  });

  it('watches a silence made through another replica (in the shared store) from its next recheck', async () => {
    const { store, clock, expiry, silencedGroup } = setUp();
    expiry.start();
    await expiry.pass();
    // Another replica took the click: the group shows the silence in the store, this watcher never heard of it.
    const id = await silencedGroup('A', mark('s-a', NOW + 2 * 60_000));
    clock.advance(60_000);
    await expiry.pass();
    clock.advance(60_000);
    await expiry.pass();
    expect(store.groupById(id)!.state.silenced).toBeUndefined();
    expect(store.nextReplyPerChannel(clock.now()).map((reply) => reply.text)).toEqual(['🔔 The silence by <@U0ALICE> has ended: this group notifies again.']);
  });

  it('runs no timers before start(): with several replicas only the job\'s holder watches', async () => {
    vi.useFakeTimers({ now: NOW });
    try {
      const { store, alertmanager, expiry, silencedGroup } = setUp();
      const id = await silencedGroup('A', mark('s-a', NOW + 1000));
      expiry.track(id, mark('s-a', NOW + 1000));
      await vi.advanceTimersByTimeAsync(120_000);
      expect(alertmanager.asked).toEqual([]);
      expect(store.groupById(id)!.state.silenced).toBeDefined();
    } finally {
      vi.useRealTimers();
    }
  });

  it('learns from Alertmanager that a silence was expired or extended there', async () => {
    const { store, clock, alertmanager, expiry, silencedGroup } = setUp();
    const expired = await silencedGroup('A', mark('s-a', NOW + 4 * HOUR));
    const extended = await silencedGroup('B', mark('s-b', NOW + 4 * HOUR));
    expiry.start();
    alertmanager.silences.set('s-a', { state: 'expired', endsAt: new Date(NOW).toISOString() });
    alertmanager.silences.set('s-b', { state: 'active', endsAt: new Date(NOW + 8 * HOUR).toISOString() });
    clock.advance(30_000);
    await expiry.pass();
    expect(alertmanager.asked).toEqual([]);
    clock.advance(30_000);
    await expiry.pass();
    expect(store.groupById(expired)!.state.silenced).toBeUndefined();
    expect(store.groupById(extended)!.state.silenced?.until).toBe(new Date(NOW + 8 * HOUR).toISOString());
  });

  it('clears at once when the silence was ended through Lookout, and keeps the mark while Alertmanager is down', async () => {
    const { store, clock, alertmanager, expiry, silencedGroup } = setUp();
    const a = await silencedGroup('A', mark('s-a', NOW + 4 * HOUR));
    const b = await silencedGroup('B', mark('s-b', NOW + 4 * HOUR));
    expiry.start();
    await expiry.expired('s-a');
    expect(store.groupById(a)!.state.silenced).toBeUndefined();
    alertmanager.down = true;
    clock.advance(60_000);
    await expiry.pass();
    expect(store.groupById(b)!.state.silenced).toBeDefined();
    await expiry.stop();
  });

  it('after a restart, a silence the store shows is cleared at its end time by the timer alone', async () => {
    vi.useFakeTimers();
    try {
      const { store, clock, expiry, silencedGroup } = setUp();
      const id = await silencedGroup('A', mark('s-a', NOW + HOUR));
      expiry.start();
      await vi.advanceTimersByTimeAsync(1000);
      expect(store.groupById(id)!.state.silenced).toBeDefined();
      clock.advance(HOUR);
      await vi.advanceTimersByTimeAsync(HOUR);
      expect(store.groupById(id)!.state.silenced).toBeUndefined();
      await expiry.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('while the store cannot clear an ended silence, retries at the recheck interval, not in a tight loop', async () => {
    vi.useFakeTimers();
    try {
      const { store, clock, silencedGroup } = setUp();
      const id = await silencedGroup('A', mark('s-a', NOW + HOUR));
      let attempts = 0;
      let failing = true;
      const flaky = inProcessStore(store);
      const clear = flaky.clearGroupSilence.bind(flaky);
      flaky.clearGroupSilence = async (...args) => {
        attempts += 1;
        if (failing) throw new Error('database is locked');
        return clear(...args);
      };
      const watcher = new SilenceExpiry({ store: flaky, alertmanager: { getSilence: async () => undefined } as unknown as AlertmanagerPort, log: recordingLogger().log, onChanged: () => {}, recheckMs: 60_000, now: clock.now });
      clock.advance(HOUR);
      watcher.start();
      await vi.advanceTimersByTimeAsync(1000);
      expect(attempts).toBe(1);
      failing = false;
      clock.advance(60_000);
      await vi.advanceTimersByTimeAsync(60_000);
      expect(attempts).toBe(2);
      expect(store.groupById(id)!.state.silenced).toBeUndefined();
      await watcher.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('clears only the silence it was asked about (a newer one on the group stays)', async () => {
    const { store, silencedGroup } = setUp();
    const id = await silencedGroup('A', mark('s-new', NOW + HOUR));
    expect(await clearGroupSilence(asyncEngine(store), { groupId: id, silenceId: 's-old', reply: 'x', at: NOW })).toBe(false);
    expect(store.groupById(id)!.state.silenced?.silenceId).toBe('s-new');
  });
});
