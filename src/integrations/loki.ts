import axios, { type AxiosInstance } from 'axios';
import type { Counter } from 'prom-client';
import { ConcurrencyLimit } from '../limit-concurrency.ts';
import { SharedLookups } from '../shared-lookups.ts';

/** One log line, with the labels of the stream it came from. */
export interface LokiEntry {
  /** Nanoseconds since the epoch, as Loki sends them (beyond Number's precision). */
  timestampNs: string;
  line: string;
  labels: Record<string, string>;
}

export interface LokiRangeQuery {
  /** LogQL log query, e.g. {namespace="shop",pod="cart-1"} |~ "error". */
  query: string;
  startNs: bigint;
  endNs: bigint;
  limit: number;
  /** backward = newest first, so `limit` keeps the newest lines. */
  direction?: 'backward' | 'forward';
}

/**
 * A failed Loki query. `reason` is short and safe to show: "timeout", "unreachable",
 * "HTTP 400", "invalid response", "response too large". Loki's error body is never kept: it
 * quotes the query.
 */
export class LokiError extends Error {
  readonly reason: string;

  constructor(reason: string, options?: ErrorOptions) {
    super(`Loki query failed: ${reason}`, options);
    this.name = 'LokiError';
    this.reason = reason;
  }
}

export interface LokiClientOptions {
  /** LOKI_URL, e.g. http://loki-gateway.monitoring:80 (a path prefix is kept). */
  baseUrl: string;
  maxConcurrent: number;
  requestTimeoutMs: number;
  /** X-Scope-OrgID, for a multi-tenant Loki. */
  tenant?: string;
  /**
   * Largest answer read, in bytes after decompression (default 2 MiB). Lookout shows a few KB of
   * log lines; a bigger answer (a huge limit, a misbehaving proxy) would only cost memory.
   */
  maxResponseBytes?: number;
  /** lookout_loki_requests_total{outcome}. */
  requests?: Counter<'outcome'>;
}

/** The part of the client the logs source needs; tests pass a fake. */
export interface LokiPort {
  queryRange(query: LokiRangeQuery, signal?: AbortSignal): Promise<LokiEntry[]>;
}

/**
 * A small client for Loki's HTTP API (query_range). Identical queries share one request while
 * it is pending (alerts of one storm about one pod), and at most `maxConcurrent` run at once.
 */
export class LokiClient implements LokiPort {
  private readonly http: AxiosInstance;
  private readonly limit: ConcurrencyLimit;
  private readonly shared = new SharedLookups<LokiEntry[]>({ now: () => 0, ttlMs: 0 });
  private readonly requests: Counter<'outcome'> | undefined;

  constructor({ baseUrl, maxConcurrent, requestTimeoutMs, tenant, requests, maxResponseBytes = DEFAULT_MAX_RESPONSE_BYTES }: LokiClientOptions) {
    this.http = axios.create({
      baseURL: baseUrl.replace(/\/+$/, ''),
      timeout: requestTimeoutMs,
      headers: { accept: 'application/json', ...(tenant === undefined ? {} : { 'X-Scope-OrgID': tenant }) },
      // Every status is classified below; axios' own errors would carry the response body.
      validateStatus: () => true,
      maxRedirects: 0,
      responseType: 'json',
      // axios reads without limit by default; it stops reading past these (decompressed) sizes.
      maxContentLength: maxResponseBytes,
      // A query_range is a GET and sends no body; the bound only matters if that ever changes.
      maxBodyLength: maxResponseBytes,
    });
    this.limit = new ConcurrencyLimit(maxConcurrent);
    this.requests = requests;
  }

  queryRange(query: LokiRangeQuery, signal?: AbortSignal): Promise<LokiEntry[]> {
    const params = {
      query: query.query,
      start: query.startNs.toString(),
      end: query.endNs.toString(),
      limit: String(query.limit),
      direction: query.direction ?? 'backward',
    };
    const key = new URLSearchParams(params).toString();
    return this.shared.get(key, (sharedSignal) => this.limit.run(() => this.send(params, sharedSignal), sharedSignal), signal);
  }

