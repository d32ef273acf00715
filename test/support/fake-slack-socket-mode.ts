import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

/*
 * Slack's Socket Mode, server side, for the fake Slack (fake-slack.ts): `apps.connections.open`
 * hands out a single-use WebSocket URL, and the socket speaks Slack's envelope protocol as its
 * documentation describes it (docs.slack.dev, "Using Socket Mode"):
 *
 * - on connect Slack sends `hello` with `num_connections`, `connection_info.app_id` and `debug_info`;
 * - requests come as envelopes `{ envelope_id, type, payload, accepts_response_payload }`, type
 *   `slash_commands`, `interactive` or `events_api` (which also has `retry_attempt`, `retry_reason`);
 * - the app acknowledges with `{ envelope_id, payload? }`; one Slack does not hear acknowledged
 *   within 3 s is sent again (`retry_attempt` + 1, `retry_reason: "timeout"`) to another open
 *   connection if there is one, up to 3 times, as Slack retries Events API deliveries;
 * - `disconnect` (reason `warning`, `refresh_requested`, `link_disabled`) asks the app to
 *   reconnect; Slack then closes the socket itself if the app does not (here after `closeAfterMs`).
 *
 * Each envelope goes to one connection, chosen round-robin, as Slack spreads them over an app's
 * connections. Where the documentation is vague the fake is the stricter reading: a URL from
 * `apps.connections.open` opens one connection, within 30 s, and retries happen for every type.
 */

export type EnvelopeType = 'slash_commands' | 'interactive' | 'events_api';
export type DisconnectReason = 'warning' | 'refresh_requested' | 'link_disabled';

/** An acknowledgement the app sent. */
export interface FakeSocketAck {
  readonly envelopeId: string;
  /** The ack's `payload` (a slash command's reply, a modal's errors), if any. */
  readonly payload: unknown;
  readonly connectionId: number;
  readonly at: number;
}

/** One envelope sent to the app (each retry and redelivery is another). */
export interface FakeSocketDelivery {
  readonly envelopeId: string;
  readonly type: EnvelopeType;
  readonly connectionId: number;
  readonly retryAttempt: number;
  readonly at: number;
}

export interface FakeSocketConnection {
  readonly id: number;
  readonly openedAt: number;
  /** Everything the app sent that was not an ack (should be nothing). */
  readonly unexpected: readonly string[];
}

export interface FakeSocketMode {
  /** A fresh single-use URL, as `apps.connections.open` returns it. */
  openUrl(): string;
  /** Connections open now, oldest first. */
  connections(): FakeSocketConnection[];
  /** Resolves when at least `count` connections are open (each one greeted with `hello`). */
  waitForConnections(count: number, timeoutMs?: number): Promise<void>;
  /** Connections opened since the start, closed ones included. */
  readonly connectionsOpened: number;
  /**
   * Sends an envelope to one connection (round-robin, or `connectionId`) and retries it after 3 s
   * while unacknowledged, unless `retry: false`. @returns its envelope_id.
   */
  send(type: EnvelopeType, payload: Record<string, unknown>, options?: { connectionId?: number; retry?: boolean }): string;
  /** Sends an envelope already sent once again, as a reconnect overlap does (same envelope_id). */
  redeliver(envelopeId: string, options?: { connectionId?: number }): void;
  /** Resolves with the first ack of the envelope. */
  ackOf(envelopeId: string, timeoutMs?: number): Promise<FakeSocketAck>;
  readonly acks: readonly FakeSocketAck[];
  readonly deliveries: readonly FakeSocketDelivery[];
  /** Sends `disconnect`; closes the socket `closeAfterMs` later if the app has not (default 1000; `warning`: 10 s). */
  disconnect(connectionId: number, reason: DisconnectReason, options?: { closeAfterMs?: number }): void;
  /** Drops the TCP connection without a close frame, as a network failure does. */
  drop(connectionId: number): void;
  close(): void;
}

const ACK_TIMEOUT_MS = 3000;
const MAX_RETRIES = 3;
const TICKET_TTL_MS = 30_000;

interface Envelope {
  envelopeId: string;
  type: EnvelopeType;
  payload: Record<string, unknown>;
  retryAttempt: number;
  retry: boolean;
  timer: NodeJS.Timeout | undefined;
}

