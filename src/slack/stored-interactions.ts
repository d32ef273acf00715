import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import type { Store } from '../state/store.ts';

/** What ids look like: 128 random bits, base64url. Anything else is refused before the store is asked. */
const ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;

export interface StoredInteractionsOptions<T> {
  store: Pick<Store, 'addPendingInteraction' | 'peekPendingInteraction' | 'claimPendingInteraction'>;
  /** What the entries are for (`confirmation`, `modal`): a click of one kind never finds another kind's entry. */
  kind: string;
  /**
   * What a stored value must look like. An entry that does not (written by another version of
   * Lookout during a rolling upgrade) is treated as gone: the person is asked to start again.
   */
  schema: z.ZodType<T>;
  /** How long an entry can be claimed. */
  ttlMs: number;
  /** Entries of all kinds kept at most; the oldest go first (a flood of typed commands cannot grow the store). */
  maxEntries?: number;
  now?: () => number;
}

/**
 * What a click or a modal submission will act on (a typed command waiting for Confirm, the alert
 * group a modal was opened for), kept in the store under an unguessable id so that whichever
 * replica Slack sends the click to finds it. Only the id travels through Slack (button value,
 * private_metadata): a forged or replayed id finds nothing, so it does nothing.
 */
export class StoredInteractions<T> {
  private readonly options: Required<StoredInteractionsOptions<T>>;

  constructor(options: StoredInteractionsOptions<T>) {
    this.options = { maxEntries: 10_000, now: Date.now, ...options };
  }

  /** Keeps `value` for `owner` (the only one who may claim it) and returns its id. */
  async add(owner: string, value: T): Promise<string> {
    const { store, kind, ttlMs, maxEntries, now } = this.options;
    const id = randomBytes(16).toString('base64url');
    const at = now();
    await store.addPendingInteraction({ id, kind, owner, value, expiresAt: at + ttlMs }, at, maxEntries);
    return id;
  }

  /** The entry and its owner, without using it up; undefined when unknown, expired or unreadable. */
  async peek(id: string): Promise<{ owner: string; value: T } | undefined> {
    if (!ID_PATTERN.test(id)) return undefined;
    const entry = await this.options.store.peekPendingInteraction(id, this.options.kind, this.options.now());
    if (entry === undefined) return undefined;
    const value = this.read(entry.value);
    return value === undefined ? undefined : { owner: entry.owner, value };
  }

  /**
   * Takes the entry out if it is `owner`'s: each id is used once, so two clicks on Confirm (on one
   * replica or two) act once. Another owner's click finds nothing and leaves the entry for its owner.
   */
  async claim(id: string, owner: string): Promise<T | undefined> {
    if (!ID_PATTERN.test(id)) return undefined;
    const entry = await this.options.store.claimPendingInteraction(id, this.options.kind, owner, this.options.now());
    return entry === undefined ? undefined : this.read(entry.value);
  }

  private read(value: unknown): T | undefined {
    const parsed = this.options.schema.safeParse(value);
    return parsed.success ? parsed.data : undefined;
  }
}
