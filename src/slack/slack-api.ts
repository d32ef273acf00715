import {
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebAPIRequestError,
  WebClient,
} from '@slack/web-api';
import type { KnownBlock } from '@slack/types';
import type { Metrics } from '../metrics.ts';

/** The part of Slack's Web API the outbox needs; console mode and tests implement it too. */
export interface SlackApi {
  postMessage(message: OutgoingMessage & { threadTs?: string }): Promise<{ ts: string }>;
  updateMessage(message: OutgoingMessage & { ts: string }): Promise<void>;
}

export interface OutgoingMessage {
  channel: string;
  text: string;
  blocks?: KnownBlock[];
}

/** How a failed Slack call should be handled, decided once here rather than by every caller. */
export type SlackFailure =
  | { kind: 'rate_limited'; retryAfterMs: number }
  | { kind: 'retryable'; reason: string }
  | { kind: 'permanent'; reason: string };

export class SlackCallError extends Error {
  readonly failure: SlackFailure;

  constructor(method: string, failure: SlackFailure, options?: ErrorOptions) {
    super(`${method} failed: ${failure.kind === 'rate_limited' ? 'ratelimited' : failure.reason}`, options);
    this.name = 'SlackCallError';
    this.failure = failure;
  }
}

/** Slack `ok:false` errors that mean "try again later" rather than "this request is wrong". */
const TRANSIENT_PLATFORM_ERRORS = new Set([
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
  'ratelimited',
  'team_added_to_org',
]);

export interface WebSlackApiOptions {
  token: string;
  apiUrl: string;
  metrics: Metrics;
  timeoutMs?: number;
}

/**
 * SlackApi over @slack/web-api with the client's own retries switched off: the outbox owns
 * retry, backoff and rate limiting, and needs every 429 and 5xx to surface to it.
 */
export class WebSlackApi implements SlackApi {
  private readonly client: WebClient;
  private readonly metrics: Metrics;

  constructor({ token, apiUrl, metrics, timeoutMs = 10_000 }: WebSlackApiOptions) {
    this.client = new WebClient(token, {
      slackApiUrl: apiUrl,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: timeoutMs,
    });
    this.metrics = metrics;
  }

  async postMessage({ channel, text, blocks, threadTs }: OutgoingMessage & { threadTs?: string }): Promise<{ ts: string }> {
    const result = await this.call('chat.postMessage', () =>
      this.client.chat.postMessage({
        channel,
        text,
        ...(blocks ? { blocks } : {}),
        ...(threadTs ? { thread_ts: threadTs } : {}),
        unfurl_links: false,
        unfurl_media: false,
      }),
    );
    if (typeof result.ts !== 'string') throw new SlackCallError('chat.postMessage', { kind: 'retryable', reason: 'no ts in response' });
    return { ts: result.ts };
  }

  async updateMessage({ channel, ts, text, blocks }: OutgoingMessage & { ts: string }): Promise<void> {
    await this.call('chat.update', () => this.client.chat.update({ channel, ts, text, ...(blocks ? { blocks } : {}) }));
  }

  private async call<T>(method: string, send: () => Promise<T>): Promise<T> {
    const stopTimer = this.metrics.slackRequestDuration.startTimer({ method });
    try {
      const result = await send();
      this.metrics.slackRequests.inc({ method, outcome: 'ok' });
      return result;
    } catch (error) {
      const failure = classify(error);
      this.metrics.slackRequests.inc({ method, outcome: failure.kind === 'permanent' ? 'error' : failure.kind });
      throw new SlackCallError(method, failure, { cause: error });
    } finally {
      stopTimer();
    }
  }
}

export function classify(error: unknown): SlackFailure {
  if (error instanceof WebAPIRateLimitedError) return { kind: 'rate_limited', retryAfterMs: Math.max(1, error.retryAfter) * 1000 };
  if (error instanceof WebAPIPlatformError) {
    const reason = error.data.error;
    return TRANSIENT_PLATFORM_ERRORS.has(reason) ? { kind: 'retryable', reason } : { kind: 'permanent', reason };
  }
  if (error instanceof WebAPIHTTPError) {
    const retryable = error.statusCode >= 500 || error.statusCode === 408;
    return { kind: retryable ? 'retryable' : 'permanent', reason: `http_${error.statusCode}` };
  }
  if (error instanceof WebAPIRequestError) return { kind: 'retryable', reason: 'network_error' };
  return { kind: 'retryable', reason: 'unexpected_error' };
}