/** Serves Socket Mode on `server` (WebSocket upgrades of /link/) for the app `appId`. */
export function createFakeSocketMode({ server, origin, appId, now }: { server: Server; origin: string; appId: string; now: () => number }): FakeSocketMode {
  const wss = new WebSocketServer({ noServer: true });
  const tickets = new Map<string, number>();
  const open = new Map<number, { socket: WebSocket; info: FakeSocketConnection & { unexpected: string[] } }>();
  const envelopes = new Map<string, Envelope>();
  const acks: FakeSocketAck[] = [];
  const deliveries: FakeSocketDelivery[] = [];
  const ackWaiters: Array<() => void> = [];
  const connectionWaiters: Array<() => void> = [];
  let nextConnectionId = 0;
  let roundRobin = 0;
  let connectionsOpened = 0;

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', origin);
    const ticket = url.searchParams.get('ticket') ?? '';
    const issuedAt = tickets.get(ticket);
    if (url.pathname !== '/link/' || issuedAt === undefined || now() - issuedAt > TICKET_TTL_MS) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    tickets.delete(ticket);
    wss.handleUpgrade(req, socket, head, (ws) => accept(ws));
  });

  function accept(socket: WebSocket): void {
    nextConnectionId += 1;
    connectionsOpened += 1;
    const id = nextConnectionId;
    const info = { id, openedAt: now(), unexpected: [] as string[] };
    open.set(id, { socket, info });
    socket.on('message', (data, isBinary) => onMessage(id, isBinary ? '(binary)' : data.toString()));
    socket.on('close', () => open.delete(id));
    socket.on('error', () => open.delete(id));
    socket.send(
      JSON.stringify({
        type: 'hello',
        num_connections: open.size,
        debug_info: { host: `applink-fake-${id}`, build_number: 1, approximate_connection_time: 18_060 },
        connection_info: { app_id: appId },
      }),
    );
    for (const wake of connectionWaiters.splice(0)) wake();
  }

  function onMessage(connectionId: number, text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      message = undefined;
    }
    const envelopeId = (message as { envelope_id?: unknown } | undefined)?.envelope_id;
    if (typeof envelopeId !== 'string' || !envelopes.has(envelopeId)) {
      open.get(connectionId)?.info.unexpected.push(text.slice(0, 500));
      return;
    }
    acks.push({ envelopeId, payload: (message as { payload?: unknown }).payload, connectionId, at: now() });
    clearTimeout(envelopes.get(envelopeId)?.timer);
    for (const wake of ackWaiters.splice(0)) wake();
  }

  /** The requested connection, else the next one round-robin, passing over `avoid` when another is open. */
  function pickConnection(requested: number | undefined, avoid?: number): { id: number; socket: WebSocket } {
    if (requested !== undefined) {
      const chosen = open.get(requested);
      if (chosen === undefined) throw new Error(`fake Slack: no open Socket Mode connection ${requested}`);
      return { id: requested, socket: chosen.socket };
    }
    const all = [...open.keys()];
    const ids = all.length > 1 ? all.filter((id) => id !== avoid) : all;
    if (ids.length === 0) throw new Error('fake Slack: no open Socket Mode connection to deliver to');
    const id = ids[roundRobin++ % ids.length]!;
    return { id, socket: open.get(id)!.socket };
  }

  function transmit(envelope: Envelope, connectionId?: number, avoid?: number): void {
    const target = pickConnection(connectionId, avoid);
    const retryFields = envelope.type === 'events_api' ? { retry_attempt: envelope.retryAttempt, retry_reason: envelope.retryAttempt > 0 ? 'timeout' : '' } : { retry_attempt: envelope.retryAttempt };
    target.socket.send(
      JSON.stringify({
        envelope_id: envelope.envelopeId,
        type: envelope.type,
        payload: envelope.payload,
        accepts_response_payload: envelope.type !== 'events_api',
        ...retryFields,
      }),
    );
    deliveries.push({ envelopeId: envelope.envelopeId, type: envelope.type, connectionId: target.id, retryAttempt: envelope.retryAttempt, at: now() });
    if (!envelope.retry) return;
    clearTimeout(envelope.timer);
    envelope.timer = setTimeout(() => {
      if (acks.some((ack) => ack.envelopeId === envelope.envelopeId) || envelope.retryAttempt >= MAX_RETRIES || open.size === 0) return;
      envelope.retryAttempt += 1;
      // Another connection, when there is one: the first did not answer.
      transmit(envelope, undefined, target.id);
    }, ACK_TIMEOUT_MS);
  }

  return {
    openUrl() {
      const ticket = randomBytes(16).toString('hex');
      tickets.set(ticket, now());
      return `${origin.replace(/^http/, 'ws')}/link/?ticket=${ticket}&app_id=${appId}`;
    },
    connections: () => [...open.values()].map(({ info }) => structuredClone(info)),
    get connectionsOpened() {
      return connectionsOpened;
    },
    async waitForConnections(count, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (open.size < count) {
        if (Date.now() > deadline) throw new Error(`fake Slack: ${open.size} Socket Mode connection(s) open, waited ${timeoutMs} ms for ${count}`);
        await new Promise<void>((resolve) => {
          connectionWaiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
    },
    send(type, payload, options = {}) {
      const envelope: Envelope = { envelopeId: randomUUID(), type, payload, retryAttempt: 0, retry: options.retry ?? true, timer: undefined };
      envelopes.set(envelope.envelopeId, envelope);
      transmit(envelope, options.connectionId);
      return envelope.envelopeId;
    },
    redeliver(envelopeId, options = {}) {
      const envelope = envelopes.get(envelopeId);
      if (envelope === undefined) throw new Error(`fake Slack: no envelope ${envelopeId}`);
      transmit({ ...envelope, retry: false, timer: undefined }, options.connectionId);
    },
    async ackOf(envelopeId, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const ack = acks.find((candidate) => candidate.envelopeId === envelopeId);
        if (ack !== undefined) return ack;
        if (Date.now() > deadline) throw new Error(`fake Slack: envelope ${envelopeId} not acknowledged within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          ackWaiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
    },
    acks,
    deliveries,
    disconnect(connectionId, reason, options = {}) {
      const target = open.get(connectionId);
      if (target === undefined) throw new Error(`fake Slack: no open Socket Mode connection ${connectionId}`);
      target.socket.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: `applink-fake-${connectionId}` } }));
      setTimeout(() => target.socket.close(1000), options.closeAfterMs ?? (reason === 'warning' ? 10_000 : 1000)).unref();
    },
    drop(connectionId) {
      const target = open.get(connectionId);
      if (target === undefined) throw new Error(`fake Slack: no open Socket Mode connection ${connectionId}`);
      target.socket.terminate();
      open.delete(connectionId);
    },
    close() {
      for (const envelope of envelopes.values()) clearTimeout(envelope.timer);
      for (const { socket } of open.values()) socket.terminate();
      open.clear();
      wss.close();
    },
  };
}
