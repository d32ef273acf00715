import { channelsOf, groupOf, type Delivery, type Flight } from './delivery.ts';

/**
 * The outbox's deliveries with a Slack call under way: at most one per channel and one per
 * group (a group's message is never worked on twice at once), each with a deadline (from the
 * start of its current call) after which it is abandoned, so that a call that never settles
 * holds its channel no longer.
 */
export class CallsInFlight {
  /** By target channel. */
  private readonly byChannel = new Map<string, Flight>();
  private readonly busyGroups = new Set<number>();
  private readonly deadlineMs: number;

  constructor(options: { deadlineMs: number }) {
    this.deadlineMs = options.deadlineMs;
  }

  get size(): number {
    return this.byChannel.size;
  }

  /** Whether `delivery` must wait: its channel or its group has a call under way. */
  busy(delivery: Delivery): boolean {
    if (this.byChannel.has(delivery.target)) return true;
    const groupId = groupOf(delivery);
    return groupId !== undefined && this.busyGroups.has(groupId);
  }

  start(delivery: Delivery, now: number): Flight {
    const flight: Flight = { delivery, callStartedAt: now, abandoned: false };
    this.byChannel.set(delivery.target, flight);
    const groupId = groupOf(delivery);
    if (groupId !== undefined) this.busyGroups.add(groupId);
    return flight;
  }

  /** The call settled. @returns false when it had been abandoned: its channel is someone else's now. */
  finish(flight: Flight): boolean {
    if (flight.abandoned) return false;
    this.release(flight);
    return true;
  }

  /** Abandons and returns the flights past their deadline; their outcome counts as unknown. */
  expire(now: number): Flight[] {
    const expired = [...this.byChannel.values()].filter((flight) => now - flight.callStartedAt >= this.deadlineMs);
    for (const flight of expired) {
      flight.abandoned = true;
      this.release(flight);
    }
    return expired;
  }

  /** When each call under way reaches its deadline. */
  deadlines(): number[] {
    return [...this.byChannel.values()].map((flight) => flight.callStartedAt + this.deadlineMs);
  }

  /** The channels with a call under way, and the channels their records belong to. */
  channels(): string[] {
    return [...this.byChannel.values()].flatMap((flight) => channelsOf(flight.delivery));
  }

  /**
   * This replica lost the channel's lease: the delivery to it (or of a record belonging to it) is
   * abandoned, so it makes no further call and records nothing; its outcome is another replica's business.
   */
  abandonChannel(channel: string): void {
    for (const flight of [...this.byChannel.values()]) {
      if (!channelsOf(flight.delivery).includes(channel)) continue;
      flight.abandoned = true;
      this.release(flight);
    }
  }

  /** On stop: whatever the calls under way return is ignored. */
  abandonAll(): void {
    for (const flight of this.byChannel.values()) flight.abandoned = true;
  }

  private release(flight: Flight): void {
    this.byChannel.delete(flight.delivery.target);
    const groupId = groupOf(flight.delivery);
    if (groupId !== undefined) this.busyGroups.delete(groupId);
  }
}
