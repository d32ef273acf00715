import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { alertmanagerPayloadSchema, describeIssues } from '../../../alerts/payload.ts';

const fixtures = new URL('../../fixtures/alertmanager/', import.meta.url);

function raw(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`${name}.json`, fixtures), 'utf8')) as Record<string, unknown>;
}

/** A deep copy of a fixture's first alert, to mutate one field at a time. */
function withAlert(name: string, change: (alert: Record<string, unknown>) => void): Record<string, unknown> {
  const payload = structuredClone(raw(name));
  const alerts = payload['alerts'] as Array<Record<string, unknown>>;
  change(alerts[0] as Record<string, unknown>);
  return payload;
}

function issuesOf(input: unknown): string[] {
  const result = alertmanagerPayloadSchema.safeParse(input);
  expect(result.success).toBe(false);
  return result.success ? [] : describeIssues(result.error);
}

describe('alertmanagerPayloadSchema accepts real payload shapes', () => {
  it.each(['firing-group', 'partly-resolved', 'resolved', 'truncated', 'minimal', 'extra-fields'])('%s', (name) => {
    expect(alertmanagerPayloadSchema.safeParse(raw(name)).success).toBe(true);
  });

  it('keeps what Alertmanager sent in a full payload, with Go-escaped "&" decoded', () => {
    const payload = alertmanagerPayloadSchema.parse(raw('firing-group'));
    expect(payload.groupKey).toBe('{}/{severity=~"warning|critical"}:{alertname="KubePodCrashLooping", namespace="payments"}');
    expect(payload.alerts).toHaveLength(3);
    expect(payload.alerts[0]?.fingerprint).toBe('1c3b5e7a9d2f4b60');
    expect(payload.alerts[0]?.generatorURL).toContain('%3D+1&g0.tab=1');
    expect(payload.alerts[0]?.endsAt).toBe('0001-01-01T00:00:00Z');
  });

  it('reads truncatedAlerts', () => {
    expect(alertmanagerPayloadSchema.parse(raw('truncated')).truncatedAlerts).toBe(7);
  });

  it('fills in what older Alertmanagers omit', () => {
    const payload = alertmanagerPayloadSchema.parse(raw('minimal'));
    const alert = payload.alerts[0];
    expect(payload.truncatedAlerts).toBe(0);
    expect(alert?.annotations).toEqual({});
    expect(alert?.generatorURL).toBe('');
    // Derived from the labels: stable, and independent of their key order.
    expect(alert?.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    const reordered = withAlert('minimal', (a) => {
      a['labels'] = { severity: 'page', job: 'checkout', alertname: 'HighRequestLatency' };
    });
    expect(alertmanagerPayloadSchema.parse(reordered).alerts[0]?.fingerprint).toBe(alert?.fingerprint);
  });

  it('defaults endsAt, commonAnnotations and externalURL when absent', () => {
    const input = withAlert('minimal', (a) => {
      delete a['endsAt'];
    });
    delete input['commonAnnotations'];
    delete input['externalURL'];
    const payload = alertmanagerPayloadSchema.parse(input);
    expect(payload.alerts[0]?.endsAt).toBe('0001-01-01T00:00:00Z');
    expect(payload.commonAnnotations).toEqual({});
    expect(payload.externalURL).toBe('');
  });

  it('drops fields it does not know', () => {
    const payload = alertmanagerPayloadSchema.parse(raw('extra-fields'));
    expect(payload).not.toHaveProperty('orgId');
    expect(payload).not.toHaveProperty('title');
    expect(payload.alerts[0]).not.toHaveProperty('silenceURL');
    expect(payload.alerts[0]).not.toHaveProperty('values');
    expect(payload.alerts[0]?.fingerprint).toBe('a41f0c9e27d6b385');
  });
});

describe('alertmanagerPayloadSchema rejects, naming the bad field', () => {
  it('a version other than "4"', () => {
    expect(issuesOf({ ...raw('firing-group'), version: '3' })).toEqual([
      'version: unsupported payload version; Lookout accepts version "4"',
    ]);
  });

  it('a missing or empty groupKey', () => {
    const { groupKey: _groupKey, ...missing } = raw('firing-group');
    expect(issuesOf(missing)).toEqual([expect.stringMatching(/^groupKey: /)]);
    expect(issuesOf({ ...raw('firing-group'), groupKey: '' })).toEqual([expect.stringMatching(/^groupKey: /)]);
  });

  it('a bad group or alert status', () => {
    expect(issuesOf({ ...raw('firing-group'), status: 'pending' })).toEqual([expect.stringMatching(/^status: /)]);
    const badAlert = withAlert('firing-group', (a) => {
      a['status'] = 'FIRING';
    });
    expect(issuesOf(badAlert)).toEqual([expect.stringMatching(/^alerts\.0\.status: /)]);
  });

  it('label values that are not strings', () => {
    const numeric = withAlert('firing-group', (a) => {
      a['labels'] = { alertname: 'X', replicas: 3 };
    });
    expect(issuesOf(numeric)).toEqual([expect.stringMatching(/^alerts\.0\.labels\.replicas: /)]);
    const common = { ...raw('firing-group'), commonLabels: { alertname: 'X', canary: true } };
    expect(issuesOf(common)).toEqual([expect.stringMatching(/^commonLabels\.canary: /)]);
  });

  it('timestamps that do not parse', () => {
    const badStart = withAlert('firing-group', (a) => {
      a['startsAt'] = 'yesterday';
    });
    expect(issuesOf(badStart)).toEqual(['alerts.0.startsAt: must be an RFC 3339 timestamp']);
    const badEnd = withAlert('resolved', (a) => {
      a['endsAt'] = 1741946318;
    });
    expect(issuesOf(badEnd)).toEqual([expect.stringMatching(/^alerts\.0\.endsAt: /)]);
    // Date.parse accepts this; RFC 3339 does not.
    const notRfc3339 = withAlert('firing-group', (a) => {
      a['startsAt'] = 'March 7, 2025';
    });
    expect(issuesOf(notRfc3339)).toEqual(['alerts.0.startsAt: must be an RFC 3339 timestamp']);
  });

  it('an empty alert list', () => {
    expect(issuesOf({ ...raw('firing-group'), alerts: [] })).toEqual([expect.stringMatching(/^alerts: /)]);
  });

  it('a body that is not an object', () => {
    expect(issuesOf('not json')).toEqual([expect.stringMatching(/^\(body\): /)]);
  });
});
