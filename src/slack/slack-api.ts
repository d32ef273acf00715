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
  /** chat.postMessage; `marker` goes into the message's `metadata` so the post can be found again. */
  postMessage(message: OutgoingMessage & { threadTs?: string; marker?: MessageMarker }): Promise<{ ts: string }>;
  updateMessage(message: OutgoingMessage & { ts: string }): Promise<void>;
  /**
   * One page of a channel's top-level messages (conversations.history), or of a thread's messages
   * when `threadTs` is set (conversations.replies), with their metadata.
   */
  history(query: HistoryQuery): Promise<HistoryPage>;
  /** auth.test: resolves when Slack accepts the token, throws SlackCallError otherwise. */
  authTest(): Promise<void>;
}

export interface OutgoingMessage {
  channel: string;
  text: string;
  blocks?: KnownBlock[];
}

/** Slack message metadata (`event_type` + `event_payload`) that names what a post is for. */
export interface MessageMarker {
  eventType: string;
  payload: Record<string, string | number>;
}

export interface HistoryQuery {
  channel: string;
  /** Slack ts: only messages after it. */
  oldest: string;
  /** Read this thread (conversations.replies) instead of the channel. */
  threadTs?: string;
  cursor?: string;
  limit: number;
}

export interface HistoryPage {
  messages: Array<{ ts: string; marker?: MessageMarker }>;
  /** Set while there is another page. */
  nextCursor?: string;
}

/** How a failed Slack call should be handled, decided once here rather than by every caller. */
export type SlackFailure =
  | { kind: 'rate_limited'; retryAfterMs: number }
  /**
   * Try again later. `uncertain`: Slack may have done it all the same (no answer, a timeout, a
   * 5xx): a post must then be looked for before it is sent again.
   */
  | { kind: 'retryable'; reason: string; uncertain?: boolean }
  | { kind: 'permanent'; reason: string }
  /** The token was refused: nothing can be delivered until a person fixes it (or Slack recovers). */
  | { kind: 'auth'; reason: string }
  /** The channel cannot be posted to (missing, bot not invited, archived): a person must act. */
  | { kind: 'channel'; reason: string };

export class SlackCallError extends Error {
  readonly failure: SlackFailure;
  /** The Web API method that failed, e.g. chat.postMessage. */
  readonly method: string;

  constructor(method: string, failure: SlackFailure, options?: ErrorOptions) {
    super(`${method} failed: ${failure.kind === 'rate_limited' ? 'ratelimited' : failure.reason}`, options);
    this.name = 'SlackCallError';
    this.failure = failure;
    this.method = method;
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

/** The token is not accepted: every call fails alike until someone replaces it. */
export const AUTH_ERRORS = new Set(['invalid_auth', 'token_revoked', 'token_expired', 'account_inactive', 'not_authed']);

/** The channel cannot take posts from Lookout until someone invites it, creates or unarchives the channel. */
export const CHANNEL_ERRORS = new Set(['channel_not_found', 'not_in_channel', 'is_archived']);

export interface WebSlackApiOptions {
  token: string;
  apiUrl: string;
  metrics: Metrics;
  /** Each call's own deadline (the WebClient's timeout). */
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

  async postMessage({ channel, text, blocks, threadTs, marker }: OutgoingMessage & { threadTs?: string; marker?: MessageMarker }): Promise<{ ts: string }> {
    const result = await this.call('chat.postMessage', () =>
      this.client.chat.postMessage({
        channel,
        text,
        ...(blocks ? { blocks } : {}),
        ...(threadTs ? { thread_ts: threadTs } : {}),
        ...(marker ? { metadata: { event_type: marker.eventType, event_payload: marker.payload } } : {}),
        unfurl_links: false,
        unfurl_media: false,
      }),
    );
    if (typeof result.ts !== 'string') throw new SlackCallError('chat.postMessage', { kind: 'retryable', reason: 'no ts in response', uncertain: true });
    return { ts: result.ts };
  }

  async updateMessage({ channel, ts, text, blocks }: OutgoingMessage & { ts: string }): Promise<void> {
    await this.call('chat.update', () => this.client.chat.update({ channel, ts, text, ...(blocks ? { blocks } : {}) }));
  }

  async history({ channel, oldest, threadTs, cursor, limit }: HistoryQuery): Promise<HistoryPage> {
    const common = { channel, oldest, limit, include_all_metadata: true, ...(cursor ? { cursor } : {}) };
    const result =
      threadTs === undefined
        ? await this.call('conversations.history', () => this.client.conversations.history(common))
        : await this.call('conversations.replies', () => this.client.conversations.replies({ ...common, ts: threadTs }));
    const messages = (result.messages ?? []).flatMap((message) => {
      if (typeof message.ts !== 'string') return [];
      const metadata = message.metadata as { event_type?: unknown; event_payload?: unknown } | undefined;
      const marker =
        typeof metadata?.event_type === 'string' && typeof metadata.event_payload === 'object' && metadata.event_payload !== null
          ? { eventType: metadata.event_type, payload: metadata.event_payload as Record<string, string | number> }
          : undefined;
      return [{ ts: message.ts, ...(marker ? { marker } : {}) }];
    });
    const next = result.response_metadata?.next_cursor;
    return { messages, ...(result.has_more && next ? { nextCursor: next } : {}) };
  }

  async authTest(): Promise<void> {
    await this.call('auth.test', () => this.client.auth.test());
  }

  private async call<T>(method: string, send: () => Promise<T>): Promise<T> {
    const stopTimer = this.metrics.slackRequestDuration.startTimer({ method });
    try {
      const result = await send();
      this.metrics.slackRequests.inc({ method, outcome: 'ok' });
      return result;
    } catch (error) {
      const failure = classify(error);
      this.metrics.slackRequests.inc({ method, outcome: failure.kind === 'rate_limited' || failure.kind === 'retryable' ? failure.kind : 'error' });
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
    if (AUTH_ERRORS.has(reason)) return { kind: 'auth', reason };
    if (CHANNEL_ERRORS.has(reason)) return { kind: 'channel', reason };
    // Slack answered ok:false: it did not do it.
    return TRANSIENT_PLATFORM_ERRORS.has(reason) ? { kind: 'retryable', reason } : { kind: 'permanent', reason };
  }
  if (error instanceof WebAPIHTTPError) {
    const retryable = error.statusCode >= 500 || error.statusCode === 408;
    // A 5xx may come from a proxy after Slack acted: the outcome is not known.
    return retryable ? { kind: 'retryable', reason: `http_${error.statusCode}`, uncertain: true } : { kind: 'permanent', reason: `http_${error.statusCode}` };
  }
  // No answer (timeout, reset): the request may or may not have been acted on.
  if (error instanceof WebAPIRequestError) return { kind: 'retryable', reason: 'network_error', uncertain: true };
  return { kind: 'retryable', reason: 'unexpected_error', uncertain: true };
}
