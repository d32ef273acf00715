import type { KubeEvent } from '../../src/kube/kube-objects.ts';
import type { EventSubject, KubeReadView } from '../../src/kube/kube-reader.ts';
import type { Enricher } from './enrichment.ts';
import { FACT_LIMITS } from './enrichment.ts';
import { ago, clipLine, clipLines, code, text } from './format.ts';
import { resolveOwnerChain } from './owner-chain.ts';
import type { Redactor } from './redact.ts';
import { withSafeErrors } from './source-errors.ts';

export interface EventsEnricherOptions {
  reader: KubeReadView;
  now: () => number;
  /** Event messages quote commands, probes and URLs. */
  redactor: Redactor;
  /** Events last seen this long before the alert started are old news. Default 1 hour (the API server's default event TTL). */
  lookbackMs?: number;
}

/** One reason on one object, with the events behind it added up. */
interface Tally {
  subject: EventSubject;
  reason: string;
  count: number;
  lastSeen: number;
  /** The newest event's message: the one that describes the current state. */
  message: string;
}

const SUMMARY_REASONS = 3;

/**
 * Recent Warning events about the pod and its controller (FailedCreate lands on the ReplicaSet,
 * BackOff and Unhealthy on the pod), or about the workload the labels name. Repeats are
 * counted per object and reason, newest first.
 */
export function createEventsEnricher({ reader, now, redactor, lookbackMs = 60 * 60_000 }: EventsEnricherOptions): Enricher {
  return {
    source: 'events',
    async enrich(alert, target, signal) {
      const { namespace } = target;
      if (namespace === undefined) return undefined;
      return withSafeErrors(async () => {
        const subjects: EventSubject[] = [];
        if (target.pod !== undefined) {
          // Through the shared chain: the pod is already being read by the pod source.
          const chain = await resolveOwnerChain(reader, { namespace, pod: target.pod }, signal);
          subjects.push({ kind: 'Pod', name: target.pod });
          if (chain.owner) subjects.push(chain.owner);
        } else {
          // The object the alert names (FailedGetResourceMetric lands on the HPA, ProvisioningFailed on the claim).
          if (target.horizontalPodAutoscaler !== undefined) subjects.push({ kind: 'HorizontalPodAutoscaler', name: target.horizontalPodAutoscaler });
          if (target.workload) subjects.push(target.workload);
          if (target.podDisruptionBudget !== undefined) subjects.push({ kind: 'PodDisruptionBudget', name: target.podDisruptionBudget });
          if (target.persistentVolumeClaim !== undefined) subjects.push({ kind: 'PersistentVolumeClaim', name: target.persistentVolumeClaim });
        }
        if (subjects.length === 0) return undefined;

        const lists = await Promise.all(subjects.map((subject) => reader.listWarningEvents(namespace, subject, signal)));
        const since = Date.parse(alert.startsAt) - lookbackMs;
        const tallies = tally(subjects, lists).filter((entry) => !(entry.lastSeen < since));
        const names = subjects.map((subject) => `${subject.kind} ${code(subject.name)}`).join(', ');
        if (tallies.length === 0) {
          return { source: 'events', summary: '', detail: `*Warning events*: none recent for ${names}.` };
        }

        const shown = tallies.slice(0, SUMMARY_REASONS).map((entry) => `${text(entry.reason, 60)} ×${entry.count}`);
        const more = tallies.length - shown.length;
        const summary = `⚠️ ${shown.join(', ')}${more > 0 ? ` +${more} more` : ''}`;
        const clock = now();
        const lines = [`*Warning events* for ${names}, newest first:`];
        for (const entry of tallies) {
          const when = Number.isFinite(entry.lastSeen) ? ` · ${ago(new Date(entry.lastSeen).toISOString(), clock) ?? ''}` : '';
          lines.push(
            `• *${text(entry.reason, 60)}* ×${entry.count} · ${text(entry.subject.kind, 40)} ${code(entry.subject.name)}${when}` +
              `${entry.message ? ` — ${text(redactor.redact(entry.message), 300)}` : ''}`,
          );
        }
        return { source: 'events', summary: clipLine(summary, FACT_LIMITS.summary), detail: clipLines(lines.join('\n'), FACT_LIMITS.detail) };
      });
    },
  };
}

function tally(subjects: readonly EventSubject[], lists: readonly KubeEvent[][]): Tally[] {
  const byKey = new Map<string, Tally>();
  subjects.forEach((subject, index) => {
    for (const event of lists[index] ?? []) {
      const reason = event.reason ?? 'Unknown';
      const key = `${subject.kind}\u0000${subject.name}\u0000${reason}`;
      const count = Math.max(1, event.series?.count ?? event.count ?? 1);
      const lastSeen = lastSeenOf(event);
      const existing = byKey.get(key);
      if (existing === undefined) {
        byKey.set(key, { subject, reason, count, lastSeen, message: event.message ?? '' });
        continue;
      }
      existing.count += count;
      if (lastSeen > existing.lastSeen || Number.isNaN(existing.lastSeen)) {
        existing.lastSeen = lastSeen;
        existing.message = event.message ?? existing.message;
      }
    }
  });
  // Newest first; events without any timestamp last; ties by reason, so output is stable.
  const time = (entry: Tally): number => (Number.isNaN(entry.lastSeen) ? -Infinity : entry.lastSeen);
  return [...byKey.values()].sort((a, b) => {
    if (time(a) !== time(b)) return time(a) < time(b) ? 1 : -1;
    return a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0;
  });
}

/** Core/v1 events written by old clients set lastTimestamp; events.k8s.io ones eventTime and series. */
function lastSeenOf(event: KubeEvent): number {
  const candidates = [event.series?.lastObservedTime, event.lastTimestamp, event.eventTime, event.metadata.creationTimestamp];
  for (const candidate of candidates) {
    if (candidate) {
      const ms = Date.parse(candidate);
      if (!Number.isNaN(ms)) return ms;
    }
  }
  return Number.NaN;
}
