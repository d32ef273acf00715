import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SocketModeConnection, type SocketClient } from '../../../src/slack/socket-mode-connection.ts';
import { recordingLogger } from '../../helpers/fakes.ts';

/**
 * A stand-in for @slack/socket-mode's client with its event contract: start() emits
 * `connected` and resolves at Slack's hello, or emits `disconnected` and rejects; a connection
 * that closes emits `disconnected`. Each start() is answered by the next scripted outcome.
 */
class ScriptedClient extends EventEmitter implements SocketClient {
  readonly outcomes: Array<'ok' | Error> = [];
  starts = 0;

  async start(): Promise<unknown> {
    this.starts += 1;
    const outcome = this.outcomes.shift() ?? 'ok';
    await Promise.resolve();
    if (outcome === 'ok') {
      this.emit('connected');
      return {};
    }
    this.emit('disconnected');
    throw outcome;
  }

  async disconnect(): Promise<void> {
    this.emit('disconnected');
  }

  /** Slack closed the socket (a refresh, a dropped connection). */
  close(): void {
    this.emit('disconnected');
  }
}

const slackError = (code: string) => Object.assign(new Error(`An API error occurred: ${code}`), { data: { ok: false, error: code } });

describe('SocketModeConnection', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  const setup = () => {
    const client = new ScriptedClient();
    const gauge: number[] = [];
    const { log, lines } = recordingLogger();
    const connection = new SocketModeConnection({ client, log, connectedGauge: { set: (value) => void gauge.push(value) }, now: () => Date.now() });
    return { client, gauge, lines, connection };
  };

  it('is not ready before the first connection, then ready', async () => {
    const { client, connection, gauge } = setup();
    client.outcomes.push(slackError('invalid_auth'));
    connection.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(connection.problem()).toBe('slack: Socket Mode not connected yet (last attempt: invalid_auth)');
    await vi.advanceTimersByTimeAsync(1000);
    expect(client.starts).toBe(2);
    expect(connection.problem()).toBeUndefined();
    expect(gauge.at(-1)).toBe(1);
  });

  it('reconnects at once after a connection closes, and stays ready within the grace', async () => {
    const { client, connection } = setup();
    connection.start();
    await vi.advanceTimersByTimeAsync(0);
    client.outcomes.push(slackError('ratelimited'), slackError('ratelimited'), slackError('ratelimited'), slackError('ratelimited'));
    client.close();
    await vi.advanceTimersByTimeAsync(0);
    expect(client.starts).toBe(2);
    // Failed attempts are retried after 1 s, 2 s, 4 s…
    await vi.advanceTimersByTimeAsync(1000);
    expect(client.starts).toBe(3);
    await vi.advanceTimersByTimeAsync(2000);
    expect(client.starts).toBe(4);
    expect(connection.problem()).toBeUndefined();
    await vi.advanceTimersByTimeAsync(4000);
    expect(client.starts).toBe(5);
    // Down 7 s: still within the 10 s grace; at 11 s, not.
    expect(connection.problem()).toBeUndefined();
    await vi.advanceTimersByTimeAsync(4000);
    expect(connection.problem()).toBe('slack: Socket Mode disconnected for 11 s (last attempt: ratelimited)');
    await vi.advanceTimersByTimeAsync(4000);
    expect(client.starts).toBe(6);
    expect(connection.problem()).toBeUndefined();
  });

  it('waits at most 30 s between attempts, and never logs an error message (it could quote a URL)', async () => {
    const { client, connection, lines } = setup();
    for (let i = 0; i < 10; i++) client.outcomes.push(new Error('connect ECONNREFUSED wss://example/link/?ticket=secret-ticket'));
    connection.start();
    await vi.advanceTimersByTimeAsync(0);
    // 1 + 2 + 4 + 8 + 16 + 30 + 30 s: seven retries in 91 s.
    await vi.advanceTimersByTimeAsync(91_000);
    expect(client.starts).toBe(8);
    expect(JSON.stringify(lines())).not.toContain('secret-ticket');
    expect(connection.problem()).toBe('slack: Socket Mode not connected yet (last attempt: Error)');
  });

  it('stops: no reconnecting, no problem reported', async () => {
    const { client, connection } = setup();
    connection.start();
    await vi.advanceTimersByTimeAsync(0);
    await connection.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(client.starts).toBe(1);
    expect(connection.problem()).toBeUndefined();
  });
});
