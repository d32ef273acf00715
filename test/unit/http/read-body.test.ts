import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BodyTooLarge, readBody } from '../../../src/http/read-body.ts';

/** A loopback server whose requests are read by readBody; each outcome is handed to the test. */
async function serve(limit: number): Promise<{ server: Server; outcomes: Array<Promise<Buffer>>; url: () => string; requests: IncomingMessage[] }> {
  const outcomes: Array<Promise<Buffer>> = [];
  const requests: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    requests.push(req);
    const outcome = readBody(req, limit);
    outcomes.push(outcome);
    outcome.then(
      (body) => res.end(`read ${body.length}`),
      (error: Error) => res.writeHead(error instanceof BodyTooLarge ? 413 : 400, { connection: 'close' }).end(error.message),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, outcomes, requests, url: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

/** Sends the chunks one by one (chunked encoding unless a length is given); resolves with the status, or the socket error. */
function send(url: string, chunks: string[], options: { contentLength?: number } = {}): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', headers: options.contentLength === undefined ? {} : { 'content-length': options.contentLength } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', (error) => resolve(error.message));
    chunks.forEach((chunk, i) => setTimeout(() => {
      req.write(chunk);
      if (i === chunks.length - 1) req.end();
    }, 5 * i));
  });
}

let current: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (current ? current.close(() => resolve()) : resolve())));

describe('readBody', () => {
  it('reads a body sent in several chunks, byte for byte', async () => {
    const s = await serve(100);
    current = s.server;
    const status = await send(s.url(), ['{"a":', '"é"', '}']);
    expect(status).toBe(200);
    expect((await s.outcomes[0]!).toString('utf8')).toBe('{"a":"é"}');
  });

  it('refuses a declared Content-Length over the limit without reading the body', async () => {
    const s = await serve(10);
    current = s.server;
    const status = await send(s.url(), ['x'.repeat(11)], { contentLength: 11 });
    expect(status).toBe(413);
    await expect(s.outcomes[0]).rejects.toBeInstanceOf(BodyTooLarge);
    // Refused before reading: readBody never listened for the body.
    expect(s.requests[0]!.listenerCount('data')).toBe(0);
  });

  it('stops reading a chunked body once it passes the limit, and destroys the request', async () => {
    const s = await serve(10);
    current = s.server;
    const status = await send(s.url(), ['12345', '67890', 'abcde', 'fghij']);
    await expect(s.outcomes[0]).rejects.toThrow('request body is larger than 10 bytes');
    expect(s.requests[0]!.destroyed).toBe(true);
    // The answer may or may not reach the client before its socket is gone; the server never reads past the limit.
    expect([413, 'socket hang up', 'write EPIPE', 'read ECONNRESET', 'write ECONNRESET']).toContain(status);
  });

  it('rejects, without BodyTooLarge and without an unhandled error, when the client goes away mid-body', async () => {
    const s = await serve(1000);
    current = s.server;
    const req = request(s.url(), { method: 'POST', headers: { 'content-length': 100 } });
    req.on('error', () => {});
    req.write('12345');
    while (s.outcomes.length === 0) await new Promise((r) => setTimeout(r, 5));
    req.destroy();
    const outcome = await s.outcomes[0]!.then(() => 'read', (error: Error) => error);
    expect(outcome).toBeInstanceOf(Error);
    expect(outcome).not.toBeInstanceOf(BodyTooLarge);
  });
});
