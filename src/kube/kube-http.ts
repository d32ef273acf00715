import { request as httpsRequest, type RequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { KubeCredentials } from './kube-credentials.ts';

/** The Kubernetes identity a request is made as, when it is made for a person. */
export interface Impersonation {
  username: string;
  groups: readonly string[];
}

export interface KubeRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path under the API server, e.g. /apis/apps/v1/namespaces/shop/deployments/cart. */
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  /** Defaults to application/json; PATCH needs e.g. application/strategic-merge-patch+json. */
  contentType?: string;
  impersonate?: Impersonation;
  /**
   * `text` returns the body as a string instead of parsing JSON: `pods/log` answers text/plain.
   * Default `json`.
   */
  responseType?: 'json' | 'text';
  /** Ends the request; without one, the client's own `timeoutMs` does. */
  signal?: AbortSignal;
}

export interface KubeHttpOptions {
  /**
   * Deadline of a request made without a signal (access reviews, audit Events, a person's
   * commands): someone in Slack waits for those, and a hung API server must not hold them forever.
   */
  timeoutMs?: number;
}

/**
 * A failed API call. `reason` is Kubernetes' machine-readable Status reason (Forbidden,
 * NotFound, Conflict…). The server's message is kept for logs only: it can quote request
 * content, so it must never be shown in Slack.
 */
export class KubeApiError extends Error {
  readonly status: number;
  readonly reason: string;
  readonly serverMessage: string;

  constructor(method: string, path: string, status: number, reason: string, serverMessage: string) {
    super(`${method} ${path}: ${status} ${reason}`);
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = reason;
    this.serverMessage = serverMessage;
  }
}

/**
 * Minimal HTTPS client for the Kubernetes API, using Lookout's credentials (TLS and token).
 *
 * It exists for impersonation: fetch-based clients (including @kubernetes/client-node, which
 * uses undici) join repeated headers into one comma-separated value, which the API server
 * reads as ONE group named "a, b". Node's http module sends each array element as its own
 * `Impersonate-Group` line, which is what the API server expects.
 */
export class KubeHttp {
  private readonly credentials: KubeCredentials;
  private readonly server: URL;
  private readonly timeoutMs: number;

  constructor(credentials: KubeCredentials, { timeoutMs = 15_000 }: KubeHttpOptions = {}) {
    this.credentials = credentials;
    this.server = credentials.server;
    this.timeoutMs = timeoutMs;
  }

  async request<T>({ method, path, query, body, contentType = 'application/json', impersonate, responseType = 'json', signal = AbortSignal.timeout(this.timeoutMs) }: KubeRequest): Promise<T> {
    // An Impersonate-User header without a value is no impersonation at all: the API server
    // would run the request as Lookout. Fail closed before anything is sent.
    if (impersonate !== undefined && impersonate.username === '') throw new Error('refusing to impersonate an empty username');
    const url = new URL(path, this.server);
    for (const [key, value] of Object.entries(query ?? {})) url.searchParams.set(key, value);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));

    const options: RequestOptions = {
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port,
      path: `${url.pathname}${url.search}`,
      headers: {
        // Errors come as a JSON Status either way; text/plain is what pods/log serves.
        accept: responseType === 'text' ? 'text/plain, application/json' : 'application/json',
        ...(payload ? { 'content-type': contentType, 'content-length': String(payload.length) } : {}),
      },
    };
    await this.credentials.apply(options);
    const headers = options.headers as Record<string, string | string[]>;
    if (impersonate) {
      headers['Impersonate-User'] = impersonate.username;
      if (impersonate.groups.length > 0) headers['Impersonate-Group'] = [...impersonate.groups];
    }

    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = send({ ...options, signal }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });

    if (status >= 200 && status < 300) {
      if (responseType === 'text') return text as T;
      return (text ? JSON.parse(text) : undefined) as T;
    }
    const statusBody = safeJson(text) as { reason?: string; message?: string } | undefined;
    throw new KubeApiError(method, url.pathname, status, statusBody?.reason ?? `HTTP${status}`, statusBody?.message ?? '');
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
