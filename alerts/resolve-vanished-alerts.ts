import { isFiring, type GroupState } from './group-state.ts';
import { byDisplayOrder } from './merge-group.ts';
import type { AsyncEngine } from '../src/state/store.ts';

type GroupWrites = Pick<AsyncEngine, 'transaction' | 'groupById' | 'updateGroupState' | 'addReply'>;

export interface ResolveVanishedRequest {
  groupId: number;
  /** The firing occurrences the reconciler compared with Alertmanager: fingerprint → startsAt. */
  alerts: Record<string, string>;
  /** The thread reply saying why Lookout resolved them. */
  reply: string;
  at: number;
}

/**
 * The reconciler's repair of a message left FIRING (src/alertmanager-reconciler.ts): the alerts
 * Alertmanager no longer has become resolved, the version is bumped so the outbox edits the
 * message in place, and a thread reply says why, all in one transaction. Nothing changes when the
 * group moved on since it was read (another occurrence, or a notification resolved it first),
 * so a repair never undoes what Alertmanager said meanwhile.
 * @returns whether it resolved them.
 */
export function resolveVanishedAlerts(store: GroupWrites, { groupId, alerts, reply, at }: ResolveVanishedRequest): Promise<boolean> {
  return store.transaction(async () => {
    const current = await store.groupById(groupId);
    if (current === undefined || !isFiring(current.state)) return false;
    const firing = current.state.alerts.filter((alert) => alert.status === 'firing');
    const unchanged = firing.length === Object.keys(alerts).length && firing.every((alert) => alerts[alert.fingerprint] === alert.startsAt);
    if (!unchanged) return false;
    const endsAt = new Date(at).toISOString();
    const state: GroupState = {
      ...current.state,
      alerts: current.state.alerts.map((alert) => (alert.status === 'firing' ? { ...alert, status: 'resolved' as const, endsAt } : alert)).sort(byDisplayOrder),
    };
    await store.updateGroupState(current.id, state, at);
    // Before the first post there is nothing to reply under: the post itself shows RESOLVED.
    if (current.postedVersion > 0) await store.addReply(current.id, reply, at);
    return true;
  });
}
