import type { types as slack } from '@slack/bolt';
import { describe, expect, it } from 'vitest';
import type { GroupState, TrackedAlert } from '../../../alerts/group-state.ts';
import { ACK_ACTION_ID, UNACK_ACTION_ID } from '../../../alerts/alert-buttons.ts';
import { groupRef, renderChangeReply, renderGroupMessage, type SlackMessage } from '../../../alerts/render.ts';
import { renderMessageAsText } from '../../../alerts/render-text.ts';
import { expectWithinSlackLimits, groupOf } from './render-helpers.ts';

function alert(overrides: Partial<TrackedAlert> & { labels: Record<string, string> }): TrackedAlert {
  return {
    status: 'firing',
    annotations: {},
    startsAt: '2025-03-14T09:26:53Z',
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: '',
    fingerprint: Math.abs(hash(JSON.stringify(overrides.labels))).toString(16).padStart(16, '0'),
    ...overrides,
  };
}

function hash(text: string): number {
  let h = 0;
  for (const char of text) h = (Math.imul(h, 31) + char.charCodeAt(0)) | 0;
  return h;
}

/** Slack's documented limits, asserted independently of the renderer's own budgets. */
/** Every mrkdwn text of the sections: section texts and fields. */
function sectionTexts(message: SlackMessage): string[] {
  return message.blocks.flatMap((block) =>
    block.type === 'section' ? [block.text?.text ?? '', ...(block.fields ?? []).map((f) => f.text)] : [],
  );
}

/** The alert list: always the last section with a text (the summary section may precede it). */
function alertsText(message: SlackMessage): string {
  const texts = message.blocks.flatMap((block) => (block.type === 'section' && block.text ? [block.text.text] : []));
  return texts.at(-1) ?? '';
}

function fieldTexts(message: SlackMessage): string[] {
  return message.blocks.flatMap((block) => (block.type === 'section' ? (block.fields ?? []).map((f) => f.text) : []));
}

function buttons(message: SlackMessage): Record<string, string> {
  const actions = message.blocks.find((block) => block.type === 'actions');
  if (actions?.type !== 'actions') return {};
  // Link buttons only; the Acknowledge button has its own tests.
  const links = (actions.elements as slack.Button[]).filter((b) => b.url !== undefined);
  return Object.fromEntries(links.map((b) => [b.text.text, b.url ?? '']));
}

const FIXTURES = ['firing-group', 'partly-resolved', 'resolved', 'truncated', 'minimal', 'extra-fields', 'secrets'];

describe('renderGroupMessage snapshots', () => {
  it.each(FIXTURES)('%s', async (name) => {
    const message = renderGroupMessage(groupOf(name));
    expectWithinSlackLimits(message);
    await expect(renderMessageAsText(message)).toMatchFileSnapshot(`__snapshots__/${name}.txt`);
    await expect(`${JSON.stringify(message, null, 2)}\n`).toMatchFileSnapshot(`__snapshots__/${name}.message.json`);
  });
});

