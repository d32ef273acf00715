import { connect, type Socket } from 'node:net';

/*
 * The latency phases' load generator: HTTP/1.1 POSTs written as one buffer on keep-alive sockets,
 * one request at a time per socket, the answer read by its Content-Length. On this 2-core machine
 * the client's CPU is taken from Lookout's, and Alertmanager (a Go client) calls from another
 * machine: node:http costs the client ~100 µs of CPU a request (ClientRequest, header checks, a
 * response parser and stream per answer), this ~20 µs. It speaks only what Lookout answers (a
 * Content-Length body, no chunked encoding) and fails loudly on anything else.
 */

const HEADER_END = Buffer.from('\r\n\r\n');

export interface TimedAnswer {
  status: number;
  /** Milliseconds from writing the request to reading the whole answer. */
  ms: number;
}

interface Pending {
  started: number;
  resolve: (answer: TimedAnswer) => void;
  reject: (error: Error) => void;
}

/** One keep-alive connection: a request is written only when the previous answer was read. */
class Connection {
  readonly socket: Socket;
  private buffered: Buffer = Buffer.alloc(0);
  private pending: Pending | undefined;
  private ended = false;

  constructor(port: number, host: string, onFree: (connection: Connection) => void, onGone: (connection: Connection) => void) {
    this.socket = connect({ port, host, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => {
      this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
      let answer: { status: number; close: boolean } | undefined;
      try {
        answer = this.takeAnswer();
      } catch (error) {
        this.socket.destroy(error as Error);
        return;
      }
      if (answer === undefined) return;
      const pending = this.pending;
      this.pending = undefined;
      if (answer.close) this.close();
      else onFree(this);
      pending?.resolve({ status: answer.status, ms: performance.now() - (pending?.started ?? 0) });
    });
    // Once, whoever closed it: it leaves the pool, and a request still waiting fails.
    const gone = (error?: Error) => {
      if (this.ended) return;
      this.ended = true;
      onGone(this);
      const pending = this.pending;
      this.pending = undefined;
      pending?.reject(error ?? new Error('the server closed the connection before answering'));
    };
    this.socket.on('error', gone);
    this.socket.on('close', () => gone());
  }

  send(request: Buffer, pending: Pending): void {
    this.pending = pending;
    this.socket.write(request);
  }

  close(): void {
    this.socket.destroy();
  }

  /** The status of a complete answer in the buffer (removed from it), or undefined while it is incomplete. */
  private takeAnswer(): { status: number; close: boolean } | undefined {
    const headerEnd = this.buffered.indexOf(HEADER_END);
    if (headerEnd === -1) return undefined;
    const head = this.buffered.toString('latin1', 0, headerEnd);
    const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1]);
    if (/^transfer-encoding:/im.test(head)) throw new Error(`raw-http-client reads Content-Length answers only; got: ${head}`);
    const length = Number(/^content-length: *(\d+)/im.exec(head)?.[1] ?? 0);
    const end = headerEnd + HEADER_END.length + length;
    if (this.buffered.length < end) return undefined;
    if (!Number.isInteger(status)) throw new Error(`not an HTTP/1.1 answer: ${head}`);
    this.buffered = this.buffered.subarray(end);
    return { status, close: /^connection: *close/im.test(head) };
  }
}

/** POSTs to one server over a pool of keep-alive connections (as many as requests in flight). */
export class RawHttpClient {
  private readonly free: Connection[] = [];
  private readonly all = new Set<Connection>();
  private readonly host: string;
  private readonly port: number;

  constructor(url: string) {
    const { hostname, port, protocol } = new URL(url);
    if (protocol !== 'http:') throw new Error(`raw-http-client speaks plain HTTP only, not ${protocol}`);
    this.host = hostname;
    this.port = Number(port || 80);
  }

  /** The request's bytes, built once so a phase can send many without building each. */
  static request(url: string, headers: Readonly<Record<string, string>>, body: string): Buffer {
    const { pathname, search, host } = new URL(url);
    const bytes = Buffer.from(body);
    const lines = [`POST ${pathname}${search} HTTP/1.1`, `host: ${host}`, 'connection: keep-alive', ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`), `content-length: ${bytes.length}`];
    return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), bytes]);
  }

  /** Sends a request built by {@link RawHttpClient.request} and resolves with the answer's status and time. */
  send(request: Buffer): Promise<TimedAnswer> {
    return new Promise((resolve, reject) => {
      const connection =
        this.free.pop() ??
        new Connection(
          this.port,
          this.host,
          (free) => this.free.push(free),
          (gone) => {
            this.all.delete(gone);
            const at = this.free.indexOf(gone);
            if (at !== -1) this.free.splice(at, 1);
          },
        );
      this.all.add(connection);
      connection.send(request, { started: performance.now(), resolve, reject });
    });
  }

  close(): void {
    for (const connection of this.all) connection.close();
    this.all.clear();
    this.free.length = 0;
  }
}
