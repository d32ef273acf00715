import { describe, expect, it } from 'vitest';
import type { AlertEnrichment, AlertTarget, GroupEnrichment } from '../../../alerts/enrichers/enrichment.ts';
import { groupLogTarget } from '../../../alerts/group-log-target.ts';
import { groupOf } from './render-helpers.ts';

// firing-group.json: three firing alerts; partly-resolved.json: the first of them resolved.
const FINGERPRINTS = ['1c3b5e7a9d2f4b60', '8e0d4a2c6b1f3957', 'f27a90c3d5e1b846'] as const;

const enriched = (...targets: AlertTarget[]): GroupEnrichment =>
  Object.fromEntries(targets.map((target, i): [string, AlertEnrichment] => [FINGERPRINTS[i] ?? '', { target, facts: [], failures: [], complete: true }]));

describe('groupLogTarget', () => {
  const group = groupOf('firing-group');
  const cart = { kind: 'Deployment', name: 'cart' } as const;

  it('is the pod every firing alert names, with their common container', () => {
    const pod = { namespace: 'shop', pod: 'cart-1', container: 'app', workload: cart };
    expect(groupLogTarget(group, enriched(pod, pod, pod))).toEqual({ namespace: 'shop', kind: 'pod', name: 'cart-1', container: 'app' });
    expect(groupLogTarget(group, enriched(pod, pod, { ...pod, container: 'sidecar' }))).toEqual({ namespace: 'shop', kind: 'pod', name: 'cart-1' });
  });

  it('is their common workload when they name different pods of it', () => {
    expect(groupLogTarget(group, enriched({ namespace: 'shop', pod: 'cart-1', workload: cart }, { namespace: 'shop', pod: 'cart-2', workload: cart }, { namespace: 'shop', workload: cart }))).toEqual({
      namespace: 'shop',
      kind: 'deployment',
      name: 'cart',
    });
  });

  it('is nothing when the alerts disagree, name no pod or workload logs can come from, or enrichment has not run', () => {
    expect(groupLogTarget(group, enriched({ namespace: 'shop', workload: cart }, { namespace: 'shop', workload: { kind: 'Deployment', name: 'ledger' } }, { namespace: 'shop', workload: cart }))).toBeUndefined();
    expect(groupLogTarget(group, enriched({ namespace: 'shop', pod: 'a' }, { namespace: 'pay', pod: 'a' }, { namespace: 'shop', pod: 'a' }))).toBeUndefined();
    const job = { namespace: 'shop', workload: { kind: 'Job', name: 'migrate' } } as const;
    expect(groupLogTarget(group, enriched(job, job, job))).toBeUndefined();
    expect(groupLogTarget(group, enriched({ node: 'n1' }, { node: 'n1' }, { node: 'n1' }))).toBeUndefined();
    expect(groupLogTarget(group, undefined)).toBeUndefined();
    expect(groupLogTarget(group, {})).toBeUndefined();
  });

  it('looks at firing alerts only', () => {
    const pod = { namespace: 'shop', pod: 'cart-1' };
    expect(groupLogTarget(groupOf('partly-resolved'), enriched({ namespace: 'pay', pod: 'other' }, pod, pod))).toEqual({ namespace: 'shop', kind: 'pod', name: 'cart-1' });
  });
});
