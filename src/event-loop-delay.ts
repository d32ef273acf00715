import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Histogram, type Registry } from 'prom-client';

/** How often the loop checks itself: perf_hooks records one sample per timer tick of this period. */
const RESOLUTION_MS = 10;
/** How often the samples move into the Prometheus histogram, so a long gap between scrapes stays cheap. */
const DRAIN_EVERY_MS = 1000;

/** The part of a perf_hooks histogram that {@link drainEventLoopDelay} reads. */
export interface DelaySamples {
  readonly count: number;
  /** Percentile (0–100] → value in ns, as perf_hooks gives it. */
  readonly percentiles: ReadonlyMap<number, number>;
  reset(): void;
}

/**
 * Moves the samples of `samples` into `observe` (in seconds) and resets it. perf_hooks keeps a
 * histogram, not the samples, so each percentile step stands for its share of the count at that
 * step's value. A sample is the time between two ticks, so the tick period is subtracted: what
 * is left is how long the loop was late, the figure that delays every request.
 */
export function drainEventLoopDelay(samples: DelaySamples, resolutionMs: number, observe: (seconds: number) => void): void {
  const count = samples.count;
  let taken = 0;
  for (const [percentile, ns] of [...samples.percentiles].sort(([a], [b]) => a - b)) {
    const upTo = Math.round((percentile / 100) * count);
    const lateSeconds = Math.max(0, ns / 1e6 - resolutionMs) / 1000;
    for (; taken < upTo; taken++) observe(lateSeconds);
  }
  samples.reset();
}

/**
 * `lookout_event_loop_delay_seconds`: a cumulative histogram of how late Lookout's event loop ran
 * (perf_hooks.monitorEventLoopDelay). Node's default nodejs_eventloop_lag_* gauges hold only the
 * window since the previous scrape (every scrape resets them, so two scrapers see different
 * figures) and include the 10 ms tick; a histogram gives any window with rate() and
 * histogram_quantile(), and the bench diffs it per phase. The buckets at 20 and 50 ms are the
 * targets of issue 11 (p99 under 20 ms, never over 50 ms).
 */
export function registerEventLoopDelay(registry: Registry): Histogram {
  const monitor = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  monitor.enable();
  const drain = () => drainEventLoopDelay(monitor, RESOLUTION_MS, (seconds) => histogram.observe(seconds));
  const histogram: Histogram = new Histogram({
    name: 'lookout_event_loop_delay_seconds',
    help: 'How late the event loop ran a timer (perf_hooks.monitorEventLoopDelay minus its 10 ms tick): every request waits this long.',
    buckets: [0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.5, 1, 2.5, 5],
    registers: [registry],
    // A scrape sees the samples up to now, not up to the last drain.
    collect: drain,
  });
  // unref: the drain must not keep a Lookout that is shutting down alive.
  setInterval(drain, DRAIN_EVERY_MS).unref();
  return histogram;
}
