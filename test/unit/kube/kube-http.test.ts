import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TlsCredentials, fixedMaterial } from '../../../src/kube/kube-credentials.ts';
import { KubeApiError, KubeHttp } from '../../../src/kube/kube-http.ts';

/** The values of every line of one header, as sent (Node's rawHeaders keeps lines apart). */
function headerLines(req: IncomingMessage, name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === name) values.push(req.rawHeaders[i + 1]!);
  return values;
}

/** A stand-in API server on loopback that records each request's raw header lines. */
describe('KubeHttp', () => {
  let server: Server;
  let seen: IncomingMessage[];
  let answer: (req: IncomingMessage, res: ServerResponse) => void;
  let url: string;

  beforeEach(async () => {
    seen = [];
    answer = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    server = createServer((req, res) => {
      seen.push(req);
      answer(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  function client(options?: { timeoutMs?: number }): KubeHttp {
    const credentials = new TlsCredentials({ server: new URL(url), token: fixedMaterial(Buffer.from('bot-token')) });
    return new KubeHttp(credentials, options);
  }

  it('sends each impersonated group as its own header line', async () => {
    await client().request({ method: 'GET', path: '/api/v1/namespaces/shop/pods', impersonate: { username: 'slack:alice', groups: ['slack:sre', 'slack:oncall'] } });
    expect(headerLines(seen[0]!, 'impersonate-user')).toEqual(['slack:alice']);
    expect(headerLines(seen[0]!, 'impersonate-group')).toEqual(['slack:sre', 'slack:oncall']);
  });

  it('refuses an impersonation without a username instead of sending the request as the bot', async () => {
    // Without Impersonate-User the API server would run the request as Lookout itself.
    await expect(client().request({ method: 'PATCH', path: '/apis/apps/v1/namespaces/shop/deployments/cart', body: {}, impersonate: { username: '', groups: [] } })).rejects.toThrow(
      /impersonat/,
    );
    expect(seen).toHaveLength(0);
  });

  it('gives up on an API server that never answers, when the caller set no deadline', async () => {
    answer = () => undefined; // holds the request open
    const failure = await client({ timeoutMs: 50 })
      .request({ method: 'POST', path: '/apis/authorization.k8s.io/v1/subjectaccessreviews', body: {} })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Error);
    // Node's http module reports the aborted request as an AbortError.
    expect((failure as Error).name).toBe('AbortError');
  });

  it('keeps the API server message out of the error text', async () => {
    answer = (_req, res) => res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', reason: 'Forbidden', message: 'secret detail' }));
    const failure = await client()
      .request({ method: 'GET', path: '/api/v1/secrets' })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(KubeApiError);
    expect((failure as KubeApiError).reason).toBe('Forbidden');
    expect((failure as KubeApiError).serverMessage).toBe('secret detail');
    expect((failure as Error).message).not.toContain('secret detail');
  });
});
