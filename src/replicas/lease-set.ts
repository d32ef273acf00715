import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { Store } from '../state/store.ts';

export interface LeaseSetOptions {
  store: Pick<Store, 'claimLeases' | 'releaseLeases'>;
  /** This replica (config.replicas.id). */
  owner: string;
  /** How long a claim lasts unrenewed (config.replicas.leaseDurationMs). */
  durationMs: number;
  /** What the leases are for, as the metrics say it. */
  kind: 'channel' | 'job';
  metrics: Metrics;
  log: Logger;
  now: () => number;
}

/** After a failed claim (the store did not answer), the next try waits this long at most. */
const RETRY_AFTER_ERROR_MS = 1000;

/**
 * The leases one replica holds of one kind (docs/architecture.md, "Several replicas"), kept with as
 * few store calls as possible: `keep` makes ONE claimLeases call, and only when a held lease is a
 * third of its duration old (renewal) or a wanted one is not held and may be free by now.
 *
 * - A lease is used (`usable`) only while more than a third of its duration is left: a holder
 *   that cannot renew (store unreachable, event loop stalled) stops starting work a third of the
 *   duration before anyone else may start, which is longer than Slack's per-channel interval.
 * - A wanted lease another replica holds is asked for again a sixth of a duration later, not at
 *   every call of `keep` (no store call per pass for work this replica may not do).
 * - A held lease nobody wanted for a whole duration is released: an idle replica makes no calls.
 * - Expiry times are this replica's clock at the claim plus the duration, exactly what the store
 *   recorded (claimLeases takes `now` from the caller).
 */
export class LeaseSet {
  private readonly options: LeaseSetOptions;
  /** Held leases: when they were last claimed (ms); each expires `durationMs` after. */
  private readonly held = new Map<string, number>();
  /** Leases wanted but held by another replica: not asked for again before this time. */
  private readonly refusedUntil = new Map<string, number>();
  /** When each lease was last wanted: held ones idle for a whole duration are given up. */
  private readonly lastWanted = new Map<string, number>();
  /** After a failed claim: no new claim before this time. */
  private retryAt = 0;
  /** What the last call of `keep` wanted: only those are asked for again. */
  private wantedLast = new Set<string>();

  constructor(options: LeaseSetOptions) {
    this.options = options;
  }

  /** A third of the duration: renewal period, and the margin no work starts within. */
  get thirdMs(): number {
    return Math.floor(this.options.durationMs / 3);
  }

  /**
   * A sixth of the duration: how long a lease another replica holds is left alone before it is asked
   * for again. A takeover after a crash then comes at most a sixth after the expiry (11.7 s after
   * the last renewal at the default 10 s), for one batched claim per sixth while this replica waits.
   */
  get retryMs(): number {
    return Math.floor(this.options.durationMs / 6);
  }

  /** Whether this replica holds `name` with more than the margin left: it may start work under it. */
  usable(name: string, now: number): boolean {
    const claimedAt = this.held.get(name);
    return claimedAt !== undefined && claimedAt + this.options.durationMs - now > this.thirdMs;
  }

  /** Names held now (some may be past their usable margin, not yet renewed). */
  names(): string[] {
    return [...this.held.keys()];
  }

  /**
   * Claims the `wanted` leases not held yet and renews the held ones still in use, in one store
   * call when anything needs it (else none).
   * @returns the leases this replica held and lost (another replica holds them now, or they expired
   * while the store could not be reached): work under them must stop.
   */
  async keep(wanted: Iterable<string>, now: number): Promise<string[]> {
    const wantedNow = new Set(wanted);
    this.wantedLast = wantedNow;
    for (const name of wantedNow) this.lastWanted.set(name, now);
    const lost = this.dropExpired(now);
    await this.releaseIdle(now);
    if (!this.claimDue(wantedNow, now)) return lost;
    const names = this.namesToClaim(wantedNow, now);
    let granted: Set<string>;
    try {
      granted = new Set(await this.options.store.claimLeases(names, this.options.owner, now, this.options.durationMs));
    } catch (error) {
      this.retryAt = now + Math.min(RETRY_AFTER_ERROR_MS, this.thirdMs);
      this.options.log.warn({ err: error, kind: this.options.kind }, 'could not claim or renew leases; work under them stops a third of their duration before they expire');
      return lost;
    }
    this.retryAt = 0;
    const acquired: string[] = [];
    for (const name of names) {
      if (granted.has(name)) {
        if (!this.held.has(name)) acquired.push(name);
        this.held.set(name, now);
        this.refusedUntil.delete(name);
      } else {
        if (this.held.delete(name)) lost.push(name);
        this.refusedUntil.set(name, now + this.retryMs);
      }
    }
    this.report(acquired, lost);
    return lost;
  }