describe('renderGroupMessage content', () => {
  it('counts firing alerts in the header and marks a resolved group', () => {
    expect(renderMessageAsText(renderGroupMessage(groupOf('firing-group')))).toMatch(
      /^🔥 FIRING \(3\) · warning · KubePodCrashLooping\n/,
    );
    expect(renderMessageAsText(renderGroupMessage(groupOf('partly-resolved')))).toMatch(/^🔥 FIRING \(2\) · /);
    expect(renderMessageAsText(renderGroupMessage(groupOf('resolved')))).toMatch(/^✅ RESOLVED · /);
    expect(renderGroupMessage(groupOf('truncated')).text).toMatch(/^\[FIRING:2\+\] NodeFilesystemAlmostOutOfSpace/);
  });

  it('shows the labels that tell alerts apart, not the common or noisy ones', () => {
    const first = alertsText(renderGroupMessage(groupOf('firing-group'))).split('\n')[0] ?? '';
    expect(first).toContain('`container=app`');
    expect(first).toContain('`pod=api-7d9f8b6c4-x2x9q`');
    expect(first).not.toContain('namespace=');
    expect(first).not.toContain('uid=');
    expect(first).toContain('<!date^1741944413^{date_short_pretty} {time}|2025-03-14 09:26 UTC>');
  });

  it('lists common labels minus header and noise labels', () => {
    const fields = fieldTexts(renderGroupMessage(groupOf('firing-group')));
    const names = fields.map((f) => /^\*(.+?)\*/.exec(f)?.[1]);
    expect(names).toEqual(['namespace', 'service', 'instance', 'job', 'reason']);
  });

  it('puts an annotation the alerts do not share on each alert line', () => {
    const text = renderMessageAsText(renderGroupMessage(groupOf('firing-group')));
    expect(text).toContain('— Pod payments/ledger-worker-5c6d7f9b8-qq2lp (worker) is in waiting state');
  });

  it('links the source, runbook, dashboard and a silence for the group labels', () => {
    const links = buttons(renderGroupMessage(groupOf('truncated')));
    expect(Object.keys(links)).toEqual(['Source', 'Runbook', 'Dashboard', 'Silence']);
    expect(links['Source']).toContain('&g0.tab=1');
    const silence = new URL(links['Silence'] ?? '');
    // The trailing slash of externalURL is not doubled.
    expect(`${silence.origin}${silence.pathname}${silence.hash.split('?')[0]}`).toBe(
      'https://alertmanager.example.com/#/silences/new',
    );
    expect(decodeURIComponent(links['Silence']?.split('filter=')[1] ?? '')).toBe(
      '{alertname="NodeFilesystemAlmostOutOfSpace"}',
    );
  });

  it('builds the silence filter from groupLabels, quoted for Alertmanager', () => {
    const group = groupOf('firing-group');
    group.groupLabels = { namespace: 'pay"ments\\', alertname: 'KubePodCrashLooping', 'app.kubernetes.io/name': 'api' };
    const url = buttons(renderGroupMessage(group))['Silence'] ?? '';
    expect(decodeURIComponent(url.split('filter=')[1] ?? '')).toBe(
      '{alertname="KubePodCrashLooping","app.kubernetes.io/name"="api",namespace="pay\\"ments\\\\"}',
    );
    expect(url).not.toMatch(/[{}" ]/);
  });

  it('falls back to commonLabels for the silence when the group has no group labels', () => {
    const group = groupOf('extra-fields');
    group.groupLabels = {};
    const url = buttons(renderGroupMessage(group))['Silence'] ?? '';
    expect(decodeURIComponent(url.split('filter=')[1] ?? '')).toBe(
      '{alertname="KubeDeploymentReplicasMismatch",deployment="cart",namespace="checkout",severity="warning"}',
    );
    group.commonLabels = {};
    expect(buttons(renderGroupMessage(group))).not.toHaveProperty('Silence');
  });

  it('offers no silence without externalURL or once resolved', () => {
    expect(buttons(renderGroupMessage(groupOf('minimal')))).toEqual({});
    expect(Object.keys(buttons(renderGroupMessage(groupOf('resolved'))))).toEqual(['Source', 'Runbook']);
  });

  it('drops link buttons Slack would reject, instead of losing the message', () => {
    const group = groupOf('extra-fields');
    group.commonAnnotations = {
      ...group.commonAnnotations,
      runbook_url: 'javascript:alert(1)',
      dashboard_url: 'd/rYdddlPWk/node-exporter-full?orgId=1',
    };
    expect(Object.keys(buttons(renderGroupMessage(group)))).toEqual(['Source', 'Silence']);
  });
});

describe('renderGroupMessage limits', () => {
  function bigGroup(count: number, truncatedAlerts = 0): GroupState {
    const alerts = Array.from({ length: count }, (_, i) =>
      alert({
        labels: {
          alertname: 'KubePodNotReady',
          namespace: 'batch',
          pod: `report-generator-${String(i).padStart(4, '0')}-with-a-rather-long-generated-suffix`,
          node: `ip-10-0-${i % 256}-${i % 7}.eu-west-1.compute.internal`,
        },
        annotations: { summary: `Pod batch/report-generator-${i} has been in a non-ready state for longer than 15 minutes.` },
        startsAt: new Date(Date.UTC(2025, 2, 14, 9, 0, i)).toISOString(),
      }),
    );
    return {
      groupKey: '{}:{alertname="KubePodNotReady"}',
      receiver: 'lookout',
      externalURL: 'https://alertmanager.example.com',
      groupLabels: { alertname: 'KubePodNotReady' },
      commonLabels: { alertname: 'KubePodNotReady', namespace: 'batch' },
      commonAnnotations: {},
      alerts,
      truncatedAlerts,
    };
  }

  it('keeps a 500-alert group within every limit and says how many are not shown', () => {
    const message = renderGroupMessage(bigGroup(500));
    expectWithinSlackLimits(message);
    const lines = alertsText(message).split('\n');
    const shown = lines.filter((line) => line.startsWith('🔴')).length;
    expect(shown).toBeGreaterThan(0);
    expect(lines.at(-1)).toBe(`…and ${500 - shown} more`);
  });

  it('counts alerts Alertmanager left out', () => {
    const message = renderGroupMessage(bigGroup(3, 40));
    expectWithinSlackLimits(message);
    expect(alertsText(message).split('\n').at(-1)).toBe('…and 40 more (Alertmanager left out 40)');
  });

  it('keeps 10 kB annotations and label values within every limit', () => {
    const huge = (seed: string) => `${seed} `.repeat(10_240 / (seed.length + 1));
    const group = bigGroup(30, 5);
    group.commonLabels = {
      ...group.commonLabels,
      alertname: huge('VeryLongAlertName'),
      severity: huge('critical'),
      team: huge('<team&co>'),
      ...Object.fromEntries(Array.from({ length: 14 }, (_, i) => [`extra_label_${i}`, huge('value')])),
    };
    group.commonAnnotations = {
      summary: huge('Summary & <stuff>'),
      description: huge('Description with \n newlines & <brackets>'),
      runbook_url: `https://runbooks.example.com/${'x'.repeat(10_240)}`,
      dashboard_url: `https://grafana.example.com/d/abc?${'var-pod=x&'.repeat(1000)}`,
    };
    group.alerts = group.alerts.map((a, i) => ({
      ...a,
      labels: { ...a.labels, pod: huge(`pod-${i}`) },
      annotations: { description: huge(`per-alert ${i} & <details>`) },
      generatorURL: `http://prometheus:9090/graph?g0.expr=${'up'.repeat(6000)}`,
    }));
    const message = renderGroupMessage(group);
    expectWithinSlackLimits(message);
    // Overlong URLs cannot be shortened, so their buttons are left out; the silence link stays short.
    expect(Object.keys(buttons(message))).toEqual(['Silence']);
    // Every cut is marked, and no entity is cut in half.
    for (const text of sectionTexts(message)) expect(text).not.toMatch(/&(?:a|am|amp|l|lt|g|gt)?…/);
  });

  // Annotations are templated from labels, which any workload exposing metrics can fill: a long
  // run of spaces must not cost time quadratic in its length (the webhook accepts up to 1 MB).
  it('renders annotations with a 500 kB run of spaces in one pass', () => {
    const group = bigGroup(3, 1);
    group.commonAnnotations = { summary: `disk full${' '.repeat(500_000)}\n on /var` };
    group.alerts = group.alerts.map((a) => ({ ...a, annotations: { description: `x${' '.repeat(500_000)}y` } }));
    const message = renderGroupMessage(group);
    expectWithinSlackLimits(message);
    expect(sectionTexts(message)[0]).toBe('*disk full on /var*');
  });

  it('survives a group without alerts', () => {
    const group = bigGroup(0);
    const message = renderGroupMessage(group);
    expectWithinSlackLimits(message);
    expect(alertsText(message)).toBe('No alerts.');
  });
});

describe('renderGroupMessage determinism', () => {
  it.each(FIXTURES)('renders %s identically twice', (name) => {
    const group = groupOf(name);
    expect(JSON.stringify(renderGroupMessage(group))).toBe(JSON.stringify(renderGroupMessage(structuredClone(group))));
  });

  it('does not depend on the key order of label and annotation maps', () => {
    const group = groupOf('firing-group');
    const reversed = (record: Record<string, string>) => Object.fromEntries(Object.entries(record).reverse());
    const shuffled: GroupState = {
      ...group,
      groupLabels: reversed(group.groupLabels),
      commonLabels: reversed(group.commonLabels),
      commonAnnotations: reversed(group.commonAnnotations),
      alerts: group.alerts.map((a) => ({ ...a, labels: reversed(a.labels), annotations: reversed(a.annotations) })),
    };
    expect(JSON.stringify(renderGroupMessage(shuffled))).toBe(JSON.stringify(renderGroupMessage(group)));
  });
});

describe('mrkdwn escaping', () => {
  const hostile = '<!channel> R&D <https://evil.example|click here> <@U024BE7LH>';

  function hostileGroup(): GroupState {
    const group = groupOf('extra-fields');
    group.commonAnnotations = { summary: hostile, description: hostile };
    group.commonLabels = { ...group.commonLabels, team: hostile };
    group.alerts = [
      alert({ labels: { ...group.commonLabels, pod: hostile }, annotations: { summary: 'fine', description: hostile } }),
      alert({ labels: { ...group.commonLabels, pod: 'other' }, annotations: { summary: 'fine', description: 'x' } }),
    ];
    return group;
  }

  it('escapes &, < and > in every user-supplied text, and the fallback text', () => {
    const message = renderGroupMessage(hostileGroup());
    const escaped = '&lt;!channel&gt; R&amp;D &lt;https://evil.example|click here&gt; &lt;@U024BE7LH&gt;';
    for (const text of [message.text, ...sectionTexts(message)]) {
      expect(text).not.toContain('<!channel>');
      expect(text).not.toContain('<@U024');
      expect(text).not.toMatch(/<https?:/);
      // The only control sequences left are our own dates.
      expect(text.replace(/<!date\^\d+\^\{date_short_pretty\} \{time\}\|[\d: -]+UTC>/g, '')).not.toMatch(/[<>]/);
    }
    expect(sectionTexts(message).join('\n')).toContain(escaped);
  });

  it('turns off Slack auto-linking for alert text', () => {
    const message = renderGroupMessage(hostileGroup());
    for (const block of message.blocks) {
      if (block.type !== 'section') continue;
      for (const text of [block.text, ...(block.fields ?? [])]) {
        if (text?.type === 'mrkdwn') expect(text.verbatim).toBe(true);
      }
    }
  });

  it('leaves plain-text header content as typed (Slack does not parse plain_text)', () => {
    const group = hostileGroup();
    group.commonLabels = { ...group.commonLabels, alertname: 'A&B <X>' };
    const header = renderGroupMessage(group).blocks[0];
    expect(header?.type === 'header' && header.text.text).toBe('🔥 FIRING (2) · warning · A&B <X>');
  });

  it('shows the original characters in the text rendition', () => {
    expect(renderMessageAsText(renderGroupMessage(hostileGroup()))).toContain(hostile);
  });
});

describe('renderChangeReply', () => {
  it('names newly firing alerts by the labels that tell them apart', () => {
    const group = groupOf('firing-group');
    expect(renderChangeReply(group, { firing: group.alerts.slice(0, 2), resolved: [] })).toBe(
      '🔴 2 alerts firing: `container=app` `pod=api-7d9f8b6c4-x2x9q`, `container=app` `pod=api-7d9f8b6c4-m4k7w`',
    );
  });

  it('says what resolved while others still fire', () => {
    const group = groupOf('partly-resolved');
    const resolved = group.alerts.filter((a) => a.status === 'resolved');
    expect(renderChangeReply(group, { firing: [], resolved })).toBe(
      '✅ 1 resolved: `container=app` `pod=api-7d9f8b6c4-x2x9q`',
    );
  });

  it('says when everything has resolved', () => {
    const group = groupOf('resolved');
    expect(renderChangeReply(group, { firing: [], resolved: group.alerts.slice(1) }).split('\n')).toEqual([
      expect.stringMatching(/^✅ 2 resolved: /),
      'All alerts resolved ✅',
    ]);
  });

  it('names a single-alert group by its alertname', () => {
    const group = groupOf('minimal');
    expect(renderChangeReply(group, { firing: group.alerts, resolved: [] })).toBe(
      '🔴 1 alert firing: `HighRequestLatency`',
    );
  });

  it('is empty when nothing changed', () => {
    expect(renderChangeReply(groupOf('firing-group'), { firing: [], resolved: [] })).toBe('');
  });

  it('is capped however many alerts changed', () => {
    const group = groupOf('firing-group');
    const many = Array.from({ length: 500 }, (_, i) =>
      alert({ labels: { alertname: 'X', pod: `${'p'.repeat(500)}-${i}`, zone: 'z'.repeat(500) } }),
    );
    const reply = renderChangeReply(group, { firing: many, resolved: many.map((a) => ({ ...a, status: 'resolved' })) });
    expect(reply.length).toBeLessThanOrEqual(1500);
    expect(reply).toMatch(/ and 495 more\n/);
    expect(reply).toMatch(/ and 495 more$/);
  });

  it('escapes label values', () => {
    const group = groupOf('firing-group');
    const reply = renderChangeReply(group, { firing: [alert({ labels: { pod: '<!here>' } })], resolved: [] });
    expect(reply).toBe('🔴 1 alert firing: `pod=&lt;!here&gt;`');
  });
});

describe('renderMessageAsText', () => {
  it('renders buttons as label: url and dates by their fallback', () => {
    const text = renderMessageAsText(renderGroupMessage(groupOf('truncated')));
    expect(text).toContain('\nRunbook: https://runbooks.prometheus-operator.dev/runbooks/node/nodefilesystemalmostoutofspace');
    expect(text).toContain('firing since 2025-03-15 02:14 UTC');
    expect(text).not.toContain('<!date');
  });

  it('resolves links, mentions and entities, and renders unknown blocks by type', () => {
    const text = renderMessageAsText({
      text: 'fallback',
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: 'See <https://x.example/a?b=1&amp;c=2|the docs> <@U1> <#C1|ops> <!here> &lt;ok&gt;' } },
        { type: 'context', elements: [{ type: 'mrkdwn', text: 'a' }, { type: 'plain_text', text: 'b' }] },
        { type: 'divider' },
        { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Ack' }, action_id: 'ack' }] },
        { type: 'input', label: { type: 'plain_text', text: 'x' }, element: { type: 'plain_text_input' } },
      ],
    });
    expect(text).toBe(
      'See the docs (https://x.example/a?b=1&c=2) @U1 #ops @here <ok>\n\na · b\n\n---\n\n[Ack]\n\n[input block]\n',
    );
  });

  it('uses the top-level text when there are no blocks', () => {
    expect(renderMessageAsText({ text: 'R&amp;D', blocks: [] })).toBe('R&D\n');
  });
});

