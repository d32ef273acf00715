import type { Logger } from '../src/log.ts';
import type { Metrics } from '../src/metrics.ts';
import { untilAborted } from '../src/until-aborted.ts';
import type { TrackedAlert } from './group-state.ts';
import {
  SourceUnavailable,
  type AlertEnrichment,
  type AlertTarget,
  type EnrichmentFact,
  type EnrichmentSource,
  type EnrichmentSources,
  type SourceFailure,
} from './enrichers/enrichment.ts';

export interface AlertEnrichmentOptions {
  sources: EnrichmentSources;
  /** Aborted at the deadline: sources still running become "timeout" failures. */
  signal: AbortSignal;
  metrics: Metrics;
  /** Gets the stack of a source that failed unexpectedly (shown in Slack only as "error"). */
  log: Logger;
  now: () => number;
}

/** One alert's enrichment in progress. */
export interface AlertEnrichmentRun {
  /**
   * What is known so far. Sources still running are listed as failures with reason "timeout"
   * (what the first post shows when the budget runs out) and `complete` is false.
   */
  snapshot(): AlertEnrichment;
  /** Resolves (never rejects) once every source answered, failed, or was cut off by the deadline. */
  readonly done: Promise<AlertEnrichment>;
}

type Outcome =
  | { kind: 'running' }
  | { kind: 'fact'; fact: EnrichmentFact }
  | { kind: 'nothing' }
  | { kind: 'failed'; reason: string };

/** Reason shown (and counted) for a source that did not answer before the deadline. */
const TIMEOUT_REASON = 'timeout';

/**
 * Starts every enricher for one alert at once (Promise.allSettled semantics: one failing source
 * never sinks the others) under the caller's deadline signal. Each settled source is timed in
 * `lookout_enrichment_duration_seconds`; each failure is counted in
 * `lookout_enrichment_failures_total` and kept as a SourceFailure with a reason safe to show.
 * A source that ignores the signal is abandoned at the deadline all the same.
 */
export function startAlertEnrichment(alert: TrackedAlert, { sources, signal, metrics, log, now }: AlertEnrichmentOptions): AlertEnrichmentRun {
  // What the labels say, confirmed by a lookup or two (cached, shared with the sources) when a
  // pod label may be the exporter's; every source waits for it, so none describes the wrong pod.
  let target: AlertTarget = {};
  const resolved = Promise.resolve()
    .then(() => sources.resolveTarget(alert, signal))
    .then(
      (found) => (target = found),
      (error: unknown) => {
        log.warn({ err: error, fingerprint: alert.fingerprint }, 'resolving the alert\'s target failed unexpectedly; enriching nothing');
        return target;
      },
    );
  const outcomes: Outcome[] = sources.enrichers.map(() => ({ kind: 'running' }));

  const runs = sources.enrichers.map(async (enricher, index) => {
    const startedAt = now();
    try {
      const fact = await untilAborted(resolved.then((found) => enricher.enrich(alert, found, signal)), signal);
      outcomes[index] = fact === undefined ? { kind: 'nothing' } : { kind: 'fact', fact: { ...fact, source: enricher.source } };
    } catch (error) {
      const reason = signal.aborted ? TIMEOUT_REASON : failureReason(error);
      // A SourceUnavailable is an expected outage (the metric says enough, and its cause may quote
      // a server); anything else is a bug whose stack would otherwise be lost.
      if (!signal.aborted && !(error instanceof SourceUnavailable)) {
        log.warn({ err: error, source: enricher.source, fingerprint: alert.fingerprint }, 'an enrichment source failed unexpectedly; Slack shows "error"');
      }
      outcomes[index] = { kind: 'failed', reason };
      metrics.enrichmentFailures.inc({ source: enricher.source, reason });
    } finally {
      metrics.enrichmentDuration.observe({ source: enricher.source }, Math.max(0, now() - startedAt) / 1000);
    }
  });

  const snapshot = (): AlertEnrichment => {
    const facts: EnrichmentFact[] = [];
    const failures: SourceFailure[] = [];
    let complete = true;
    for (const [index, outcome] of outcomes.entries()) {
      const source: EnrichmentSource = sources.enrichers[index]!.source;
      if (outcome.kind === 'fact') facts.push(outcome.fact);
      else if (outcome.kind === 'failed') failures.push({ source, reason: outcome.reason });
      else if (outcome.kind === 'running') {
        complete = false;
        failures.push({ source, reason: TIMEOUT_REASON });
      }
    }
    return { target, facts, failures, complete };
  };

  // The runs never reject (each catches), so allSettled is only belt and braces.
  const done = Promise.allSettled(runs).then(snapshot);
  return { snapshot, done };
}

/**
 * Only SourceUnavailable reasons reach Slack: anything else a source throws may quote a server's
 * answer (headers, request content), so it is shown as "error" and logged.
 */
function failureReason(error: unknown): string {
  if (error instanceof SourceUnavailable && /^[\w .:/-]{1,40}$/.test(error.reason)) return error.reason;
  return 'error';
}
