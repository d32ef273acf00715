import { describe, expect, it } from 'vitest';
import { createNodeEnricher } from '../../../../alerts/enrichers/node.ts';
import { nodeSchema } from '../../../../src/kube/kube-objects.ts';
import { FakeReader, NOW, alertWith, defaultRedactor, never, nodeUnderPressure } from './kube-fixtures.ts';

const alert = alertWith({ node: 'node-4' });
const enricher = (reader: FakeReader) => createNodeEnricher({ reader, now: () => NOW, redactor: defaultRedactor });

describe('node enricher', () => {
  it('names the pressure conditions that are on, and a cordon', async () => {
    const reader = new FakeReader();
    reader.nodes.set('node-4', nodeUnderPressure);
    const fact = await enricher(reader).enrich(alert, { node: 'node-4' }, never);
    expect(fact?.summary).toBe('`node-4` · Ready · MemoryPressure <!date^1772444400^{ago}|20m ago> · cordoned');
    expect(fact?.detail?.split('\n')).toEqual([
      '*Node* `node-4` · Ready · cordoned (unschedulable) · kubelet v1.36.3',
      '• ⚠️ MemoryPressure=True (KubeletHasInsufficientMemory) — kubelet has insufficient memory available since <!date^1772444400^{ago}|20m ago>',
      '• DiskPressure=False (KubeletHasNoDiskPressure) since <!date^1764547200^{ago}|91d ago>',
      '• PIDPressure=False (KubeletHasSufficientPID) since <!date^1764547200^{ago}|91d ago>',
      '• Ready=True (KubeletReady) since <!date^1764547200^{ago}|91d ago>',
      'Taints: `node.kubernetes.io/memory-pressure:NoSchedule`, `node.kubernetes.io/unschedulable:NoSchedule`',
    ]);
  });

  it('cuts an overlong summary between its parts instead of losing it', async () => {
    const name = `ip-10-0-1-17.${'eu-west-1.compute.internal.'.repeat(8)}example`;
    const reader = new FakeReader();
    const everyPressure = ['MemoryPressure', 'DiskPressure', 'PIDPressure', 'NetworkUnavailable'].map((type) => ({ type, status: 'True', lastTransitionTime: '2026-03-02T09:40:00Z' }));
    reader.nodes.set(name, nodeSchema.parse({ ...nodeUnderPressure, metadata: { name }, status: { conditions: everyPressure } }));
    const fact = await enricher(reader).enrich(alert, { node: name }, never);
    expect(fact?.summary.length).toBeLessThanOrEqual(300);
    expect(fact?.summary).toMatch(/^`ip-10-0-1-17\.eu-west-1[^`]*…` · Ready unknown · MemoryPressure <!date\^1772444400\^\{ago\}\|20m ago> · /);
    expect(fact?.summary).toMatch(/ · …$/);
  });

  it('says NotReady, and when the kubelet stopped posting status', async () => {
    const reader = new FakeReader();
    reader.nodes.set(
      'node-5',
      nodeSchema.parse({
        metadata: { name: 'node-5' },
        status: {
          conditions: [
            { type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastTransitionTime: '2026-03-02T09:52:00Z' },
          ],
        },
      }),
    );
    reader.nodes.set(
      'node-6',
      nodeSchema.parse({
        metadata: { name: 'node-6' },
        status: { conditions: [{ type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: 'container runtime network not ready', lastTransitionTime: '2026-03-02T09:58:00Z' }] },
      }),
    );
    expect((await enricher(reader).enrich(alert, { node: 'node-5' }, never))?.summary).toBe(
      '`node-5` · NotReady (kubelet stopped posting) <!date^1772445120^{ago}|8m ago>',
    );
    expect((await enricher(reader).enrich(alert, { node: 'node-6' }, never))?.summary).toBe(
      '`node-6` · NotReady (KubeletNotReady) <!date^1772445480^{ago}|2m ago>',
    );
  });

  it('leaves pod alerts that carry a node label to the pod source', async () => {
    const reader = new FakeReader();
    expect(await enricher(reader).enrich(alert, { namespace: 'shop', pod: 'cart-1', node: 'node-4' }, never)).toBeUndefined();
    expect(reader.calls).toEqual([]);
  });

  it('reports a node that is gone', async () => {
    expect((await enricher(new FakeReader()).enrich(alert, { node: 'node-9' }, never))?.summary).toBe('node `node-9` not found');
  });
});