describe('Acknowledge button', () => {
  function ackButton(message: SlackMessage): slack.Button | undefined {
    const actions = message.blocks.find((block) => block.type === 'actions');
    if (actions?.type !== 'actions') return undefined;
    return (actions.elements as slack.Button[]).find((element) => element.action_id === ACK_ACTION_ID);
  }

  it('is on every firing group, first, carrying a digest of the group key', () => {
    const group = groupOf('firing-group');
    const message = renderGroupMessage(group);
    const actions = message.blocks.find((block) => block.type === 'actions');
    expect(actions?.type === 'actions' && (actions.elements[0] as slack.Button).action_id).toBe(ACK_ACTION_ID);
    expect(ackButton(message)).toMatchObject({ text: { text: 'Acknowledge' }, value: groupRef(group.groupKey) });
    expect(groupRef(group.groupKey)).not.toBe(groupRef(`${group.groupKey}x`));
  });

  it('is not offered once the group resolved', () => {
    expect(ackButton(renderGroupMessage(groupOf('resolved')))).toBeUndefined();
  });

  it('gives way to "Acknowledged by" and an Unacknowledge button once someone acknowledged, within Slack limits', () => {
    const group = { ...groupOf('firing-group'), acknowledged: { by: 'U024BE7LH', at: '2025-03-14T09:40:00Z' } };
    const message = renderGroupMessage(group);
    expect(ackButton(message)).toBeUndefined();
    const actions = message.blocks.find((block) => block.type === 'actions');
    expect(actions?.type === 'actions' && actions.elements[0]).toMatchObject({ action_id: UNACK_ACTION_ID, text: { text: 'Unacknowledge' }, value: groupRef(group.groupKey) });
    expectWithinSlackLimits(message);
    expect(renderMessageAsText(message)).toContain('✋ Acknowledged by @U024BE7LH 2025-03-14 09:40 UTC');
  });

  it('says "Silenced by … until …" while a silence made from Slack lasts', () => {
    const group = { ...groupOf('firing-group'), silenced: { by: 'U024BE7LH', until: '2025-03-14T14:00:00.000Z', silenceId: '8f0c1f9e-3b7a-4c1e-9a56-0f7c2d3e4b5a' } };
    const message = renderGroupMessage(group);
    expectWithinSlackLimits(message);
    expect(renderMessageAsText(message)).toContain('🔕 Silenced by @U024BE7LH until 2025-03-14 14:00 UTC');
    expect(renderMessageAsText(renderGroupMessage(groupOf('firing-group')))).not.toContain('Silenced by');
  });

  it('never renders a mention from anything but a Slack user id', () => {
    const group = { ...groupOf('firing-group'), acknowledged: { by: '!channel', at: '2025-03-14T09:40:00Z' } };
    expect(JSON.stringify(renderGroupMessage(group))).not.toContain('<!channel>');
  });
});
