import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { drainEventLoopDelay, registerEventLoopDelay, type DelaySamples } from '../../src/event-loop-delay.ts';

/** A perf_hooks-like histogram: percentile → value in ns. */
function samples(count: number, percentiles: Array<[number, number]>): DelaySamples & { resets: number } {
  return {
    count,
    percentiles: new Map(percentiles),
    resets: 0,
    reset() {
      this.resets += 1;
    },
  };
}

const msToNs = (ms: number) => ms * 1e6;

describe('drainEventLoopDelay', () => {
  it('observes each percentile step as its share of the count, late by the value minus the tick', () => {
    const observed: number[] = [];
    // 100 ticks: half at 10.5 ms, 49 at 12 ms, one at 310 ms (a 300 ms stall).
    const histogram = samples(100, [
      [0, msToNs(10.5)],
      [50, msToNs(10.5)],
      [99, msToNs(12)],
      [100, msToNs(310)],
    ]);
    drainEventLoopDelay(histogram, 10, (seconds) => observed.push(seconds));
    expect(observed).toHaveLength(100);
    expect(observed.filter((s) => s === 0.0005)).toHaveLength(50);
    expect(observed.filter((s) => s === 0.002)).toHaveLength(49);
    expect(observed.at(-1)).toBe(0.3);
    expect(histogram.resets).toBe(1);
  });

  it('counts a tick that came early as not late, and an empty histogram as nothing', () => {
    const observed: number[] = [];
    drainEventLoopDelay(samples(2, [[100, msToNs(9.8)]]), 10, (seconds) => observed.push(seconds));
    expect(observed).toEqual([0, 0]);
    drainEventLoopDelay(samples(0, []), 10, (seconds) => observed.push(seconds));
    expect(observed).toHaveLength(2);
  });
});

describe('lookout_event_loop_delay_seconds', () => {
  it('shows a stall of the loop in the bucket it belongs to at the next scrape', async () => {
    const registry = new Registry();
    registerEventLoopDelay(registry);
    await new Promise((resolve) => setTimeout(resolve, 30));
    const busyUntil = performance.now() + 120;
    while (performance.now() < busyUntil);
    await new Promise((resolve) => setTimeout(resolve, 30));
    const text = await registry.metrics();
    const bucket = (le: string) => Number(text.split('\n').find((line) => line.startsWith(`lookout_event_loop_delay_seconds_bucket{le="${le}"} `))?.split(' ')[1]);
    // At least one tick was 100 ms or more late; it is above the 0.1 bucket and within +Inf.
    expect(bucket('+Inf') - bucket('0.1')).toBeGreaterThanOrEqual(1);
  });
});
