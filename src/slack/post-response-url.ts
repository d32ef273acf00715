import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/*
 * POST to a Slack response_url (the replies of slash commands and clicks). node:http(s) with
 * keep-alive rather than fetch: undici's fetch costs 270-320 µs of CPU a request against ~100 µs,
 * and these posts run on the event loop that acknowledges every other command (issue 11: with
 * Bolt's fetch-based respond, replies were the largest cost of the slash phase at 8 in flight).
 */

const agents: Record<string, HttpAgent> = {
  'http:': new HttpAgent({ keepAlive: true }),
  'https:': new HttpsAgent({ keepAlive: true }),
};

/**
 * Sends `body` as JSON and resolves once Slack answered 2xx; rejects on any other status, a
 * network error or no answer within `timeoutMs`. The URL is a capability (anyone holding it can
 * post as the app), so no error names it.
 */
export function postToResponseUrl(url: string, body: Record<string, unknown>, timeoutMs: number): Promise<void> {
  const target = URL.parse(url);
  const agent = target === null ? undefined : agents[target.protocol];
  if (target === null || agent === undefined) return Promise.reject(new Error('the response_url is not an http(s) URL'));
  const text = JSON.stringify(body);
  const options: RequestOptions = {
    method: 'POST',
    agent,
    headers: { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) },
  };
  return new Promise((resolve, reject) => {
    const answered = (res: IncomingMessage): void => {
      res.resume();
      res.on('error', reject);
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve();
        else reject(new Error(`response_url answered HTTP ${status}`));
      });
    };
    const req: ClientRequest = target.protocol === 'https:' ? httpsRequest(target, options, answered) : httpRequest(target, options, answered);
    const timedOut = new Error(`response_url did not answer within ${timeoutMs} ms`);
    req.setTimeout(timeoutMs, () => req.destroy(timedOut));
    req.on('error', (error) => reject(error === timedOut ? timedOut : new Error(`response_url could not be reached: ${error.message}`)));
    req.end(text);
  });
}
