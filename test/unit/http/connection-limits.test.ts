import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultMaxConnections, limitConnections, parseOpenFileLimit } from '../../../src/http/connection-limits.ts';
import { freshMetrics, metricValue, recordingLogger } from '../../helpers/fakes.ts';

describe('parseOpenFileLimit and defaultMaxConnections', () => {
  const limits = (soft: string) =>
    `Limit                     Soft Limit           Hard Limit           Units     \nMax cpu time              unlimited            unlimited            seconds   \nMax open files            ${soft}                 1048576              files     \n`;

  it('reads the soft limit from /proc/self/limits', () => {
    expect(parseOpenFileLimit(limits('1024'))).toBe(1024);
    expect(parseOpenFileLimit(limits('unlimited'))).toBeUndefined();
    expect(parseOpenFileLimit('nothing here')).toBeUndefined();
  });

  it('keeps a reserve of open files below the limit', () => {
    expect(defaultMaxConnections(1024)).toBe(896);
    expect(defaultMaxConnections(2048)).toBe(1920);
    // A container's usual 1,048,576 would let idle sockets use up memory first.
    expect(defaultMaxConnections(1_048_576)).toBe(4096);
    expect(defaultMaxConnections(undefined)).toBe(896);
    expect(defaultMaxConnections(200)).toBe(100);
    expect(defaultMaxConnections(4)).toBe(8);
  });
});

/** A loopback server with a cap of 3; the handler holds requests to /hold until released. */
describe('limitConnections', () => {
  let server: Server;
  let port: number;
  const held: Array<() => void> = [];
  const sockets: Socket[] = [];
  let metrics = freshMetrics();

  async function start(maxConnections: number): Promise<void> {
    metrics = freshMetrics();
    server = createServer((req, res) => {
      if (req.url === '/hold') held.push(() => res.end('released'));
      else res.end('ok');
    });
    // No timer can fire during a test: the first-request timeout is an hour.
    limitConnections(server, { maxConnections, firstRequestTimeoutMs: 3_600_000, log: recordingLogger().log, metrics });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  }
  afterEach(async () => {
    for (const release of held.splice(0)) release();
    for (const socket of sockets.splice(0)) socket.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** Connects and resolves once the server has seen the connection (its first byte of answer or a close tells). */
  const open = async (request?: string): Promise<{ socket: Socket; closed: Promise<void>; data: Promise<string> }> => {
    const socket = connect(port, '127.0.0.1');
    sockets.push(socket);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const data = new Promise<string>((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString())));
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    if (request !== undefined) socket.write(request);
    return { socket, closed, data };
  };
  const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;
  /** The server has counted `n` open connections (the gauge follows each 'connection' and 'close'). */
  const until = async (check: () => Promise<boolean>) => {
    while (!(await check())) await new Promise((resolve) => setImmediate(resolve));
  };
  const openCount = () => metricValue(metrics, 'lookout_http_connections');

  it('over the cap, closes the connection idle longest, not the new one', async () => {
    await start(3);
    const first = await open();
    await until(async () => (await openCount()) === 1);
    await open();
    await open();
    await until(async () => (await openCount()) === 3);

    const fourth = await open(get('/'));
    await first.closed; // evicted: the oldest that never sent a request
    expect(await fourth.data).toMatch(/^HTTP\/1\.1 200/);
    expect(await metricValue(metrics, 'lookout_http_connections_closed_total', { reason: 'evicted_idle' })).toBe(1);
  });

  it('never evicts a connection with a request in flight; refuses the new one when all are busy', async () => {
    await start(2);
    const a = await open(get('/hold'));
    const b = await open(get('/hold'));
    await until(async () => held.length === 2);

    const c = await open(get('/'));
    await c.closed;
    expect(await metricValue(metrics, 'lookout_http_connections_closed_total', { reason: 'refused' })).toBe(1);
    for (const release of held.splice(0)) release();
    expect(await a.data).toMatch(/released$/);
    expect(await b.data).toMatch(/released$/);
  });

  it('a keep-alive connection waiting for its next request is evictable again', async () => {
    await start(2);
    const keepAlive = await open(get('/'));
    expect(await keepAlive.data).toMatch(/^HTTP\/1\.1 200/);
    const busy = await open(get('/hold'));
    await until(async () => held.length === 1);

    const next = await open(get('/'));
    await keepAlive.closed;
    expect(await next.data).toMatch(/^HTTP\/1\.1 200/);
    for (const release of held.splice(0)) release();
    expect(await busy.data).toMatch(/released$/);
  });
});
