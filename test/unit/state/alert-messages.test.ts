import { afterEach, describe, expect, it } from 'vitest';
import type { GroupState } from '../../../alerts/group-state.ts';
import { SqliteStore } from '../../../src/state/sqlite-store.ts';
import { payload } from '../../helpers/fakes.ts';

function state(groupKey: string, alerts: Array<{ fingerprint: string; status: 'firing' | 'resolved' }>): GroupState {
  return { groupKey, receiver: 'lookout', externalURL: 'http://alertmanager', groupLabels: {}, commonLabels: {}, commonAnnotations: {}, alerts: payload(groupKey, alerts).alerts, truncatedAlerts: 0 };
}

describe('alertMessages: the Slack message showing a firing alert', () => {
  const stores: SqliteStore[] = [];
  afterEach(() => {
    for (const store of stores.splice(0)) store.close();
  });

  it('finds the posted message of the firing episode, in the channel it lives in, and nothing else', () => {
    const store = new SqliteStore(':memory:');
    stores.push(store);
    const posted = store.addGroup('g1', 'C1', state('g1', [{ fingerprint: 'a', status: 'firing' }, { fingerprint: 'b', status: 'resolved' }]), 1000);
    store.markMessageDelivered(posted, '100.0001', 1);
    const away = store.addGroup('g2', 'C2', state('g2', [{ fingerprint: 'c', status: 'firing' }]), 1000);
    store.recordMessagePosted(away, '200.0002', 'CFALLBACK', 1);
    // Not posted yet: no message to link.
    store.addGroup('g3', 'C3', state('g3', [{ fingerprint: 'd', status: 'firing' }]), 1000);
    // A resolved episode's message no longer shows the alert firing.
    const resolved = store.addGroup('g4', 'C4', state('g4', [{ fingerprint: 'e', status: 'resolved' }]), 1000);
    store.markMessageDelivered(resolved, '400.0004', 1);

    expect(store.alertMessages(['a', 'b', 'c', 'd', 'e', 'unknown']).sort((x, y) => x.fingerprint.localeCompare(y.fingerprint))).toEqual([
      { fingerprint: 'a', channel: 'C1', messageTs: '100.0001' },
      { fingerprint: 'c', channel: 'CFALLBACK', messageTs: '200.0002' },
    ]);
    expect(store.alertMessages([])).toEqual([]);
  });
});
