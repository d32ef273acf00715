/** chat.update is limited per workspace (Tier 3), chat.postMessage per channel. */
const WORKSPACE_LIMITED_METHOD = 'chat.update';
/** History reads (conversations.history/replies) are limited per workspace too, and must stay rare. */
const HISTORY_METHOD = 'conversations.history';

/**
 * When the outbox may call Slack again: per channel (about one call per `minIntervalMs`, longer
 * after a 429), and per workspace for edits and history reads (a 429's Retry-After, and a gap
 * of `lookupIntervalMs` between history pages). Times only; what is due is the store's business.
 */
export class SlackPacing {
  private readonly channelFreeAt = new Map<string, number>();
  private readonly methodFreeAt = new Map<string, number>();
  private readonly minIntervalMs: number;
  private readonly lookupIntervalMs: number;
  private readonly now: () => number;

  constructor(options: { minIntervalMs: number; lookupIntervalMs: number; now: () => number }) {
    this.minIntervalMs = options.minIntervalMs;
    this.lookupIntervalMs = options.lookupIntervalMs;
    this.now = options.now;
  }

  channelFree(channel: string, now: number): boolean {
    return (this.channelFreeAt.get(channel) ?? 0) <= now;
  }

  /** When the next call to `channel` may start (ms); 0 when it may now. */
  freeAt(channel: string): number {
    return this.channelFreeAt.get(channel) ?? 0;
  }

  /** A call to `channel` starts now: the next one waits a full interval. */
  callStarted(channel: string, now: number): void {
    this.channelFreeAt.set(channel, now + this.minIntervalMs);
  }

  /**
   * Marks a channel free only after `minIntervalMs` from now: a post that follows a lookup counts
   * from the post, the next call from this one's answer.
   */
  spaceFromNow(channel: string): void {
    const at = this.now() + this.minIntervalMs;
    this.channelFreeAt.set(channel, Math.max(this.channelFreeAt.get(channel) ?? 0, at));
  }

  /** Nothing goes to `channel` before `until` (a failure the store could not record, say). */
  holdChannel(channel: string, until: number): void {
    this.channelFreeAt.set(channel, until);
  }

  /** A 429: the channel waits for its Retry-After, or all history reads do; a chat.update's pauses every edit too. */
  rateLimited(channel: string, method: string | undefined, until: number): void {
    if (method === 'conversations.history' || method === 'conversations.replies') this.methodFreeAt.set(HISTORY_METHOD, until);
    else this.channelFreeAt.set(channel, until);
    if (method === WORKSPACE_LIMITED_METHOD) this.methodFreeAt.set(WORKSPACE_LIMITED_METHOD, until);
  }

  editsPaused(now: number): boolean {
    return (this.methodFreeAt.get(WORKSPACE_LIMITED_METHOD) ?? 0) > now;
  }

  lookupsPaused(now: number): boolean {
    return (this.methodFreeAt.get(HISTORY_METHOD) ?? 0) > now;
  }

  /** A history page is being read: the next one, for any channel, waits `lookupIntervalMs`. */
  historyPageRead(): void {
    this.methodFreeAt.set(HISTORY_METHOD, Math.max(this.methodFreeAt.get(HISTORY_METHOD) ?? 0, this.now() + this.lookupIntervalMs));
  }

  /** The earliest time after `now` that a channel or method opens again, or undefined. */
  nextOpening(now: number): number | undefined {
    const gates = [...this.channelFreeAt.values(), ...this.methodFreeAt.values()].filter((at) => at > now);
    return gates.length > 0 ? Math.min(...gates) : undefined;
  }
}
