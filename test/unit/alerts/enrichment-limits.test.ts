import { describe, expect, it } from 'vitest';
import { enrichmentSchema } from '../../../alerts/enrichers/enrichment-config.ts';
import type { AlertEnrichment, GroupEnrichment } from '../../../alerts/enrichers/enrichment.ts';
import { createEventsEnricher } from '../../../alerts/enrichers/events.ts';
import { createLogsEnricher } from '../../../alerts/enrichers/logs.ts';
import { createPodEnricher } from '../../../alerts/enrichers/pod.ts';
import { resolveTarget } from '../../../alerts/enrichers/target.ts';
import { createWorkloadEnricher } from '../../../alerts/enrichers/workload.ts';
import type { GroupState } from '../../../alerts/group-state.ts';
import { renderGroupDetail, renderGroupMessage } from '../../../alerts/render.ts';
import type { LokiEntry, LokiPort } from '../../../src/integrations/loki.ts';
import { podSchema } from '../../../src/kube/kube-objects.ts';
import { payload } from '../../helpers/fakes.ts';
import { FakeReader, NOW, cartDeployment, cartHpa, cartReplicaSet, crashLoopingPod, defaultRedactor, never, warningEvent } from './enrichers/kube-fixtures.ts';
import { expectWithinSlackLimits } from './render-helpers.ts';

/*
 * The real sources' output for a large storm group, rendered: every Slack limit holds and no
 * secret from a status message, an event or a log line reaches either message. Secrets are
 * chosen so each default redaction pattern has one to catch.
 */

const SECRETS = {
  bearer: 'eyNotAJwtButABearerToken0123456789',
  urlPassword: 'hunter2-pa55word',
  awsKeyId: 'AKIAIOSFODNN7EXAMPLE',
  awsSecret: 'wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY',
  jwt: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYXJ0In0.c2lnbmF0dXJlLW9mLXRoZS1qd3Q',
  pemBody: 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7',
};

const leaky = (i: number): string =>
  `call ${i} failed: Authorization: Bearer ${SECRETS.bearer} via postgres://cart:${SECRETS.urlPassword}@db:5432/cart ` +
  `aws_access_key_id=${SECRETS.awsKeyId} aws_secret_access_key=${SECRETS.awsSecret} session=${SECRETS.jwt} ${'and more context '.repeat(20)}`;

const ALERTS = 200;
const podName = (i: number): string => `cart-7d9f8c6b5-${String(i).padStart(5, '0')}${'x'.repeat(30)}`;

function storm(): { group: GroupState; reader: FakeReader; loki: LokiPort } {
  const notification = payload(
    '{}:{alertname="KubePodCrashLooping"}',
    Array.from({ length: ALERTS }, (_, i) => ({
      name: 'KubePodCrashLooping',
      fingerprint: `f${String(i).padStart(4, '0')}`,
      startsAt: '2026-03-02T09:55:00Z',
      labels: { namespace: 'shop', pod: podName(i), container: 'app' },
    })),
  );
  const group: GroupState = {
    groupKey: notification.groupKey,
    receiver: notification.receiver,
    externalURL: notification.externalURL,
    groupLabels: notification.groupLabels,
    commonLabels: notification.commonLabels,
    commonAnnotations: notification.commonAnnotations,
    alerts: notification.alerts,
    truncatedAlerts: 0,
  };

  const reader = new FakeReader()
    .addWorkload({ kind: 'ReplicaSet', object: cartReplicaSet })
    .addWorkload({ kind: 'Deployment', object: cartDeployment });
  reader.hpas.set('shop', [cartHpa]);
  for (let i = 0; i < ALERTS; i++) {
    const name = podName(i);
    const [envoy, app] = crashLoopingPod.status!.containerStatuses!;
    reader.addPod(
      podSchema.parse({
        ...crashLoopingPod,
        metadata: { ...crashLoopingPod.metadata, name },
        status: {
          ...crashLoopingPod.status,
          containerStatuses: [envoy, { ...app, state: { waiting: { reason: 'CreateContainerConfigError', message: leaky(i) } } }],
        },
      }),
    );
    reader.events.set(
      `shop/Pod/${name}`,
      Array.from({ length: 30 }, (_, k) =>
        warningEvent({ name: `e${i}-${k}`, kind: 'Pod', object: name, reason: `Reason${k}`, message: leaky(k), count: k + 1, last: '2026-03-02T09:54:00Z' }),
      ),
    );
  }
  const pem = `-----BEGIN PRIVATE KEY-----\n${SECRETS.pemBody}\n-----END PRIVATE KEY-----`;
  const lines: LokiEntry[] = Array.from({ length: 20 }, (_, k) => ({
    timestampNs: (BigInt(Date.parse('2026-03-02T09:54:00Z') + k * 1000) * 1_000_000n).toString(),
    line: k === 3 ? pem : `ERROR ${leaky(k)} ${'`'.repeat(3)} stack ${'frame '.repeat(60)}`,
    labels: { namespace: 'shop', pod: 'p', container: 'app' },
  })).reverse();
  const loki: LokiPort = { queryRange: () => Promise.resolve(lines) };
  return { group, reader, loki };
}

