import type { types as slack } from '@slack/bolt';
import { describe, expect, it } from 'vitest';
import type { AlertEnrichment, GroupEnrichment } from '../../../alerts/enrichers/enrichment.ts';
import type { GroupState } from '../../../alerts/group-state.ts';
import { renderGroupDetail, renderGroupMessage, type SlackMessage } from '../../../alerts/render.ts';
import { renderMessageAsText } from '../../../alerts/render-text.ts';
import { expectWithinSlackLimits, groupOf } from './render-helpers.ts';

/** What the sources would have said about the firing-group fixture (escaped mrkdwn, as the contract says). */
function crashLoopEnrichment(group: GroupState, failed: boolean): GroupEnrichment {
  const [first, second, third] = group.alerts;
  const pod = (name: string, restarts: number): AlertEnrichment['facts'][number] => ({
    source: 'pod',
    summary: `\`${name}\` · CrashLoopBackOff · ${restarts} restarts · last OOMKilled 2m ago · \`ip-10-0-1-17\``,
    detail: `*Pod* \`payments/${name}\` · Running · ready 0/1 · node \`ip-10-0-1-17\` · 3h old\n• \`app\` waiting: CrashLoopBackOff · ${restarts} restarts · last OOMKilled (exit 137) at 09:24 UTC · image \`ghcr.io/acme/api:1.42.0\``,
  });
  const workload: AlertEnrichment['facts'][number] = {
    source: 'workload',
    summary: 'Deployment `api` · 1/3 ready · HPA 3–3 (at max)',
    detail: '*Deployment* `payments/api` · desired 3 · ready 1 · available 1 · updated 3\n*HPA* `api` · min 3 · max 3 · current 3 — pinned at max',
  };
  const events: AlertEnrichment['facts'][number] = {
    source: 'events',
    summary: '2 warnings: BackOff ×41, OOMKilling ×7',
    detail: '*Warning events* (newest first)\n• BackOff ×41 · last 1m ago — Back-off restarting failed container app in pod api-7d9f8b6c4-x2x9q\n• OOMKilling ×7 · last 2m ago — Memory cgroup out of memory: Killed process 4123 (api)',
  };
  const logs: AlertEnrichment['facts'][number] = {
    source: 'logs',
    summary: '12 error lines around the start',
    detail: '*Logs* `app` · 09:21–09:27 UTC · errors first\n```\n09:26:41 ERROR cache warmup: allocation of 512MiB failed\n09:26:52 FATAL out of memory; token=[REDACTED]\n```',
  };
  return {
    [first!.fingerprint]: {
      target: { namespace: 'payments', pod: first!.labels['pod']!, container: 'app', workload: { kind: 'Deployment', name: 'api' } },
      facts: failed ? [pod(first!.labels['pod']!, 7), workload, events] : [pod(first!.labels['pod']!, 7), workload, events, logs],
      failures: failed ? [{ source: 'logs', reason: 'timeout' }] : [],
      complete: true,
    },
    [second!.fingerprint]: {
      target: { namespace: 'payments', pod: second!.labels['pod']!, container: 'app', workload: { kind: 'Deployment', name: 'api' } },
      facts: [pod(second!.labels['pod']!, 5), workload],
      failures: failed ? [{ source: 'logs', reason: 'timeout' }, { source: 'events', reason: 'forbidden' }] : [],
      complete: true,
    },
    // Still waiting: nothing shown for it yet.
    [third!.fingerprint]: { target: {}, facts: [], failures: [], complete: false },
  };
}

function sectionTexts(message: SlackMessage): string[] {
  return message.blocks.flatMap((block: slack.KnownBlock) => (block.type === 'section' && block.text ? [block.text.text] : []));
}

