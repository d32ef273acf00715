import { describe, expect, it } from 'vitest';
import { mergeNotification } from '../../../alerts/merge-group.ts';
import { payload } from '../../helpers/fakes.ts';

const T0 = '2026-01-01T00:00:00Z';
const T1 = '2026-01-01T01:00:00Z';

describe('mergeNotification', () => {
  it('starts an episode from the first notification', () => {
    const result = mergeNotification(undefined, payload('g', [{ fingerprint: 'b' }, { fingerprint: 'a' }]));
    expect(result).toMatchObject({ changed: true, newEpisode: true });
    expect(result.state.alerts.map((alert) => alert.fingerprint)).toEqual(['a', 'b']);
    expect(result.change.firing.map((alert) => alert.fingerprint)).toEqual(['b', 'a']);
  });

  it('a retry or a repeat_interval re-send changes nothing', () => {
    const first = mergeNotification(undefined, payload('g', [{ fingerprint: 'a' }]));
    const again = mergeNotification(first.state, payload('g', [{ fingerprint: 'a' }]));
    expect(again.changed).toBe(false);
    expect(again.state).toBe(first.state);
  });

  it('the other HA replica sending an older view after a newer one changes nothing', () => {
    const firing = payload('g', [{ fingerprint: 'a' }, { fingerprint: 'b' }]);
    const resolvedA = payload('g', [{ fingerprint: 'a', status: 'resolved' }, { fingerprint: 'b' }]);
    const newer = mergeNotification(mergeNotification(undefined, firing).state, resolvedA);
    expect(newer.change.resolved.map((alert) => alert.fingerprint)).toEqual(['a']);

    const late = mergeNotification(newer.state, firing);
    expect(late.changed).toBe(false);
    expect(late.state.alerts.find((alert) => alert.fingerprint === 'a')?.status).toBe('resolved');
  });

  it('reports alerts that join and alerts that resolve', () => {
    const start = mergeNotification(undefined, payload('g', [{ fingerprint: 'a' }])).state;
    const next = mergeNotification(start, payload('g', [{ fingerprint: 'a', status: 'resolved' }, { fingerprint: 'b' }]));
    expect(next.changed).toBe(true);
    expect(next.newEpisode).toBe(false);
    expect(next.change.firing.map((alert) => alert.fingerprint)).toEqual(['b']);
    expect(next.change.resolved.map((alert) => alert.fingerprint)).toEqual(['a']);
    expect(next.state.alerts.map((alert) => [alert.fingerprint, alert.status])).toEqual([
      ['b', 'firing'],
      ['a', 'resolved'],
    ]);
  });

  it('keeps alerts that a later notification no longer lists', () => {
    const start = mergeNotification(undefined, payload('g', [{ fingerprint: 'a' }, { fingerprint: 'b' }])).state;
    const next = mergeNotification(start, payload('g', [{ fingerprint: 'b', status: 'resolved' }]));
    expect(next.state.alerts.map((alert) => [alert.fingerprint, alert.status])).toEqual([
      ['a', 'firing'],
      ['b', 'resolved'],
    ]);
  });

  it('a new firing after the whole group resolved starts a new episode with only the new alerts', () => {
    const firing = mergeNotification(undefined, payload('g', [{ fingerprint: 'a' }, { fingerprint: 'b' }])).state;
    const resolved = mergeNotification(
      firing,
      payload('g', [
        { fingerprint: 'a', status: 'resolved' },
        { fingerprint: 'b', status: 'resolved' },
      ]),
    ).state;
    const refire = mergeNotification(resolved, payload('g', [{ fingerprint: 'a', startsAt: T1 }, { fingerprint: 'b', status: 'resolved', startsAt: T0 }]));
    expect(refire.newEpisode).toBe(true);
    expect(refire.state.alerts.map((alert) => [alert.fingerprint, alert.startsAt])).toEqual([['a', T1]]);
  });

  it('a stale firing of an occurrence that already resolved does not reopen the group', () => {
    const firing = mergeNotification(undefined, payload('g', [{ fingerprint: 'a' }])).state;
    const resolved = mergeNotification(firing, payload('g', [{ fingerprint: 'a', status: 'resolved' }])).state;
    const stale = mergeNotification(resolved, payload('g', [{ fingerprint: 'a' }]));
    expect(stale).toMatchObject({ changed: false, newEpisode: false });
  });
});

describe('mergeNotification and acknowledgements', () => {
  const acknowledged = { by: 'U024BE7LH', at: '2026-01-01T00:05:00Z' };

  it('keeps an acknowledgement when alerts join the same episode', () => {
    const first = mergeNotification(undefined, payload('g', [{ fingerprint: 'a' }]));
    const joined = mergeNotification({ ...first.state, acknowledged }, payload('g', [{ fingerprint: 'b' }]));
    expect(joined.state.acknowledged).toEqual(acknowledged);
  });

  it('drops it when a new episode starts', () => {
    const first = mergeNotification(undefined, payload('g', [{ fingerprint: 'a' }]));
    const resolved = mergeNotification({ ...first.state, acknowledged }, payload('g', [{ fingerprint: 'a', status: 'resolved' }]));
    expect(resolved.state.acknowledged).toEqual(acknowledged);
    const again = mergeNotification(resolved.state, payload('g', [{ fingerprint: 'a', startsAt: T1 }]));
    expect(again.newEpisode).toBe(true);
    expect(again.state.acknowledged).toBeUndefined();
  });
});

describe('mergeNotification and silences made from Slack', () => {
  const silenced = { by: 'U024BE7LH', until: '2026-01-01T02:00:00.000Z', silenceId: '8f0c1f9e-3b7a-4c1e-9a56-0f7c2d3e4b5a' };

  it('keeps the silence for the episode and drops it with a new one', () => {
    const first = mergeNotification(undefined, payload('g', [{ fingerprint: 'a' }]));
    const joined = mergeNotification({ ...first.state, silenced }, payload('g', [{ fingerprint: 'b' }]));
    expect(joined.state.silenced).toEqual(silenced);
    const resolved = mergeNotification(joined.state, payload('g', [{ fingerprint: 'a', status: 'resolved' }, { fingerprint: 'b', status: 'resolved' }]));
    const again = mergeNotification(resolved.state, payload('g', [{ fingerprint: 'a', startsAt: T1 }]));
    expect(again.newEpisode).toBe(true);
    expect(again.state.silenced).toBeUndefined();
  });

  // The stale-resolve case the reconciler repairs (src/alertmanager-reconciler.ts): a resolve that
  // names an older occurrence (its startsAt, and an endsAt, before the firing startsAt Lookout
  // stored) is rightly not applied to the newer one, so without reconciliation nothing ever
  // resolves the message once Alertmanager has forgotten the alert.
  it('a resolve older than the stored firing occurrence leaves the group firing', () => {
    const firing = mergeNotification(undefined, payload('g', [{ fingerprint: 'a', startsAt: T1 }]));
    const staleResolve = payload('g', [{ fingerprint: 'a', status: 'resolved', startsAt: T0 }]);
    expect(Date.parse(staleResolve.alerts[0]!.endsAt)).toBeLessThan(Date.parse(T1));

    const after = mergeNotification(firing.state, staleResolve);
    expect(after.changed).toBe(false);
    expect(after.state.alerts.map((alert) => [alert.fingerprint, alert.status, alert.startsAt])).toEqual([['a', 'firing', T1]]);
  });
});
