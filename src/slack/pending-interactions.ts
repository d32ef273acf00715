import { randomBytes } from 'node:crypto';

export interface PendingInteractionsOptions {
  /** How long an entry can be claimed. */
  ttlMs: number;
  /** Entries kept at most; the oldest go first (a flood of typed commands cannot grow memory). */
  maxEntries?: number;
  now?: () => number;
}

/**
 * What a click or a modal submission will act on, kept server-side (a typed command waiting for
 * Confirm, the alert group a modal was opened for) under an unguessable id. Only the id travels
 * through Slack (button value, private_metadata): a forged or replayed id finds nothing, so it
 * does nothing. In memory, on purpose: an entry lives for minutes, and a restart asking the
 * person to run the command again is better than a confirmation outliving what it confirmed.
 */
export class PendingInteractions<T> {
  private readonly entries = new Map<string, { value: T; expiresAt: number }>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor({ ttlMs, maxEntries = 10_000, now = Date.now }: PendingInteractionsOptions) {
    this.ttlMs = ttlMs;
    this.maxEntries = maxEntries;
    this.now = now;
  }

  /** Keeps `value` and returns its id: 128 random bits, base64url (22 characters). */
  add(value: T): string {
    this.prune();
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
    const id = randomBytes(16).toString('base64url');
    this.entries.set(id, { value, expiresAt: this.now() + this.ttlMs });
    return id;
  }

  /** The entry, without using it up; undefined when unknown or expired. */
  peek(id: string): T | undefined {
    const entry = this.entries.get(id);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(id);
      return undefined;
    }
    return entry.value;
  }

  /**
   * Takes the entry out when `accept` says yes: each id is used once, so two clicks on Confirm
   * act once. An entry `accept` refuses (another person's click) stays for its owner.
   */
  claim(id: string, accept: (value: T) => boolean = () => true): T | undefined {
    const value = this.peek(id);
    if (value === undefined || !accept(value)) return undefined;
    this.entries.delete(id);
    return value;
  }

  get size(): number {
    return this.entries.size;
  }

  private prune(): void {
    const at = this.now();
    // Insertion order is expiry order (one ttl for all), so stop at the first live entry.
    for (const [id, entry] of this.entries) {
      if (entry.expiresAt > at) break;
      this.entries.delete(id);
    }
  }
}
