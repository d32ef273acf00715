/** chat.update is limited per workspace (Tier 3), chat.postMessage per channel. */
const WORKSPACE_LIMITED_METHOD = 'chat.update';
/** History reads (conversations.history/replies) are limited per workspace too, and must stay rare. */
const HISTORY_METHOD = 'conversations.history';

const MINUTE_MS = 60_000;

/**
 * When the outbox may call Slack again: per channel (about one call per `minIntervalMs`, longer
 * after a 429), and per workspace for edits and history reads (a 429's Retry-After, and at most a
 * minute's worth of history pages at one per `lookupIntervalMs` in any rolling minute).
 * Times only; what is due is the store's business.
 */
export class SlackPacing {
  private readonly channelFreeAt = new Map<string, number>();
  private readonly methodFreeAt = new Map<string, number>();
  /** When each history page of the last minute was read, oldest first. */
  private readonly historyReads: number[] = [];
  private readonly minIntervalMs: number;
  /** History pages allowed in any rolling minute: Infinity when lookupIntervalMs is 0. */
  private readonly historyPerMinute: number;
  private readonly now: () => number;

  constructor(options: { minIntervalMs: number; lookupIntervalMs: number; now: () => number }) {
    this.minIntervalMs = options.minIntervalMs;
    this.historyPerMinute = options.lookupIntervalMs > 0 ? Math.max(1, Math.floor(MINUTE_MS / options.lookupIntervalMs)) : Infinity;
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

  /**
   * Whether history reads must wait: a 429's Retry-After, or the rolling minute's budget spent.
   * A budget rather than a gap between reads: after a failover the new holder of the channels has
   * one post to look up in each channel the dead replica left mid-post, and spacing those 1.2 s
   * apart held the last channel's alerts back for seconds (issue 16: 6 lookups put failover at
   * 16 s). Slack's Tier 3 allows bursts within its per-minute limit; the count stays within it.
   */
  lookupsPaused(now: number): boolean {
    if ((this.methodFreeAt.get(HISTORY_METHOD) ?? 0) > now) return true;
    this.forgetReadsBefore(now - MINUTE_MS);
    return this.historyReads.length >= this.historyPerMinute;
  }

  /** A history page is being read: it counts against the rolling minute's budget. */
  historyPageRead(): void {
    if (this.historyPerMinute !== Infinity) this.historyReads.push(this.now());
  }

  /** The earliest time after `now` that a channel or method opens again, or undefined. */
  nextOpening(now: number): number | undefined {
    const gates = [...this.channelFreeAt.values(), ...this.methodFreeAt.values(), this.historyBudgetReturnsAt(now)].filter((at): at is number => at !== undefined && at > now);
    return gates.length > 0 ? Math.min(...gates) : undefined;
  }

  /** While the budget is spent: when its oldest read leaves the rolling minute. */
  private historyBudgetReturnsAt(now: number): number | undefined {
    this.forgetReadsBefore(now - MINUTE_MS);
    const oldest = this.historyReads[0];
    return this.historyReads.length >= this.historyPerMinute && oldest !== undefined ? oldest + MINUTE_MS : undefined;
  }

  private forgetReadsBefore(cutoff: number): void {
    while (this.historyReads.length > 0 && (this.historyReads[0] ?? 0) <= cutoff) this.historyReads.shift();
  }
}
