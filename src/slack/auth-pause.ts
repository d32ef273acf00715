import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';

/** How long between "still paused" error lines: loud, but not a line per probe. */
const REPEAT_LOG_MS = 5 * 60_000;

/**
 * While Slack refuses the bot token (invalid_auth, token_revoked, account_inactive…) nothing can
 * be delivered, and retrying each delivery would only end in give-ups. Instead every delivery
 * waits; auth.test probes the token with a growing interval, and deliveries resume by
 * themselves once Slack accepts it again (a rotated token put back, the app reinstalled).
 */
export class AuthPause {
  private reason: string | undefined;
  private since = 0;
  private probeDelayMs = 0;
  private nextProbeAt = 0;
  private lastLoggedAt = 0;
  private probing = false;
  private readonly log: Logger;
  private readonly metrics: Metrics;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(options: { log: Logger; metrics: Metrics; initialDelayMs: number; maxDelayMs: number }) {
    this.log = options.log;
    this.metrics = options.metrics;
    this.initialDelayMs = options.initialDelayMs;
    this.maxDelayMs = options.maxDelayMs;
  }

  get paused(): boolean {
    return this.reason !== undefined;
  }

  /** Slack refused the token with `reason`. */
  pause(reason: string, now: number): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.since = now;
    this.lastLoggedAt = now;
    this.probeDelayMs = this.initialDelayMs;
    this.nextProbeAt = now + this.probeDelayMs;
    this.metrics.slackDeliveriesPaused.set({ reason }, 1);
    this.log.error(
      { reason },
      'Slack refused the bot token: every Slack delivery is paused (nothing is dropped). Check SLACK_BOT_TOKEN (rotated or revoked?) or reinstall the app; deliveries resume by themselves once Slack accepts the token',
    );
  }

  /** Whether a probe is due now; the caller then runs one and reports with probed(). */
  probeDue(now: number): boolean {
    return this.reason !== undefined && !this.probing && now >= this.nextProbeAt;
  }

  probeStarted(): void {
    this.probing = true;
  }

  /** The outcome of auth.test: `undefined` = accepted, else the reason it failed. */
  probed(failure: string | undefined, now: number): void {
    this.probing = false;
    if (this.reason === undefined) return;
    if (failure === undefined) {
      this.log.info({ reason: this.reason, pausedForMs: now - this.since }, 'Slack accepts the bot token again: deliveries resume');
      this.metrics.slackDeliveriesPaused.set({ reason: this.reason }, 0);
      this.reason = undefined;
      return;
    }
    this.probeDelayMs = Math.min(this.maxDelayMs, this.probeDelayMs * 2);
    this.nextProbeAt = now + this.probeDelayMs;
    if (now - this.lastLoggedAt >= REPEAT_LOG_MS) {
      this.lastLoggedAt = now;
      this.log.error({ reason: this.reason, probe: failure, pausedForMs: now - this.since }, 'Slack deliveries are still paused: Slack refuses the bot token');
    }
  }

  /** When the next probe is due, or null while not paused (or a probe is running). */
  wakeAt(): number | null {
    return this.reason === undefined || this.probing ? null : this.nextProbeAt;
  }

  /** For /readyz. */
  problem(): string | undefined {
    if (this.reason === undefined) return undefined;
    return `slack: deliveries paused since ${new Date(this.since).toISOString()}: Slack refuses the bot token (${this.reason})`;
  }
}
