import { connect, type Socket } from 'node:net';

/** What came back on a raw connection: the status line's code (undefined if none) and all bytes. */
export interface RawHttpAnswer {
  status: number | undefined;
  text: string;
  /** True when the server closed the connection without writing anything. */
  closedSilently: boolean;
}

/**
 * Sends bytes exactly as given on a fresh TCP connection and reads until the server closes it
 * (or `timeoutMs`). For requests `fetch` refuses to send: odd request lines, oversized headers,
 * unknown methods, an absolute-form URL.
 */
export async function rawHttp(port: number, request: string | Buffer, timeoutMs = 5000): Promise<RawHttpAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms to ${JSON.stringify(String(request).slice(0, 60))}`));
    }, timeoutMs);
    socket.on('connect', () => socket.end(request));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined); // a reset is an answer too: see closedSilently
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: match ? Number(match[1]) : undefined, text, closedSilently: text === '' });
    });
  });
}

/** Opens `count` TCP connections that never send a byte; resolves when all are connected (or refused). */
export async function openIdleSockets(port: number, count: number): Promise<Socket[]> {
  const sockets: Socket[] = [];
  await Promise.all(
    Array.from({ length: count }, () =>
      new Promise<void>((resolve) => {
        const socket = connect(port, '127.0.0.1');
        sockets.push(socket);
        socket.resume(); // so a close by the server is seen ('end', then 'close')
        socket.on('error', () => resolve());
        socket.on('connect', () => resolve());
        socket.on('close', () => resolve());
      }),
    ),
  );
  return sockets;
}

/** Sockets of `openIdleSockets` the server has not closed yet. */
export function stillOpen(sockets: readonly Socket[]): number {
  return sockets.filter((socket) => !socket.destroyed && !socket.readableEnded && socket.readyState === 'open').length;
}
