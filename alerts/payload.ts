import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * Alertmanager's webhook payload, version 4
 * (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config).
 * Unknown fields are accepted and dropped so that newer Alertmanagers keep working;
 * fields that older ones omit (truncatedAlerts, fingerprint, generatorURL) get defaults.
 */

const labelSet = z.record(z.string(), z.string());

/** Alertmanager renders "no end" as Go's zero time; we keep the string as sent. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const timestamp = z.string().refine((value) => RFC3339.test(value) && !Number.isNaN(Date.parse(value)), {
  message: 'must be an RFC 3339 timestamp',
});

const alertSchema = z
  .object({
    status: z.enum(['firing', 'resolved']),
    labels: labelSet,
    annotations: labelSet.default({}),
    startsAt: timestamp,
    endsAt: timestamp.default('0001-01-01T00:00:00Z'),
    generatorURL: z.string().default(''),
    fingerprint: z.string().min(1).optional(),
  })
  .transform((alert) => ({ ...alert, fingerprint: alert.fingerprint ?? fingerprintOf(alert.labels) }));

export const alertmanagerPayloadSchema = z.object({
  version: z.literal('4', { error: 'unsupported payload version; Lookout accepts version "4"' }),
  groupKey: z.string().min(1),
  truncatedAlerts: z.number().int().nonnegative().default(0),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string(),
  groupLabels: labelSet,
  commonLabels: labelSet,
  commonAnnotations: labelSet.default({}),
  externalURL: z.string().default(''),
  alerts: z.array(alertSchema).min(1),
});

export type AlertmanagerPayload = z.output<typeof alertmanagerPayloadSchema>;
export type Alert = AlertmanagerPayload['alerts'][number];
export type AlertStatus = Alert['status'];

/** Stable identity for alerts from Alertmanagers too old to send a fingerprint. */
function fingerprintOf(labels: Record<string, string>): string {
  const canonical = Object.keys(labels)
    .sort()
    .map((name) => `${name}\u0000${labels[name]}`)
    .join('\u0001');
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

/** One line per invalid field, e.g. `alerts.0.startsAt: must be an RFC 3339 timestamp`. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.join('.') : '(body)';
    return `${path}: ${issue.message}`;
  });
}
