import { describe, expect, it } from 'vitest';
import { startAlertEnrichment } from '../../../alerts/enrich-group.ts';
import type { AlertTarget, Enricher } from '../../../alerts/enrichers/enrichment.ts';
import { freshMetrics, recordingLogger } from '../../helpers/fakes.ts';
import { alertWith, never } from './enrichers/kube-fixtures.ts';

/** A source that records the target it was given and describes it. */
function recordingSource(seen: AlertTarget[]): Enricher {
  return {
    source: 'workload',
    enrich(_alert, target) {
      seen.push(target);
      return Promise.resolve({ source: 'workload', summary: `about ${target.workload?.name ?? target.pod ?? 'nothing'}` });
    },
  };
}

describe('startAlertEnrichment: the target is confirmed before any source starts', () => {
  it('hands every source the confirmed target, not what the labels alone said', async () => {
    const seen: AlertTarget[] = [];
    let confirm: (target: AlertTarget) => void = () => undefined;
    const confirmed = new Promise<AlertTarget>((resolve) => (confirm = resolve));
    const run = startAlertEnrichment(alertWith({ namespace: 'shop', deployment: 'cart', pod: 'exporter-1' }), {
      sources: { resolveTarget: () => confirmed, enrichers: [recordingSource(seen), recordingSource(seen)] },
      signal: never,
      metrics: freshMetrics(),
      log: recordingLogger().log,
      now: () => 0,
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual([]);
    expect(run.snapshot()).toMatchObject({ target: {}, complete: false });

    confirm({ namespace: 'shop', workload: { kind: 'Deployment', name: 'cart' } });
    const done = await run.done;
    expect(seen).toEqual([
      { namespace: 'shop', workload: { kind: 'Deployment', name: 'cart' } },
      { namespace: 'shop', workload: { kind: 'Deployment', name: 'cart' } },
    ]);
    expect(done).toMatchObject({ target: { namespace: 'shop', workload: { kind: 'Deployment', name: 'cart' } }, complete: true });
    expect(done.facts.map((fact) => fact.summary)).toEqual(['about cart', 'about cart']);
  });

  it('says nothing rather than guess when resolving the target fails unexpectedly, and logs it', async () => {
    const seen: AlertTarget[] = [];
    const logger = recordingLogger();
    const done = await startAlertEnrichment(alertWith({ namespace: 'shop', pod: 'cart-1' }), {
      sources: { resolveTarget: () => Promise.reject(new Error('bug')), enrichers: [recordingSource(seen)] },
      signal: never,
      metrics: freshMetrics(),
      log: logger.log,
      now: () => 0,
    }).done;
    expect(seen).toEqual([{}]);
    expect(done.facts.map((fact) => fact.summary)).toEqual(['about nothing']);
    expect(logger.lines().some((line) => String(line['msg']).includes('resolving the alert'))).toBe(true);
  });
});
