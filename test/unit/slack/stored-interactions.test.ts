import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { StoredInteractions } from '../../../src/slack/stored-interactions.ts';
import { inProcessStore } from '../../../src/state/in-process-store.ts';
import { SqliteStore } from '../../../src/state/sqlite-store.ts';
import { ManualClock } from '../../helpers/fakes.ts';

const entrySchema = z.object({ words: z.array(z.string()) });

function setup(options: { ttlMs?: number; maxEntries?: number } = {}) {
  const clock = new ManualClock(0);
  const store = inProcessStore(new SqliteStore(':memory:'));
  const make = (kind: string) => new StoredInteractions({ store, kind, schema: entrySchema, ttlMs: options.ttlMs ?? 60_000, now: clock.now, ...(options.maxEntries !== undefined ? { maxEntries: options.maxEntries } : {}) });
  return { clock, store, pending: make('confirmation'), make };
}

describe('StoredInteractions (pending clicks and modals in the store)', () => {
  it('hands out unguessable ids: 128 random bits, base64url, never the same twice', async () => {
    const { pending } = setup();
    const ids = new Set(await Promise.all(Array.from({ length: 200 }, (_, i) => pending.add('UALICE:C1', { words: [String(i)] }))));
    expect(ids.size).toBe(200);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('claims an entry once; a forged id or a malformed one finds nothing', async () => {
    const { pending } = setup();
    const id = await pending.add('UALICE:C1', { words: ['shop/cart', '0'] });
    expect(await pending.claim('AAAAAAAAAAAAAAAAAAAAAA', 'UALICE:C1')).toBeUndefined();
    expect(await pending.claim(`${id}'; DROP TABLE pending_interactions; --`, 'UALICE:C1')).toBeUndefined();
    expect(await pending.claim(id, 'UALICE:C1')).toEqual({ words: ['shop/cart', '0'] });
    expect(await pending.claim(id, 'UALICE:C1')).toBeUndefined();
  });

  it("leaves an entry for its owner when someone else claims it (another person, or the same person in another channel)", async () => {
    const { pending } = setup();
    const id = await pending.add('UALICE:C1', { words: ['x'] });
    expect(await pending.claim(id, 'UBOB:C1')).toBeUndefined();
    expect(await pending.claim(id, 'UALICE:C2')).toBeUndefined();
    expect(await pending.peek(id)).toEqual({ owner: 'UALICE:C1', value: { words: ['x'] } });
    expect(await pending.claim(id, 'UALICE:C1')).toEqual({ words: ['x'] });
  });

  it('is shared by every StoredInteractions over the same store (another replica), one kind apart from another', async () => {
    const { pending, make } = setup();
    const id = await pending.add('UALICE:C1', { words: ['x'] });
    expect(await make('modal').claim(id, 'UALICE:C1')).toBeUndefined();
    const otherReplica = make('confirmation');
    expect(await otherReplica.claim(id, 'UALICE:C1')).toEqual({ words: ['x'] });
    expect(await pending.claim(id, 'UALICE:C1')).toBeUndefined();
  });

  it('forgets entries when they expire', async () => {
    const { pending, clock } = setup({ ttlMs: 1000 });
    const id = await pending.add('UALICE:C1', { words: ['x'] });
    clock.advance(999);
    expect((await pending.peek(id))?.value).toEqual({ words: ['x'] });
    clock.advance(1);
    expect(await pending.peek(id)).toBeUndefined();
    expect(await pending.claim(id, 'UALICE:C1')).toBeUndefined();
  });

  it('keeps at most maxEntries, dropping the oldest', async () => {
    const { pending } = setup({ maxEntries: 2 });
    const first = await pending.add('UALICE:C1', { words: ['1'] });
    const second = await pending.add('UALICE:C1', { words: ['2'] });
    const third = await pending.add('UALICE:C1', { words: ['3'] });
    expect(await pending.peek(first)).toBeUndefined();
    expect((await pending.peek(second))?.value).toEqual({ words: ['2'] });
    expect((await pending.peek(third))?.value).toEqual({ words: ['3'] });
  });

  it('treats an entry it cannot read (written by another version of Lookout) as gone', async () => {
    const { pending, store } = setup();
    await store.addPendingInteraction({ id: 'BBBBBBBBBBBBBBBBBBBBBB', kind: 'confirmation', owner: 'UALICE:C1', value: { command: 'scale' }, expiresAt: 60_000 }, 0, 10_000);
    expect(await pending.peek('BBBBBBBBBBBBBBBBBBBBBB')).toBeUndefined();
    expect(await pending.claim('BBBBBBBBBBBBBBBBBBBBBB', 'UALICE:C1')).toBeUndefined();
  });
});
