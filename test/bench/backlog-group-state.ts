import type { GroupState } from '../../alerts/group-state.ts';

/** A group of three firing alerts, like a KubePodNotReady group, for the store's by-backlog measurements. */
export function backlogGroupState(g: number): GroupState {
  const alerts = Array.from({ length: 3 }, (_, a) => ({
    fingerprint: `${g}-${a}`,
    status: 'firing' as const,
    labels: { alertname: 'KubePodNotReady', namespace: `team-${g % 17}`, pod: `svc-${g}-7d9f8b6c5-${a}`, severity: 'warning' },
    annotations: { summary: `Pod team/svc-${g}-${a} has been in a non-ready state for longer than 15 minutes.` },
    startsAt: '2026-01-01T00:00:00Z',
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: '',
  }));
  return { groupKey: `svc-${g}`, receiver: 'lookout', externalURL: '', groupLabels: {}, commonLabels: {}, commonAnnotations: {}, alerts, truncatedAlerts: 0 };
}
