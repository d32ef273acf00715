import { describe, expect, it } from 'vitest';
import { ConcurrencyLimit } from '../../src/limit-concurrency.ts';
import { SharedLookups } from '../../src/shared-lookups.ts';
import { ManualClock } from '../helpers/fakes.ts';

describe('SharedLookups', () => {
  it('keeps at most maxEntries answers, dropping expired ones first, then the oldest', async () => {
    const clock = new ManualClock();
    const lookups = new SharedLookups<string>({ now: clock.now, ttlMs: 1000, maxEntries: 3 });
    let loads = 0;
    const load = (value: string) => () => {
      loads += 1;
      return Promise.resolve(value);
    };
    await lookups.get('a', load('a'));
    clock.advance(2000); // a expires
    await lookups.get('b', load('b'));
    await lookups.get('c', load('c'));
    await lookups.get('d', load('d')); // full: expired a goes, nothing else
    expect(lookups.size).toBe(3);
    await lookups.get('e', load('e')); // full again: the oldest live one (b) goes
    expect(lookups.size).toBe(3);
    expect(loads).toBe(5);
    await lookups.get('c', load('c'));
    expect(loads).toBe(5);
    await lookups.get('b', load('b'));
    expect(loads).toBe(6);
  });

  it('lets go of expired answers as new ones come, so a past storm does not stay in memory', async () => {
    const clock = new ManualClock();
    const lookups = new SharedLookups<string>({ now: clock.now, ttlMs: 1000 });
    for (let i = 0; i < 1000; i++) await lookups.get(`pod-${i}`, () => Promise.resolve('x'.repeat(1000)));
    expect(lookups.size).toBe(1000);
    clock.advance(1000);
    await lookups.get('later', () => Promise.resolve('y'));
    expect(lookups.size).toBe(1);
  });

  it('cleans up after a load that throws before it returns a promise', async () => {
    const lookups = new SharedLookups<string>({ now: () => 0, ttlMs: 1000 });
    await expect(lookups.get('k', () => { throw new Error('sync failure'); })).rejects.toThrow('sync failure');
    expect(await lookups.get('k', () => Promise.resolve('ok'))).toBe('ok');
  });
});

describe('ConcurrencyLimit', () => {
  it('starts waiting tasks in arrival order as slots free up', async () => {
    const limit = new ConcurrencyLimit(1);
    const order: string[] = [];
    let release: () => void = () => undefined;
    const first = limit.run(() => new Promise<void>((resolve) => { order.push('first'); release = resolve; }));
    const second = limit.run(() => { order.push('second'); return Promise.resolve(); });
    const third = limit.run(() => { order.push('third'); return Promise.resolve(); });
    await Promise.resolve();
    expect(order).toEqual(['first']);
    expect(limit.waiting).toBe(2);
    release();
    await Promise.all([first, second, third]);
    expect(order).toEqual(['first', 'second', 'third']);
    expect(limit.active).toBe(0);
  });

  it('releases its slot when a task fails', async () => {
    const limit = new ConcurrencyLimit(1);
    await expect(limit.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await limit.run(() => Promise.resolve(42))).toBe(42);
  });
});
