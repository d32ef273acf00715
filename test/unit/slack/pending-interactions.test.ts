import { describe, expect, it } from 'vitest';
import { PendingInteractions } from '../../../src/slack/pending-interactions.ts';
import { ManualClock } from '../../helpers/fakes.ts';

describe('PendingInteractions', () => {
  it('hands out unguessable ids: 128 random bits, never the same twice', () => {
    const pending = new PendingInteractions<number>({ ttlMs: 1000 });
    const ids = new Set(Array.from({ length: 1000 }, (_, i) => pending.add(i)));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('claims an entry once; a forged id finds nothing', () => {
    const pending = new PendingInteractions<string>({ ttlMs: 1000 });
    const id = pending.add('scale shop/cart 5');
    expect(pending.claim('AAAAAAAAAAAAAAAAAAAAAA')).toBeUndefined();
    expect(pending.claim(id)).toBe('scale shop/cart 5');
    expect(pending.claim(id)).toBeUndefined();
  });

  it('leaves an entry its check refuses (another person) for its owner', () => {
    const pending = new PendingInteractions<{ user: string }>({ ttlMs: 1000 });
    const id = pending.add({ user: 'UALICE' });
    expect(pending.claim(id, (entry) => entry.user === 'UBOB')).toBeUndefined();
    expect(pending.claim(id, (entry) => entry.user === 'UALICE')).toEqual({ user: 'UALICE' });
  });

  it('forgets entries when they expire', () => {
    const clock = new ManualClock(0);
    const pending = new PendingInteractions<string>({ ttlMs: 1000, now: clock.now });
    const id = pending.add('x');
    clock.advance(999);
    expect(pending.peek(id)).toBe('x');
    clock.advance(1);
    expect(pending.claim(id)).toBeUndefined();
    pending.add('y');
    expect(pending.size).toBe(1);
  });

  it('keeps at most maxEntries, dropping the oldest', () => {
    const pending = new PendingInteractions<number>({ ttlMs: 60_000, maxEntries: 2 });
    const first = pending.add(1);
    pending.add(2);
    pending.add(3);
    expect(pending.size).toBe(2);
    expect(pending.peek(first)).toBeUndefined();
  });
});
