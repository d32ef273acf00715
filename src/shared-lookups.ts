import { untilAborted } from './until-aborted.ts';

/** Options of SharedLookups. */
export interface SharedLookupsOptions {
  now: () => number;
  /** 0 = share in-flight lookups only. */
  ttlMs: number;
  /** Bound on cached answers; expired ones go as new ones come, and the oldest when full. */
  maxEntries?: number;
}

interface Pending<T> {
  promise: Promise<T>;
  controller: AbortController;
  waiters: number;
  settled: boolean;
}

/**
 * Lookups by key that callers share: while one is pending, the same key joins it instead of
 * starting another; with `ttlMs > 0` a successful answer is reused until it expires.
 *
 * Each caller brings its own AbortSignal. Giving up affects only that caller; the lookup itself
 * is aborted when every caller waiting for it has given up, so a storm's abandoned lookups do
 * not keep running (or waiting for a concurrency slot) for nobody.
 */
export class SharedLookups<T> {
  private readonly now: () => number;
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly cache = new Map<string, { value: T; expires: number }>();
  private readonly pending = new Map<string, Pending<T>>();

  constructor({ now, ttlMs, maxEntries = 10_000 }: SharedLookupsOptions) {
    this.now = now;
    this.ttlMs = ttlMs;
    this.maxEntries = maxEntries;
  }

  /** Number of cached answers (expired ones included until pruned). */
  get size(): number {
    return this.cache.size;
  }

  /**
   * @param load runs at most once per key at a time; its signal aborts when every caller gave up.
   * @throws the load's error (not cached), or the caller's signal reason when it aborts first.
   */
  async get(key: string, load: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    const cached = this.cache.get(key);
    if (cached !== undefined) {
      if (cached.expires > this.now()) return cached.value;
      this.cache.delete(key);
    }

    let entry = this.pending.get(key);
    if (entry === undefined) entry = this.start(key, load);
    const joined = entry;
    joined.waiters += 1;
    try {
      return await untilAborted(joined.promise, signal);
    } finally {
      joined.waiters -= 1;
      if (joined.waiters === 0 && !joined.settled) {
        // Nobody waits any more: stop the work, and let the next caller start afresh.
        if (this.pending.get(key) === joined) this.pending.delete(key);
        joined.controller.abort(new DOMException('every caller gave up', 'AbortError'));
      }
    }
  }

  private start(key: string, load: (signal: AbortSignal) => Promise<T>): Pending<T> {
    const controller = new AbortController();
    const entry: Pending<T> = { promise: Promise.resolve() as Promise<T>, controller, waiters: 0, settled: false };
    // Registered before the load starts, so a load that fails synchronously still cleans up after itself.
    this.pending.set(key, entry);
    entry.promise = this.settle(key, entry, load);
    // Callers that gave up no longer listen; the rejection must not surface as unhandled.
    entry.promise.catch(() => undefined);
    return entry;
  }

  private async settle(key: string, entry: Pending<T>, load: (signal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      const value = await load(entry.controller.signal);
      if (this.ttlMs > 0 && !entry.controller.signal.aborted) this.remember(key, value);
      return value;
    } finally {
      entry.settled = true;
      if (this.pending.get(key) === entry) this.pending.delete(key);
    }
  }

  private remember(key: string, value: T): void {
    const now = this.now();
    // Every entry lives ttlMs and is re-inserted when renewed, so insertion order is expiry order:
    // expired entries are at the front, and the oldest live one follows them.
    for (const [cachedKey, cached] of this.cache) {
      if (cached.expires > now && this.cache.size < this.maxEntries) break;
      this.cache.delete(cachedKey);
    }
    this.cache.delete(key);
    this.cache.set(key, { value, expires: now + this.ttlMs });
  }
}