describe('a 200-alert group enriched by the real sources, with long and secret-laden facts', () => {
  it('renders the message and the thread detail within Slack limits, with every secret redacted', async () => {
    const { group, reader, loki } = storm();
    const config = enrichmentSchema.parse({ loki: { grafanaUrl: 'https://grafana.example.com', grafanaDatasourceUid: 'loki' } });
    const redactor = defaultRedactor;
    const now = () => NOW;
    const enrichers = [
      createPodEnricher({ reader, now, redactor }),
      createWorkloadEnricher({ reader, now, redactor }),
      createEventsEnricher({ reader, now, redactor }),
      createLogsEnricher({ loki, config: config.loki, redactor, now }),
    ];
    const enrichment: GroupEnrichment = {};
    for (const alert of group.alerts) {
      const target = resolveTarget(alert.labels, config.labels);
      const facts = (await Promise.all(enrichers.map((enricher) => enricher.enrich(alert, target, never)))).filter((fact) => fact !== undefined);
      enrichment[alert.fingerprint] = { target, facts, failures: [], complete: true } satisfies AlertEnrichment;
    }

    const message = renderGroupMessage(group, enrichment);
    const detail = renderGroupDetail(group, enrichment);
    expect(detail).toBeDefined();
    expectWithinSlackLimits(message);
    expectWithinSlackLimits(detail!);

    const everything = JSON.stringify([message, detail]);
    for (const [name, secret] of Object.entries(SECRETS)) expect(everything.includes(secret), name).toBe(false);
    expect(everything).toContain('[REDACTED]');

    // The first alerts carry their summary lines; the thread has their pod, workload, events and logs.
    expect(message.blocks.some((block) => block.type === 'section' && block.text?.text.includes('↳ `cart-7d9f8c6b5-00000'))).toBe(true);
    const sections = detail!.blocks.flatMap((block) => (block.type === 'section' && block.text ? [block.text.text] : []));
    for (const text of sections) expect((text.match(/```/g) ?? []).length % 2, text.slice(0, 80)).toBe(0);
    expect(sections.some((text) => text.startsWith('*Logs*') && text.includes('Open in Grafana'))).toBe(true);
    // The Explore link carries the query and the window, and nothing read from the logs.
    const link = /<(https:\/\/grafana\.example\.com\/explore\?[^|>]+)\|Open in Grafana>/.exec(everything.replace(/\\"/g, '"'))?.[1];
    expect(link).toBeDefined();
    const panes = decodeURIComponent(new URL(link!.replace(/&amp;/g, '&')).searchParams.get('panes') ?? '');
    expect(panes).toContain('pod=\\"cart-7d9f8c6b5-00000');
    expect(panes).not.toContain('ERROR');
  });
});
