import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FakeSlack, FakeSlackMessage } from '../support/fake-slack.ts';
import { waitFor } from '../support/free-port.ts';
import { startLookout, type LookoutProcess } from '../support/lookout-process.ts';
import { startLookoutTestBed, type LookoutTestBed } from '../support/lookout-test-bed.ts';

const WEBHOOK_TOKEN = 'integration-webhook-token-0123';
const CHANNEL = 'C0ALERTS';
const BUDGET_MS = 1500;
/** Generous: the assertion is that the alert is not held for Loki, not how fast this machine is. */
const POSTED_WITHIN_MS = BUDGET_MS + 3000;
const LOG_LINE = 'ERROR payment declined: upstream-gateway-unreachable';

/** A stand-in for Loki's HTTP API: answers every query with one stream after `delayMs`, or never. */
interface LokiStub {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

async function startLokiStub(delayMs: number | 'never'): Promise<LokiStub> {
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests.push(req.url ?? '');
    if (delayMs === 'never') return; // hangs: the connection stays open, no answer ever comes
    const timer = setTimeout(() => {
      timers.delete(timer);
      const now = BigInt(Date.now()) * 1_000_000n;
      const filtered = (new URL(req.url ?? '/', 'http://loki').searchParams.get('query') ?? '').includes('|~');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          status: 'success',
          data: {
            resultType: 'streams',
            result: [
              {
                stream: { namespace: 'shop', pod: 'api-1', container: 'app' },
                // Newest first, as Loki answers direction=backward; a line filter (|~) keeps only the error.
                values: filtered
                  ? [[String(now - 30_000_000_000n), LOG_LINE]]
                  : [
                      [String(now - 20_000_000_000n), 'INFO retrying in 5s'],
                      [String(now - 30_000_000_000n), LOG_LINE],
                    ],
              },
            ],
            stats: {},
          },
        }),
      );
    }, delayMs);
    timers.add(timer);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    async close() {
      for (const timer of timers) clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The time budget end to end: Lookout as a real process, Loki as an HTTP stub that is slow or
 * hangs, the fake Slack. No Kubernetes: the alert's labels name namespace, pod and container,
 * which is all the logs source needs.
 */
describe('enrichment time budget (Lookout process, stub Loki, fake Slack)', () => {
  let bed: LookoutTestBed;
  let slack: FakeSlack;
  let loki: LokiStub | undefined;
  let lookout: LookoutProcess | undefined;
  let env: Record<string, string>;

  beforeEach(async () => {
    bed = await startLookoutTestBed({
      // Loki's own request timeout is set above the pipeline's deadline: the pipeline must cut it off itself.
      config: `enrichment:\n  budgetMs: ${BUDGET_MS}\n  timeoutMs: 6000\n  loki:\n    requestTimeoutMs: 30000\n`,
      webhookToken: WEBHOOK_TOKEN,
      channel: CHANNEL,
    });
    ({ slack, env } = bed);
  });

  afterEach(async () => {
    await lookout?.stop();
    lookout = undefined;
    await loki?.close();
    loki = undefined;
    await bed.close();
  });

  async function sendAlert(name: string): Promise<number> {
    const body = JSON.stringify({
      version: '4',
      groupKey: `{}:{alertname="${name}"}`,
      status: 'firing',
      receiver: 'lookout',
      groupLabels: { alertname: name },
      commonLabels: { alertname: name, namespace: 'shop', pod: 'api-1', container: 'app' },
      commonAnnotations: { summary: 'Payments are failing' },
      externalURL: 'http://alertmanager.invalid',
      alerts: [
        {
          status: 'firing',
          labels: { alertname: name, namespace: 'shop', pod: 'api-1', container: 'app' },
          annotations: { summary: 'Payments are failing' },
          startsAt: new Date(Date.now() - 60_000).toISOString(),
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: '',
          fingerprint: `fp-${name}`,
        },
      ],
    });
    const sentAt = Date.now();
    const res = await fetch(`${lookout!.url}/alertmanager`, { method: 'POST', headers: { authorization: `Bearer ${WEBHOOK_TOKEN}` }, body });
    expect(res.status).toBe(200);
    return sentAt;
  }

  const posted = (): FakeSlackMessage | undefined => slack.messages(CHANNEL)[0];
  const firstPostAt = (): number => slack.callsTo('chat.postMessage').find((call) => call.status === 200)!.at;
  const content = (message: { text: string; blocks: readonly unknown[] | undefined }): string => `${message.text}\n${JSON.stringify(message.blocks)}`;

  it('posts within the budget when Loki hangs, with a "logs unavailable: timeout" note', async () => {
    loki = await startLokiStub('never');
    lookout = await startLookout({ ...env, LOKI_URL: loki.url });
    const sentAt = await sendAlert('PaymentsFailing');

    const message = await waitFor('the alert to be posted', posted, POSTED_WITHIN_MS + 5000);
    const delay = firstPostAt() - sentAt;
    expect(delay).toBeLessThan(POSTED_WITHIN_MS);
    expect(loki.requests.length).toBeGreaterThan(0); // enrichment did ask Loki
    expect(content(message)).toContain('logs unavailable: timeout');
    expect(content(message)).toContain('PaymentsFailing');
    console.log(`[enrichment-budget] hanging Loki: posted ${delay} ms after the webhook (budget ${BUDGET_MS} ms)`);

    // The deadline ends the lookup; the note stays, and nothing is posted twice.
    await new Promise((resolve) => setTimeout(resolve, 6000 + 1500));
    expect(slack.messages(CHANNEL)).toHaveLength(1);
    expect(content(slack.messages(CHANNEL)[0]!)).toContain('logs unavailable: timeout');
    const metrics = await (await fetch(`${lookout.url}/metrics`)).text();
    expect(metrics).toMatch(/lookout_enrichment_failures_total\{source="logs",reason="timeout"\} 1/);
  }, 40_000);

  it('posts within the budget when Loki is slow, then edits the message once the logs arrive', async () => {
    loki = await startLokiStub(2000);
    lookout = await startLookout({ ...env, LOKI_URL: loki.url });
    const sentAt = await sendAlert('PaymentsSlow');

    const first = await waitFor('the alert to be posted', posted, POSTED_WITHIN_MS + 5000);
    const delay = firstPostAt() - sentAt;
    expect(delay).toBeLessThan(POSTED_WITHIN_MS);
    // Posted at the budget, before Loki answered: the note says so.
    expect(content(first)).toContain('logs unavailable: timeout');

    const edited = await waitFor(
      'the message to be edited with the logs',
      () => {
        const message = posted();
        return message && message.history.length > 0 && !content(message).includes('logs unavailable') ? message : undefined;
      },
      15_000,
    );
    expect(edited.ts).toBe(first.ts);
    // The summary line under the alert quotes the newest error-like line.
    expect(content(edited)).toContain('payment declined');
    expect(slack.messages(CHANNEL)).toHaveLength(1);
    // The excerpt itself is in the one detail message in the thread.
    const detail = await waitFor('the detail message in the thread', () => slack.replies(CHANNEL, first.ts).find((reply) => content(reply).includes('payment declined')));
    expect(slack.replies(CHANNEL, first.ts).filter((reply) => content(reply).includes('payment declined'))).toEqual([detail]);
    console.log(`[enrichment-budget] slow Loki: posted ${delay} ms after the webhook, then edited with the logs (${edited.history.length} earlier version(s))`);
  }, 40_000);
});
