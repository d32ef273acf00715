import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { postToResponseUrl } from '../../../src/slack/post-response-url.ts';

/* A real HTTP server on loopback stands for Slack's response_url endpoint. */
describe('postToResponseUrl', () => {
  let server: Server | undefined;

  afterEach(async () => {
    const open = server;
    server = undefined;
    if (open === undefined) return;
    open.closeAllConnections();
    await new Promise((resolve) => open.close(resolve));
  });

  async function serve(handler: (req: IncomingMessage, body: string, res: ServerResponse) => void): Promise<string> {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => handler(req, body, res));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/actions/T1/123/secret-part`;
  }

  it('POSTs the reply as JSON, and several replies reuse one connection', async () => {
    const received: Array<{ method: string | undefined; type: string | undefined; body: unknown; socket: unknown }> = [];
    const url = await serve((req, body, res) => {
      received.push({ method: req.method, type: req.headers['content-type'], body: JSON.parse(body), socket: req.socket });
      res.end('ok');
    });
    await postToResponseUrl(url, { response_type: 'ephemeral', text: 'first' }, 1000);
    await postToResponseUrl(url, { response_type: 'ephemeral', text: 'second ü' }, 1000);
    expect(received.map(({ method, type, body }) => ({ method, type, body }))).toEqual([
      { method: 'POST', type: 'application/json; charset=utf-8', body: { response_type: 'ephemeral', text: 'first' } },
      { method: 'POST', type: 'application/json; charset=utf-8', body: { response_type: 'ephemeral', text: 'second ü' } },
    ]);
    expect(received[1]!.socket).toBe(received[0]!.socket);
  });

  it('rejects on a non-2xx answer without naming the URL (it is a capability)', async () => {
    const url = await serve((_req, _body, res) => res.writeHead(404).end('expired_url'));
    const failure = postToResponseUrl(url, { text: 'late' }, 1000);
    await expect(failure).rejects.toThrow('response_url answered HTTP 404');
    await expect(failure).rejects.not.toThrow(/secret-part/);
  });

  it('rejects when nothing answers within the timeout, and when nothing listens', async () => {
    const url = await serve(() => undefined);
    const started = Date.now();
    await expect(postToResponseUrl(url, { text: 'hanging' }, 200)).rejects.toThrow(/^response_url did not answer within 200 ms$/);
    expect(Date.now() - started).toBeLessThan(2000);
    await expect(postToResponseUrl('http://127.0.0.1:1/actions/x', { text: 'refused' }, 1000)).rejects.toThrow(/could not be reached: .*ECONNREFUSED/);
  });

  it('refuses a URL that is not http(s)', async () => {
    await expect(postToResponseUrl('file:///etc/passwd', { text: 'x' }, 1000)).rejects.toThrow('not an http(s) URL');
    await expect(postToResponseUrl('not a url', { text: 'x' }, 1000)).rejects.toThrow('not an http(s) URL');
  });
});