  /** When `keep` next has something to do (a renewal, a retry of a refused or failed claim), or undefined. */
  nextDueAt(now: number): number | undefined {
    const times: number[] = [];
    for (const [name, claimedAt] of this.held) {
      times.push(this.inUse(name, now) ? claimedAt + this.thirdMs : (this.lastWanted.get(name) ?? 0) + this.options.durationMs);
    }
    for (const [name, until] of this.refusedUntil) if (this.wantedLast.has(name)) times.push(until);
    if (times.length === 0) return undefined;
    return Math.max(this.retryAt, Math.min(...times));
  }

  /**
   * Gives up held leases (all, or those named) so another replica may take them at once. The
   * caller makes sure no work under them is still under way.
   */
  async release(names?: readonly string[]): Promise<void> {
    const giving = names ?? [...this.held.keys()];
    if (giving.length === 0) return;
    await this.options.store.releaseLeases(this.options.owner, giving);
    for (const name of giving) {
      this.held.delete(name);
      this.lastWanted.delete(name);
    }
    this.options.metrics.leasesHeld.set({ kind: this.options.kind }, this.held.size);
  }

  /** Wanted within the last duration. */
  private inUse(name: string, now: number): boolean {
    return (this.lastWanted.get(name) ?? -Infinity) > now - this.options.durationMs;
  }

  private claimDue(wantedNow: ReadonlySet<string>, now: number): boolean {
    if (now < this.retryAt) return false;
    for (const [name, claimedAt] of this.held) if (this.inUse(name, now) && claimedAt + this.thirdMs <= now) return true;
    for (const name of wantedNow) if (!this.held.has(name) && (this.refusedUntil.get(name) ?? 0) <= now) return true;
    return false;
  }

  /** Held leases still in use, renewed together (one call), and the wanted ones not held, asked for. */
  private namesToClaim(wantedNow: ReadonlySet<string>, now: number): string[] {
    const names = [...this.held.keys()].filter((name) => this.inUse(name, now));
    for (const name of wantedNow) if (!this.held.has(name)) names.push(name);
    return names;
  }

  /** Forgets held leases past their expiry (renewals failed): another replica may hold them now. */
  private dropExpired(now: number): string[] {
    const lost: string[] = [];
    for (const [name, claimedAt] of this.held) {
      if (claimedAt + this.options.durationMs <= now) {
        this.held.delete(name);
        lost.push(name);
      }
    }
    if (lost.length > 0) this.report([], lost);
    return lost;
  }

  /** Releases held leases nobody wanted for a whole duration, and forgets what is no longer wanted. */
  private async releaseIdle(now: number): Promise<void> {
    const idle = [...this.held.keys()].filter((name) => !this.inUse(name, now));
    for (const [name, at] of this.lastWanted) {
      if (at <= now - this.options.durationMs && !this.held.has(name)) {
        this.lastWanted.delete(name);
        this.refusedUntil.delete(name);
      }
    }
    if (idle.length === 0) return;
    try {
      await this.release(idle);
    } catch (error) {
      // Not renewed, they expire on their own; nothing is lost but the time another replica waits.
      for (const name of idle) this.held.delete(name);
      this.options.metrics.leasesHeld.set({ kind: this.options.kind }, this.held.size);
      this.options.log.warn({ err: error, kind: this.options.kind }, 'could not release idle leases; they expire on their own');
    }
  }

  private report(acquired: string[], lost: string[]): void {
    const { metrics, log, kind } = this.options;
    metrics.leasesHeld.set({ kind }, this.held.size);
    if (acquired.length > 0) {
      metrics.leaseTakeovers.inc({ kind }, acquired.length);
      // One line per claim, not per lease: a storm's first pass may take hundreds of channels.
      log.info({ kind, leases: acquired.slice(0, 10), count: acquired.length, owner: this.options.owner }, 'took over leases');
    }
    if (lost.length > 0) log.warn({ kind, leases: lost.slice(0, 10), count: lost.length, owner: this.options.owner }, 'lost leases: another replica may hold them now');
  }
}