describe('enrichment in the main message', () => {
  it('puts one summary line under each enriched alert (snapshot)', async () => {
    const group = groupOf('firing-group');
    const message = renderGroupMessage(group, crashLoopEnrichment(group, false));
    expectWithinSlackLimits(message);
    await expect(renderMessageAsText(message)).toMatchFileSnapshot('__snapshots__/enriched.txt');
  });

  it('adds a short note for sources that could not answer (snapshot)', async () => {
    const group = groupOf('firing-group');
    const message = renderGroupMessage(group, crashLoopEnrichment(group, true));
    expectWithinSlackLimits(message);
    const text = renderMessageAsText(message);
    expect(text).toContain('⚠️ _logs unavailable: timeout · events unavailable: forbidden_');
    await expect(text).toMatchFileSnapshot('__snapshots__/enriched-failed-source.txt');
  });

  it('keeps the main message compact: no detail text, at most two lines per alert', () => {
    const group = groupOf('firing-group');
    const text = sectionTexts(renderGroupMessage(group, crashLoopEnrichment(group, true))).join('\n');
    expect(text).not.toContain('```');
    expect(text).not.toContain('Back-off restarting');
    const lines = text.split('\n');
    const firstAlert = lines.findIndex((line) => line.startsWith('🔴'));
    const secondAlert = lines.findIndex((line, index) => index > firstAlert && line.startsWith('🔴'));
    expect(secondAlert - firstAlert).toBe(3); // the alert, its summary line, its note line
  });

  it('renders exactly as before without enrichment', () => {
    const group = groupOf('firing-group');
    expect(renderGroupMessage(group, {})).toEqual(renderGroupMessage(group));
  });

  it('shows no enrichment under resolved alerts', () => {
    const group = groupOf('partly-resolved');
    const enrichment: GroupEnrichment = Object.fromEntries(
      group.alerts.map((alert) => [alert.fingerprint, { target: {}, facts: [{ source: 'pod', summary: `about ${alert.fingerprint}` }], failures: [], complete: true }]),
    );
    const text = renderMessageAsText(renderGroupMessage(group, enrichment));
    for (const alert of group.alerts) {
      expect(text.includes(`about ${alert.fingerprint}`)).toBe(alert.status === 'firing');
    }
  });

  it('stays within every limit for 500 enriched alerts with overlong summaries, and says how many are not shown', () => {
    const base = groupOf('firing-group');
    const template = base.alerts[0]!;
    const alerts = Array.from({ length: 500 }, (_, i) => ({
      ...template,
      fingerprint: `f${String(i).padStart(4, '0')}`,
      labels: { ...template.labels, pod: `api-${String(i).padStart(4, '0')}-${'x'.repeat(60)}` },
      startsAt: new Date(Date.UTC(2025, 2, 14, 9, 0, i)).toISOString(),
    }));
    const group: GroupState = { ...base, alerts };
    const long = (i: number) => `\`pod-${i}\` · ${'CrashLoopBackOff &amp; more · '.repeat(30)}`;
    const enrichment: GroupEnrichment = Object.fromEntries(
      alerts.map((alert, i) => [
        alert.fingerprint,
        {
          target: {},
          facts: [
            { source: 'pod', summary: long(i) },
            { source: 'workload', summary: long(i) },
          ],
          failures: [
            { source: 'logs', reason: 'timeout' },
            { source: 'events', reason: 'HTTP 503' },
          ],
          complete: true,
        },
      ]),
    );
    const message = renderGroupMessage(group, enrichment);
    expectWithinSlackLimits(message);
    const texts = sectionTexts(message).join('\n');
    expect(texts).toMatch(/…and \d+ more$/m);
    // Cut lines never leave half an entity or an open code span.
    for (const line of texts.split('\n').filter((l) => l.startsWith('↳'))) {
      expect(line).not.toMatch(/&[a-z]{0,4}…/);
      expect((line.match(/`/g) ?? []).length % 2).toBe(0);
    }
  });
});

it('never cuts an overlong summary inside a date token or a link', () => {
  const group = groupOf('firing-group');
  const first = group.alerts[0]!;
  // The token straddles the cut at the summary line's 700 chars.
  const summary = `${'x'.repeat(670)} <!date^1772445420^{ago}|3m ago> <https://grafana.example/explore|Open in Grafana>`;
  const enrichment: GroupEnrichment = { [first.fingerprint]: { target: {}, facts: [{ source: 'pod', summary }], failures: [], complete: true } };
  const line = sectionTexts(renderGroupMessage(group, enrichment)).join('\n').split('\n').find((l) => l.startsWith('↳'))!;
  expect(line.endsWith('…')).toBe(true);
  expect(line).not.toMatch(/<[^>]*$/); // no token left open
});

it('lists as many alerts as without enrichment: the first ones enriched while room lasts, the rest plain', () => {
  const base = groupOf('firing-group');
  const template = base.alerts[0]!;
  const alerts = Array.from({ length: 20 }, (_, i) => ({ ...template, fingerprint: `f${i}`, labels: { ...template.labels, pod: `api-${i}` } }));
  const facts = [
    { source: 'pod' as const, summary: `\`api\` · CrashLoopBackOff · ${'x'.repeat(250)}` },
    { source: 'workload' as const, summary: `Deployment \`api\` · ${'y'.repeat(250)}` },
  ];
  const enrichment: GroupEnrichment = Object.fromEntries(alerts.map((alert) => [alert.fingerprint, { target: {}, facts, failures: [], complete: true }]));
  const message = renderGroupMessage({ ...base, alerts }, enrichment);
  expectWithinSlackLimits(message);
  const lines = sectionTexts(message).join('\n').split('\n');
  const plainLines = sectionTexts(renderGroupMessage({ ...base, alerts })).join('\n').split('\n');
  const listed = lines.filter((line) => line.startsWith('🔴')).length;
  expect(listed).toBe(plainLines.filter((line) => line.startsWith('🔴')).length);
  expect(listed).toBeGreaterThan(10);
  expect(lines.at(-1)).toBe(plainLines.at(-1)); // the same "…and N more"
  const enriched = lines.filter((line) => line.startsWith('↳')).length;
  expect(enriched).toBeGreaterThan(0);
  expect(enriched).toBeLessThan(listed);
  // The enriched ones are the first ones.
  expect(lines[lines.findIndex((line) => line.startsWith('🔴')) + 1]).toMatch(/^↳ /);
});

describe('the thread detail message', () => {
  it('holds the full detail per alert: pod, workload, events and the log excerpt (snapshot)', async () => {
    const group = groupOf('firing-group');
    const message = renderGroupDetail(group, crashLoopEnrichment(group, false))!;
    expectWithinSlackLimits(message);
    const text = renderMessageAsText(message);
    expect(text).toContain('```\n09:26:41 ERROR cache warmup');
    await expect(text).toMatchFileSnapshot('__snapshots__/enriched-detail.txt');
    await expect(`${JSON.stringify(message, null, 2)}\n`).toMatchFileSnapshot('__snapshots__/enriched-detail.message.json');
  });

  it('is nothing when no source has detail', () => {
    const group = groupOf('firing-group');
    const enrichment: GroupEnrichment = { [group.alerts[0]!.fingerprint]: { target: {}, facts: [{ source: 'pod', summary: 'x' }], failures: [{ source: 'logs', reason: 'timeout' }], complete: true } };
    expect(renderGroupDetail(group, enrichment)).toBeUndefined();
  });

  it('stays within Slack limits for many alerts with maximal details, closing cut code blocks', () => {
    const base = groupOf('firing-group');
    const template = base.alerts[0]!;
    const alerts = Array.from({ length: 60 }, (_, i) => ({ ...template, fingerprint: `f${i}`, labels: { ...template.labels, pod: `api-${i}` } }));
    const excerpt = `*Logs*\n\`\`\`\n${'09:26:41 ERROR something went wrong again\n'.repeat(80)}\`\`\``;
    const enrichment: GroupEnrichment = Object.fromEntries(
      alerts.map((alert) => [alert.fingerprint, { target: {}, facts: [{ source: 'logs', summary: 's', detail: excerpt }], failures: [], complete: true }]),
    );
    const message = renderGroupDetail({ ...base, alerts }, enrichment)!;
    expectWithinSlackLimits(message);
    for (const text of sectionTexts(message)) expect((text.match(/```/g) ?? []).length % 2).toBe(0);
    const last = message.blocks.at(-1)!;
    expect(last.type === 'context' && 'text' in last.elements[0]! && last.elements[0].text).toMatch(/^…details of \d+ more alerts not shown$/);
  });
});
