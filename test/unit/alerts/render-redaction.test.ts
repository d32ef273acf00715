import { describe, expect, it } from 'vitest';
import type { GroupState } from '../../../alerts/group-state.ts';
import { renderChangeReply, renderGroupDetail, renderGroupMessage } from '../../../alerts/render.ts';
import { createSecretRedactor } from '../../../src/redact-secrets.ts';
import { expectWithinSlackLimits, groupOf } from './render-helpers.ts';

/** Every secret in test/fixtures/alertmanager/secrets.json, as Alertmanager sends it. */
const SECRETS = [
  'S3cr3tPassw0rd',
  'hunter2',
  'wikipass',
  'abc123def456ghi789',
  'AKIAIOSFODNN7EXAMPLE',
  'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  'eyJhbGciOiJIUzI1NiJ9',
  'xoxb-1234-5678-abcdefghijkl',
];
/** Controls (but tab and newline), bidirectional overrides, isolates and marks. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const INVISIBLE = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/;

function expectClean(rendered: unknown): void {
  const text = JSON.stringify(rendered);
  for (const secret of SECRETS) expect(text).not.toContain(secret);
  // JSON.stringify escapes C0 controls (\u001b): look at the parsed strings, not the JSON.
  const strings: string[] = [];
  JSON.parse(text, (_key, value: unknown) => (typeof value === 'string' ? void strings.push(value) : value));
  for (const string of strings) expect(string).not.toMatch(INVISIBLE);
}

/** Without the shared summary, each alert's own description is its note on the alert line. */
function withDescriptionsAsNotes(group: GroupState): GroupState {
  return { ...group, alerts: group.alerts.map((alert) => ({ ...alert, annotations: { description: alert.annotations['description'] ?? '' } })) };
}

describe('alert text is redacted and stripped of invisible characters in everything rendered', () => {
  const group = groupOf('secrets');

  it('the fixture really holds those secrets and characters', () => {
    const raw = JSON.stringify(group);
    for (const secret of SECRETS) expect(raw).toContain(secret);
    expect(Object.values(group.commonAnnotations).join('')).toMatch(INVISIBLE);
  });

  it('in the group message: header, summary, alert lines, label fields, buttons, fallback text', () => {
    const message = renderGroupMessage(group);
    expectWithinSlackLimits(message);
    expectClean(message);
    const notes = renderGroupMessage(withDescriptionsAsNotes(group));
    expect(JSON.stringify(notes)).toContain('password=[REDACTED]');
    expectClean(notes);
  });

  it('in thread replies', () => {
    const reply = renderChangeReply(group, { firing: group.alerts, resolved: [] });
    expect(reply).toContain('pod=cart-7d4f9-1');
    expectClean(reply);
    const resolved = withDescriptionsAsNotes(group);
    expectClean(renderChangeReply(resolved, { firing: [], resolved: resolved.alerts }));
  });

  it('in the detail message (its title is alert labels)', () => {
    const enrichment = Object.fromEntries(
      group.alerts.map((alert) => [
        alert.fingerprint,
        { target: {}, complete: true, failures: [], facts: [{ source: 'pod' as const, summary: 'ok', detail: '*Pod* fine' }] },
      ]),
    );
    const labelled = { ...group, alerts: group.alerts.map((alert) => ({ ...alert, labels: { ...alert.labels, token: 'Bearer abc123def456ghi789' } })) };
    const detail = renderGroupDetail(labelled, enrichment);
    expect(detail).toBeDefined();
    expectClean(detail);
  });

  it('before cutting to length: a secret across the cut leaves no part of it', () => {
    const password = 'p'.repeat(60);
    for (const at of [2700, 2730, 2760, 2790]) {
      const long = { ...group, commonAnnotations: { description: `${'x'.repeat(at)} https://user:${password}@db.example.com/` } };
      const message = renderGroupMessage(long);
      expectWithinSlackLimits(message);
      expect(JSON.stringify(message)).not.toMatch(/p{8}/);
    }
  });

  it('with the configured patterns, and the built-in ones whatever they are', () => {
    const redactor = createSecretRedactor([String.raw`sk_live_[0-9a-zA-Z]{8,}`]);
    const custom = { ...group, commonAnnotations: { summary: 'stripe key sk_live_abcdefgh1234 and slack xoxb-1234-5678-abcdefghijkl' } };
    const text = JSON.stringify(renderGroupMessage(custom, {}, redactor));
    expect(text).toContain('stripe key [REDACTED] and slack [REDACTED]');
  });
});
