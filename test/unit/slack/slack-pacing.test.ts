import { describe, expect, it } from 'vitest';
import { SlackPacing } from '../../../src/slack/slack-pacing.ts';

describe('SlackPacing: history reads', () => {
  const pacing = (lookupIntervalMs: number) => {
    let at = 0;
    const clock = { set: (ms: number) => (at = ms) };
    return { clock, pacing: new SlackPacing({ minIntervalMs: 1_000, lookupIntervalMs, now: () => at }) };
  };

  it('lets a burst of lookups through at once (a failover has one per channel), up to a minute\'s worth', () => {
    const { pacing: p } = pacing(1_200);
    // 60,000 / 1,200 = 50 reads in any rolling minute, without a gap between them.
    for (let read = 0; read < 50; read++) {
      expect(p.lookupsPaused(0), `read ${read}`).toBe(false);
      p.historyPageRead();
    }
    expect(p.lookupsPaused(0)).toBe(true);
    expect(p.lookupsPaused(59_999)).toBe(true);
    expect(p.nextOpening(1)).toBe(60_000);
    expect(p.lookupsPaused(60_000)).toBe(false);
  });

  it('counts a rolling minute: reads spread out free the budget one by one', () => {
    const { pacing: p, clock } = pacing(20_000);
    // 3 a minute.
    for (const at of [0, 10_000, 20_000]) {
      clock.set(at);
      expect(p.lookupsPaused(at)).toBe(false);
      p.historyPageRead();
    }
    expect(p.lookupsPaused(30_000)).toBe(true);
    expect(p.nextOpening(30_000)).toBe(60_000);
    expect(p.lookupsPaused(60_000)).toBe(false);
    clock.set(60_000);
    p.historyPageRead();
    expect(p.lookupsPaused(65_000)).toBe(true);
    expect(p.nextOpening(65_000)).toBe(70_000);
  });

  it('holds every lookup for a 429\'s Retry-After, budget or not', () => {
    const { pacing: p } = pacing(1_200);
    p.rateLimited('C1', 'conversations.history', 30_000);
    expect(p.lookupsPaused(29_999)).toBe(true);
    expect(p.lookupsPaused(30_000)).toBe(false);
  });

  it('never pauses lookups for the budget when lookupIntervalMs is 0', () => {
    const { pacing: p } = pacing(0);
    for (let read = 0; read < 1_000; read++) p.historyPageRead();
    expect(p.lookupsPaused(0)).toBe(false);
    expect(p.nextOpening(0)).toBeUndefined();
  });
});
