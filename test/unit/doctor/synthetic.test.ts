import { describe, expect, it } from 'vitest';
import { syntheticChannel } from '../../../alerts/route-channel.ts';
import { SyntheticWatch } from '../../../src/doctor/synthetic-watch.ts';
import type { GroupRecord } from '../../../src/state/store.ts';

describe('syntheticChannel', () => {
  it('routes a group whose alerts all carry both synthetic labels to the channel they name', () => {
    expect(syntheticChannel({ lookout_synthetic: 'ab12cd34', lookout_synthetic_channel: 'C0OPS' })).toBe('C0OPS');
  });

  it('leaves every other group to the routes: one label alone, or a value that is no channel id', () => {
    expect(syntheticChannel({ lookout_synthetic_channel: 'C0OPS' })).toBeUndefined();
    expect(syntheticChannel({ lookout_synthetic: 'ab12cd34' })).toBeUndefined();
    expect(syntheticChannel({ lookout_synthetic: 'ab12cd34', lookout_synthetic_channel: '#general' })).toBeUndefined();
  });
});

describe('SyntheticWatch', () => {
  const record = (id: string, status: 'firing' | 'resolved', changedAt: number) =>
    ({ changedAt, state: { alerts: [{ status, labels: { alertname: 'LookoutSyntheticCheck', lookout_synthetic: id } }] } }) as unknown as GroupRecord;

  it('resolves the waiter of that id and state only, with when the webhook arrived and when Slack showed it', async () => {
    let now = 5000;
    const watch = new SyntheticWatch(() => now);
    const firing = watch.wait('aaaa', true, new AbortController().signal);
    const resolved = watch.wait('aaaa', false, new AbortController().signal);
    watch.shown(record('bbbb', 'firing', 1000), 'C0OPS');
    now = 6000;
    watch.shown(record('aaaa', 'firing', 4000), 'C0OPS');
    await expect(firing).resolves.toEqual({ receivedAt: 4000, shownAt: 6000, channel: 'C0OPS', firing: true });
    now = 9000;
    watch.shown(record('aaaa', 'resolved', 8500), 'C0OPS');
    await expect(resolved).resolves.toEqual({ receivedAt: 8500, shownAt: 9000, channel: 'C0OPS', firing: false });
  });

  it('rejects when its signal aborts, and forgets the waiter', async () => {
    const watch = new SyntheticWatch(() => 0);
    const controller = new AbortController();
    const waiting = watch.wait('cccc', true, controller.signal);
    controller.abort(new Error('deadline'));
    await expect(waiting).rejects.toThrow('deadline');
    expect(() => watch.shown(record('cccc', 'firing', 0), 'C0OPS')).not.toThrow();
  });
});
