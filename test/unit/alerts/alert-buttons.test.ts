import { describe, expect, it } from 'vitest';
import { alertButtons, groupWorkload, RESTART_ACTION_ID, SCALE_ACTION_ID, type AlertButtonGroup } from '../../../alerts/alert-buttons.ts';
import type { CertificateTarget, GroupEnrichment, WorkloadKind } from '../../../alerts/enrichers/enrichment.ts';
import { commandButtonActionId } from '../../../commands/command.ts';
import type { GroupState } from '../../../alerts/group-state.ts';

function state(fingerprints: string[], status: 'firing' | 'resolved' = 'firing'): GroupState {
  return {
    groupKey: 'g',
    receiver: 'r',
    externalURL: '',
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    alerts: fingerprints.map((fingerprint) => ({ fingerprint, status, labels: {}, annotations: {}, startsAt: '2026-01-01T00:00:00Z', endsAt: '0001-01-01T00:00:00Z', generatorURL: '' })),
    truncatedAlerts: 0,
  } as GroupState;
}
const found = (kind: WorkloadKind, name: string) => ({ target: { namespace: 'shop', workload: { kind, name } }, facts: [], failures: [], complete: true });

function buttons(group: GroupState, enrichment: GroupEnrichment): string[] {
  const view: AlertButtonGroup = { state: group, enrichment, workload: groupWorkload(group, enrichment), ref: 'g1:x' };
  // Only the buttons this file is about; other contributors (Silence, Show logs) have their own tests.
  return alertButtons(view)
    .map((button) => button.action_id ?? '')
    .filter((id) => ['ack', SCALE_ACTION_ID, RESTART_ACTION_ID].includes(id));
}

describe('alert-message buttons', () => {
  it('offers Scale and Restart when enrichment found one Deployment or StatefulSet', () => {
    expect(buttons(state(['a', 'b']), { a: found('Deployment', 'cart'), b: found('Deployment', 'cart') })).toEqual(['ack', SCALE_ACTION_ID, RESTART_ACTION_ID]);
    expect(buttons(state(['a']), { a: found('StatefulSet', 'db') })).toEqual(['ack', SCALE_ACTION_ID, RESTART_ACTION_ID]);
  });

  it('offers neither without a workload, for other kinds, when alerts disagree, or once resolved', () => {
    expect(buttons(state(['a']), {})).toEqual(['ack']);
    expect(buttons(state(['a']), { a: found('DaemonSet', 'agent') })).toEqual(['ack']);
    expect(buttons(state(['a', 'b']), { a: found('Deployment', 'cart'), b: found('Deployment', 'ledger') })).toEqual(['ack']);
    expect(buttons(state(['a'], 'resolved'), { a: found('Deployment', 'cart') })).toEqual([]);
  });

  it('puts a confirm dialog on Restart within Slack limits, and carries only the group reference', () => {
    const group = state(['a']);
    const enrichment = { a: found('Deployment', 'x'.repeat(253)) };
    const all = alertButtons({ state: group, enrichment, workload: groupWorkload(group, enrichment), ref: 'g1:x' });
    const restart = all.find((button) => button.action_id === RESTART_ACTION_ID)!;
    expect(restart.confirm?.text.text.length).toBeLessThanOrEqual(300);
    expect(restart.confirm?.title?.text.length).toBeLessThanOrEqual(100);
    expect(all.every((button) => button.value === 'g1:x')).toBe(true);
  });

  describe('Renew, on alerts about a cert-manager Certificate', () => {
    const about = (certificate: CertificateTarget, namespace = 'shop') => ({ target: { namespace, certificate }, facts: [], failures: [], complete: true });
    const renew = (group: GroupState, enrichment: GroupEnrichment) =>
      alertButtons({ state: group, enrichment, workload: groupWorkload(group, enrichment), ref: 'g1:x' })
        .filter((button) => button.action_id === commandButtonActionId('certs'))
        .map((button) => button.value);

    it('runs /ops certs renew for the Certificate the alerts name, or the one managing the Secret they name', () => {
      expect(renew(state(['a']), { a: about({ kind: 'Certificate', name: 'cart' }) })).toEqual(['renew shop/cart']);
      expect(renew(state(['a', 'b']), { a: about({ kind: 'Secret', name: 'cart-tls', managedBy: 'cart' }), b: about({ kind: 'Certificate', name: 'cart' }) })).toEqual(['renew shop/cart']);
    });

    it('not for a Secret no Certificate manages, when alerts name different Certificates, or once resolved', () => {
      expect(renew(state(['a']), { a: about({ kind: 'Secret', name: 'web-tls' }) })).toEqual([]);
      expect(renew(state(['a', 'b']), { a: about({ kind: 'Certificate', name: 'cart' }), b: about({ kind: 'Certificate', name: 'web' }) })).toEqual([]);
      expect(renew(state(['a', 'b']), { a: about({ kind: 'Certificate', name: 'cart' }), b: about({ kind: 'Certificate', name: 'cart' }, 'pay') })).toEqual([]);
      expect(renew(state(['a'], 'resolved'), { a: about({ kind: 'Certificate', name: 'cart' }) })).toEqual([]);
    });

    it('asks before renewing', () => {
      const group = state(['a']);
      const enrichment = { a: about({ kind: 'Certificate', name: 'cart' }) };
      const button = alertButtons({ state: group, enrichment, workload: undefined, ref: 'g1:x' }).find((candidate) => candidate.action_id === commandButtonActionId('certs'));
      expect(button?.confirm?.title?.text).toBe('Renew this certificate?');
    });
  });
});
