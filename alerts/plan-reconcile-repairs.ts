import type { AlertGroup } from '../src/integrations/alertmanager.ts';
import type { FiringGroup } from '../src/state/store.ts';

/** A drift between a group's message and Alertmanager, and how to repair it. */
export type ReconcileRepair =
  /** Alertmanager has none of the alerts the message shows firing: resolve exactly these occurrences. */
  | { kind: 'resolve'; groupId: number; groupKey: string; alerts: Record<string, string> }
  /** Every alert the message shows firing is muted by this silence, and the message does not say so. */
  | { kind: 'silence'; groupId: number; groupKey: string; silenceId: string };

export interface ReconcileInput {
  /** What Lookout shows as firing (Store.firingGroups). */
  lookout: readonly FiringGroup[];
  /** What Alertmanager has (AlertmanagerGroupsPort.listAlertGroups). */
  alertmanager: readonly AlertGroup[];
  now: number;
  /** Groups changed more recently than this (ms) are left alone: a notification may be on its way. */
  graceMs: number;
}

/**
 * Decides what the reconciler repairs. Alertmanager's groups are per receiver and route and its
 * API v2 does not name their groupKey, so the two views are matched by alert fingerprint, which
 * both sides compute the same way (a hash of the labels), whatever route or receiver the alert
 * went through. Conservative by design: a group is resolved only when Alertmanager has none of
 * its firing alerts in any group (active, silenced or inhibited), and marked silenced only when
 * every one of them is muted by the same silence.
 */
export function planReconcileRepairs({ lookout, alertmanager, now, graceMs }: ReconcileInput): ReconcileRepair[] {
  const known = new Map<string, string[]>();
  for (const group of alertmanager) {
    for (const alert of group.alerts) known.set(alert.fingerprint, alert.state === 'suppressed' ? alert.silencedBy : []);
  }
  const repairs: ReconcileRepair[] = [];
  for (const group of lookout) {
    if (now - group.changedAt < graceMs || group.alerts.length === 0) continue;
    const stillThere = group.alerts.filter((alert) => known.has(alert.fingerprint));
    if (stillThere.length === 0) {
      repairs.push({ kind: 'resolve', groupId: group.groupId, groupKey: group.groupKey, alerts: Object.fromEntries(group.alerts.map((alert) => [alert.fingerprint, alert.startsAt])) });
      continue;
    }
    if (group.silenced || stillThere.length < group.alerts.length) continue;
    const silenceId = commonSilence(stillThere.map((alert) => known.get(alert.fingerprint) ?? []));
    if (silenceId !== undefined) repairs.push({ kind: 'silence', groupId: group.groupId, groupKey: group.groupKey, silenceId });
  }
  return repairs;
}

/** A silence that mutes every alert (the smallest id, so the choice is stable), if there is one. */
function commonSilence(silencedBy: readonly string[][]): string | undefined {
  const [first = [], ...rest] = silencedBy;
  return [...first].sort().find((id) => rest.every((ids) => ids.includes(id)));
}