  private async send(params: Record<string, string>, signal: AbortSignal): Promise<LokiEntry[]> {
    let response;
    try {
      response = await this.http.get<unknown>('/loki/api/v1/query_range', { params, signal });
    } catch (error) {
      const failure = classify(error);
      this.requests?.inc({ outcome: OUTCOME_BY_REASON[failure.reason] ?? 'unreachable' });
      throw failure;
    }
    if (response.status < 200 || response.status >= 300) {
      this.requests?.inc({ outcome: 'http_error' });
      throw new LokiError(`HTTP ${response.status}`);
    }
    const entries = parseStreams(response.data);
    if (entries === undefined) {
      this.requests?.inc({ outcome: 'invalid' });
      throw new LokiError('invalid response');
    }
    this.requests?.inc({ outcome: 'ok' });
    const descending = params.direction !== 'forward';
    return entries.sort((a, b) => compareNs(a.timestampNs, b.timestampNs) * (descending ? -1 : 1));
  }
}

const DEFAULT_MAX_RESPONSE_BYTES = 2 * 1024 * 1024;

/** lookout_loki_requests_total{outcome} for each failure reason classify() gives. */
const OUTCOME_BY_REASON: Readonly<Record<string, string>> = {
  timeout: 'timeout',
  aborted: 'aborted',
  unreachable: 'unreachable',
  'invalid response': 'invalid',
  'response too large': 'too_large',
};

/**
 * A timeout, a cancellation (the caller's deadline), an answer too big or broken off, or no
 * answer at all; never the body.
 */
function classify(error: unknown): LokiError {
  if (axios.isCancel(error)) return new LokiError('aborted');
  const code = (error as { code?: unknown }).code;
  if (code === 'ECONNABORTED' || code === 'ETIMEDOUT') return new LokiError('timeout');
  if (code === 'ERR_CANCELED') return new LokiError('aborted');
  if (code === 'ERR_BAD_RESPONSE') {
    // axios' only signal for the size limit is its message; the message never holds the body.
    const message = error instanceof Error ? error.message : '';
    return new LokiError(/maxContentLength/.test(message) ? 'response too large' : 'invalid response', { cause: code });
  }
  // Keep only the code as the cause: axios errors carry the request config (headers included).
  return new LokiError('unreachable', { cause: typeof code === 'string' ? code : undefined });
}

/** Loki's streams result; undefined when the answer is not one. */
function parseStreams(body: unknown): LokiEntry[] | undefined {
  const data = (body as { data?: { resultType?: unknown; result?: unknown } } | null)?.data;
  if (data?.resultType !== 'streams' || !Array.isArray(data.result)) return undefined;
  const entries: LokiEntry[] = [];
  for (const stream of data.result as Array<{ stream?: unknown; values?: unknown }>) {
    const labels = isStringRecord(stream.stream) ? stream.stream : {};
    if (!Array.isArray(stream.values)) return undefined;
    for (const value of stream.values as unknown[]) {
      // [ "<ns>", "<line>" ], or with a third element of structured metadata (Loki 3).
      if (!Array.isArray(value) || typeof value[0] !== 'string' || typeof value[1] !== 'string' || !/^\d+$/.test(value[0])) return undefined;
      entries.push({ timestampNs: value[0], line: value[1], labels });
    }
  }
  return entries;
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && Object.values(value).every((item) => typeof item === 'string');
}

function compareNs(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * A LogQL string literal. LogQL reads double-quoted strings with Go's escaping, so backslash,
 * quote and control characters are escaped; everything else stands for itself.
 */
export function logqlString(value: string): string {
  let out = '"';
  for (const char of value) {
    const codePoint = char.codePointAt(0) ?? 0;
    if (char === '\\') out += '\\\\';
    else if (char === '"') out += '\\"';
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (char === '\t') out += '\\t';
    else if (codePoint < 0x20 || codePoint === 0x7f) out += `\\x${codePoint.toString(16).padStart(2, '0')}`;
    else out += char;
  }
  return `${out}"`;
}

/** `{namespace="shop", pod="cart-1"}` from label matchers (names must be valid label names). */
export function logqlSelector(matchers: ReadonlyArray<readonly [string, string]>): string {
  for (const [name] of matchers) {
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) throw new Error(`not a label name: ${name}`);
  }
  return `{${matchers.map(([name, value]) => `${name}=${logqlString(value)}`).join(', ')}}`;
}

/** Milliseconds to Loki's nanoseconds. */
export function msToNs(ms: number): bigint {
  return BigInt(Math.trunc(ms)) * 1_000_000n;
}
