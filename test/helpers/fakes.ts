import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/log.ts';
import { createMetrics, type Metrics } from '../../src/metrics.ts';
import { alertmanagerPayloadSchema, type AlertmanagerPayload } from '../../alerts/payload.ts';

/** A logger whose JSON lines are kept for assertions. */
export function recordingLogger(): { log: Logger; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const log = createLogger({ level: 'debug', destination });
  return {
    log,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

export function freshMetrics(): Metrics {
  return createMetrics();
}

/** Sum of a metric's samples whose labels include `labels`. */
export async function metricValue(metrics: Metrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  return values
    .filter((sample) => Object.entries(labels).every(([key, value]) => String(sample.labels[key]) === value))
    .reduce((sum, sample) => sum + sample.value, 0);
}

/** A manual clock: tests move time, nothing sleeps. */
export class ManualClock {
  current: number;

  constructor(start = Date.parse('2026-01-01T00:00:00Z')) {
    this.current = start;
  }

  now = (): number => this.current;

  advance(ms: number): void {
    this.current += ms;
  }
}

interface AlertSpec {
  name?: string;
  fingerprint: string;
  status?: 'firing' | 'resolved';
  startsAt?: string;
  labels?: Record<string, string>;
}

/** A v4 payload built through the real schema, so it cannot drift from what we accept. */
export function payload(groupKey: string, alerts: AlertSpec[], extra: Partial<Record<string, unknown>> = {}): AlertmanagerPayload {
  const built = alerts.map((spec) => ({
    status: spec.status ?? 'firing',
    labels: { alertname: spec.name ?? 'TestAlert', instance: spec.fingerprint, ...spec.labels },
    annotations: { summary: `summary of ${spec.fingerprint}` },
    startsAt: spec.startsAt ?? '2026-01-01T00:00:00Z',
    endsAt: spec.status === 'resolved' ? '2026-01-01T00:10:00Z' : '0001-01-01T00:00:00Z',
    generatorURL: 'http://prometheus/graph',
    fingerprint: spec.fingerprint,
  }));
  return alertmanagerPayloadSchema.parse({
    version: '4',
    groupKey,
    truncatedAlerts: 0,
    status: built.some((alert) => alert.status === 'firing') ? 'firing' : 'resolved',
    receiver: 'lookout',
    groupLabels: { alertname: alerts[0]?.name ?? 'TestAlert' },
    commonLabels: { alertname: alerts[0]?.name ?? 'TestAlert' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    alerts: built,
    ...extra,
  });
}
