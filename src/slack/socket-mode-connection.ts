import type { Logger } from '../log.ts';

/** The part of @slack/socket-mode's SocketModeClient this uses (Bolt's SocketModeReceiver.client). */
export interface SocketClient {
  /** apps.connections.open, then the WebSocket; resolves at Slack's `hello`, rejects if it fails first. */
  start(): Promise<unknown>;
  disconnect(): Promise<void>;
  on(event: 'connected' | 'disconnected', listener: () => void): unknown;
}

export interface SocketModeConnectionOptions {
  /** Built with autoReconnectEnabled: false: reconnecting is this class's job. */
  client: SocketClient;
  log: Logger;
  /** Set to 1 while connected. */
  connectedGauge: { set(value: number): void };
  now?: () => number;
  /** How long a connection that worked may be down before /readyz says so. */
  reconnectGraceMs?: number;
  /** Waits between failed attempts: doubling from the first to the last. */
  retryMs?: { first: number; max: number };
}

/** A refresh (Slack's `disconnect`, or a dropped socket) is reconnected at once and takes well under a second. */
export const DEFAULT_RECONNECT_GRACE_MS = 10_000;

/**
 * Keeps Lookout's Socket Mode connection to Slack up, and says when it is not.
 *
 * Slack replaces connections every few hours (a `disconnect` message, reason
 * `refresh_requested`, or `warning` shortly before), and a socket can drop. Bolt's client
 * reconnects only 5 s after a close, and gives up for good when apps.connections.open fails with a
 * network or HTTP error (in a promise nobody handles); so Lookout turns the client's own
 * reconnecting off and does it here: at once after a connection that worked closes, then with a
 * doubling wait (1 s … 30 s) for as long as attempts fail, forever, a bad token included (fixing
 * the Secret must not need a restart).
 *
 * Readiness: not ready until the first connection is up, then not ready once a connection has
 * been down for longer than `reconnectGraceMs`, so a routine refresh does not flap /readyz.
 */
export class SocketModeConnection {
  private readonly options: Required<SocketModeConnectionOptions>;
  private connected = false;
  private everConnected = false;
  private connecting = false;
  private stopped = true;
  /** When the connection was last lost (or start() was called); undefined while connected. */
  private downSince: number | undefined;
  private lastError: string | undefined;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(options: SocketModeConnectionOptions) {
    this.options = { now: Date.now, reconnectGraceMs: DEFAULT_RECONNECT_GRACE_MS, retryMs: { first: 1000, max: 30_000 }, ...options };
    const { client, log, connectedGauge } = this.options;
    client.on('connected', () => {
      this.connected = true;
      this.everConnected = true;
      this.downSince = undefined;
      this.lastError = undefined;
      this.failures = 0;
      connectedGauge.set(1);
      log.info('connected to Slack (Socket Mode)');
    });
    client.on('disconnected', () => {
      const wasConnected = this.connected;
      this.connected = false;
      connectedGauge.set(0);
      if (this.stopped) return;
      this.downSince ??= this.options.now();
      // A failed attempt also ends here, before its start() rejects: that rejection schedules the retry.
      if (wasConnected && !this.connecting) {
        log.info('the Socket Mode connection closed; reconnecting');
        this.connect();
      }
    });
  }

  /** Connects in the background; failures are logged and retried, never thrown. */
  start(): void {
    this.stopped = false;
    this.downSince = this.options.now();
    this.connect();
  }

  /** Closes the connection; waits for Slack's side of the close handshake at most `waitMs`. */
  async stop(waitMs = 2000): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([this.options.client.disconnect(), new Promise((resolve) => (timeout = setTimeout(resolve, waitMs)))]);
    clearTimeout(timeout);
  }

  /** For /readyz: why Lookout cannot hear Slack now, or undefined. */
  problem(): string | undefined {
    if (this.connected || this.stopped || this.downSince === undefined) return undefined;
    const downMs = this.options.now() - this.downSince;
    if (this.everConnected && downMs <= this.options.reconnectGraceMs) return undefined;
    const since = this.everConnected ? `disconnected for ${Math.round(downMs / 1000)} s` : 'not connected yet';
    return `slack: Socket Mode ${since}${this.lastError ? ` (last attempt: ${this.lastError})` : ''}`;
  }

  private connect(): void {
    if (this.stopped || this.connecting) return;
    this.connecting = true;
    this.options.client.start().then(
      () => {
        this.connecting = false;
      },
      (error: unknown) => {
        this.connecting = false;
        this.failures += 1;
        this.lastError = describe(error);
        const waitMs = Math.min(this.options.retryMs.max, this.options.retryMs.first * 2 ** (this.failures - 1));
        this.options.log.warn({ reason: this.lastError, failures: this.failures, retryInMs: waitMs }, 'could not connect to Slack (Socket Mode); trying again');
        if (this.stopped) return;
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.connect(), waitMs);
        this.timer.unref();
      },
    );
  }
}

/**
 * Slack's error code (invalid_auth, not_allowed_token_type…) or the error's code or class:
 * never a message, which could quote a URL carrying the connection's ticket.
 */
function describe(error: unknown): string {
  const data = (error as { data?: { error?: unknown } } | undefined)?.data;
  if (typeof data?.error === 'string') return data.error;
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.name : 'unknown error';
}
