import { describe, expect, it } from 'vitest';
import type { AlertEnrichment, GroupEnrichment } from '../../../alerts/enrichers/enrichment.ts';
import { SCALE_ACTION_ID } from '../../../alerts/alert-buttons.ts';
import { DEFAULT_COMMAND_SETTINGS, type PersonKube } from '../../../commands/command.ts';
import { KubeApiError } from '../../../src/kube/kube-http.ts';
import type { GroupRecord } from '../../../src/state/store.ts';
import { workloadActions } from '../../../src/slack/workload-actions.ts';
import { recordingLogger } from '../../helpers/fakes.ts';
import { groupOf } from '../alerts/render-helpers.ts';

// firing-group.json: three firing alerts.
const FINGERPRINTS = ['1c3b5e7a9d2f4b60', '8e0d4a2c6b1f3957', 'f27a90c3d5e1b846'] as const;

function recordFor(namespace: string): GroupRecord {
  const target = { namespace, workload: { kind: 'Deployment', name: 'cart' } } as const;
  const enrichment: GroupEnrichment = Object.fromEntries(FINGERPRINTS.map((fingerprint): [string, AlertEnrichment] => [fingerprint, { target, facts: [], failures: [], complete: true }]));
  return { id: 1, groupKey: 'g', channel: 'C0ALERTS', state: groupOf('firing-group'), version: 1, postedVersion: 1, messageTs: '1700000000.000100', enrichment } as unknown as GroupRecord;
}

const twoReplicas: PersonKube = { request: async <T>() => ({ metadata: { resourceVersion: '7' }, spec: { replicas: 2 } }) as T };

describe('the Scale button form', () => {
  const fill = async (namespace: string, maxReplicasByNamespace: Record<string, number>, kube: PersonKube = twoReplicas) => {
    const [scale] = workloadActions({ kube: undefined, settings: { ...DEFAULT_COMMAND_SETTINGS, scale: { maxReplicas: 50, maxReplicasByNamespace } } });
    expect(scale.actionId).toBe(SCALE_ACTION_ID);
    const filled = await scale.modal!.fill!({ record: recordFor(namespace), actor: { slackUserId: 'U024BE7LH', slackUserName: 'alice' }, kube, log: recordingLogger().log });
    return JSON.stringify(filled?.blocks[0]);
  };

  it('shows the current replicas and the limit that applies in the namespace, as the command enforces it', async () => {
    expect(await fill('shop', { shop: 8 })).toContain("Now 2 replicas. Lookout's limit here: 8.");
    expect(await fill('shop', {})).toContain("Lookout's limit here: 50.");
    // A namespace named like an Object property is an ordinary namespace.
    expect(await fill('constructor', {})).toContain("Lookout's limit here: 50.");
  });

  it('says a refusal as it is, and any other failure only as "could not read" (no API server text in Slack)', async () => {
    const failing = (error: Error): PersonKube => ({ request: async () => Promise.reject(error) });
    expect(await fill('shop', {}, failing(new KubeApiError('GET', '/apis/apps/v1/namespaces/shop/deployments/cart/scale', 403, 'Forbidden', 'no')))).toContain('Not allowed: this needs `get` on `deployments/scale.apps`');
    for (const error of [new KubeApiError('GET', '/apis/apps/v1/namespaces/shop/deployments/cart/scale', 500, 'InternalError', 'etcd timeout'), new TypeError('fetch failed')]) {
      const text = await fill('shop', {}, failing(error));
      expect(text).toContain('Lookout could not read the current replica count.');
      expect(text).not.toContain('/apis/');
      expect(text).not.toContain('fetch failed');
    }
  });
});
