import { Agent as HttpsAgent } from 'node:https';
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import type { Counter } from 'prom-client';
import { z } from 'zod';
import type { Matcher } from './silence-matchers.ts';

/** A silence as Alertmanager API v2 returns it (the fields Lookout uses). */
export interface Silence {
  id: string;
  matchers: Matcher[];
  /** RFC 3339. */
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
  state: 'active' | 'pending' | 'expired';
}

/** An alert as Alertmanager API v2 lists it (`GET /api/v2/alerts`; the fields Lookout uses). */
export interface ActiveAlert {
  fingerprint: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** RFC 3339. */
  startsAt: string;
  /** `suppressed`: silenced or inhibited (see silencedBy). */
  state: 'active' | 'suppressed' | 'unprocessed';
  /** Ids of the silences that mute it. */
  silencedBy: string[];
}

/** One of Alertmanager's aggregation groups (`GET /api/v2/alerts/groups`): per receiver and route, so an alert can be in several. */
export interface AlertGroup {
  receiver: string;
  labels: Record<string, string>;
  alerts: ActiveAlert[];
}

/** What Lookout sends to create a silence. */
export interface NewSilence {
  matchers: readonly Matcher[];
  startsAt: Date;
  endsAt: Date;
  createdBy: string;
  comment: string;
}

/**
 * A failed Alertmanager call. `reason` is short and safe to show ("timeout", "unreachable",
 * "HTTP 503", "invalid response"); `refusal` is Alertmanager's own sentence when it refused a
 * silence as invalid (HTTP 400), which only restates the matchers and times Lookout sent.
 */
export class AlertmanagerError extends Error {
  readonly reason: string;
  readonly refusal: string | undefined;

  constructor(reason: string, options?: ErrorOptions & { refusal?: string }) {
    super(`Alertmanager request failed: ${reason}`, options);
    this.name = 'AlertmanagerError';
    this.reason = reason;
    this.refusal = options?.refusal;
  }
}

/** The silences API as commands and buttons use it; tests pass a fake. */
export interface AlertmanagerPort {
  /** @returns the new silence's id. */
  createSilence(silence: NewSilence): Promise<string>;
  /** Silences in every state; `filter` as `amtool silence query` applies it (Alertmanager's filter). */
  listSilences(filter?: readonly string[]): Promise<Silence[]>;
  /** undefined when Alertmanager knows no silence with this id. */
  getSilence(id: string): Promise<Silence | undefined>;
  /** Ends the silence now (Alertmanager keeps it, expired). */
  expireSilence(id: string): Promise<void>;
}

/** The alerts API as `/ops status` uses it; tests pass a fake or the real server. */
export interface AlertmanagerAlertsPort {
  /** Alerts that have not resolved (silenced and inhibited included) matching every `filter` matcher. */
  listAlerts(filter: readonly string[]): Promise<ActiveAlert[]>;
}

/** Alertmanager's own view of its groups, as the reconciler compares it (src/alertmanager-reconciler.ts). */
export interface AlertmanagerGroupsPort {
  /** Every group with an alert that has not resolved (silenced and inhibited included). */
  listAlertGroups(): Promise<AlertGroup[]>;
}

export interface AlertmanagerClientOptions {
  /** ALERTMANAGER_URL, e.g. http://alertmanager-operated.monitoring:9093 (a path prefix is kept). */
  baseUrl: string;
  requestTimeoutMs: number;
  /** Sent as `Authorization: Bearer …`. */
  bearerToken?: string;
  basicAuth?: { username: string; password: string };
  /** PEM certificates trusted for an https URL, instead of Node's default CAs. */
  ca?: string;
  /** lookout_alertmanager_requests_total{operation,outcome}. */
  requests?: Counter<'operation' | 'outcome'>;
}

const matcherSchema = z.object({ name: z.string(), value: z.string(), isRegex: z.boolean(), isEqual: z.boolean().default(true) });
const silenceSchema = z.object({
  id: z.string(),
  matchers: z.array(matcherSchema),
  startsAt: z.string(),
  endsAt: z.string(),
  createdBy: z.string(),
  comment: z.string(),
  status: z.object({ state: z.enum(['active', 'pending', 'expired']) }),
});
const alertSchema = z.object({
  fingerprint: z.string(),
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()).default({}),
  startsAt: z.string(),
  status: z.object({ state: z.enum(['active', 'suppressed', 'unprocessed']), silencedBy: z.array(z.string()).nullish() }),
});
const alertGroupSchema = z.object({ labels: z.record(z.string(), z.string()), receiver: z.object({ name: z.string() }), alerts: z.array(alertSchema) });
const statusSchema = z.object({
  cluster: z.object({ status: z.string(), peers: z.array(z.object({ name: z.string(), address: z.string() })).nullish() }),
  config: z.object({ original: z.string() }),
  versionInfo: z.object({ version: z.string() }).partial().nullish(),
});

/** GET /api/v2/status, as `/ops doctor` reads it: cluster state and peers, and the loaded configuration's text. */
export type AlertmanagerStatus = z.infer<typeof statusSchema>;

/** One alert as POST /api/v2/alerts takes it (what Prometheus sends). */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt?: string;
  endsAt?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

/**
 * A small client for Alertmanager's API v2 silences and alerts. Every failure becomes an AlertmanagerError
 * with a short reason; axios' own errors are never kept, since they carry the request's headers.
 */
export class AlertmanagerClient implements AlertmanagerPort, AlertmanagerAlertsPort, AlertmanagerGroupsPort {
  private readonly http: AxiosInstance;
  private readonly requests: Counter<'operation' | 'outcome'> | undefined;

  constructor({ baseUrl, requestTimeoutMs, bearerToken, basicAuth, ca, requests }: AlertmanagerClientOptions) {
    this.http = axios.create({
      baseURL: `${baseUrl.replace(/\/+$/, '')}/api/v2`,
      timeout: requestTimeoutMs,
      headers: { accept: 'application/json', ...(bearerToken === undefined ? {} : { authorization: `Bearer ${bearerToken}` }) },
      ...(basicAuth === undefined ? {} : { auth: basicAuth }),
      ...(ca === undefined ? {} : { httpsAgent: new HttpsAgent({ ca }) }),
      validateStatus: () => true,
      maxRedirects: 0,
      responseType: 'json',
      maxContentLength: MAX_RESPONSE_BYTES,
    });
    this.requests = requests;
  }

  async createSilence(silence: NewSilence): Promise<string> {
    const body = {
      matchers: silence.matchers.map(({ name, value, isRegex, isEqual }) => ({ name, value, isRegex, isEqual })),
      startsAt: silence.startsAt.toISOString(),
      endsAt: silence.endsAt.toISOString(),
      createdBy: silence.createdBy,
      comment: silence.comment,
    };
    const response = await this.send('create', () => this.http.post<unknown>('/silences', body));
    if (response.status === 400) throw this.failed('create', 'refused', 'HTTP 400', refusalText(response.data));
    const id = this.ok('create', response, z.object({ silenceID: z.string().regex(UUID) })).silenceID;
    return id;
  }

  async listSilences(filter: readonly string[] = []): Promise<Silence[]> {
    // Alertmanager reads `filter` as a repeated parameter.
    const params = new URLSearchParams(filter.map((matcher): [string, string] => ['filter', matcher]));
    const response = await this.send('list', () => this.http.get<unknown>('/silences', { params }));
    if (response.status === 400) throw this.failed('list', 'refused', 'HTTP 400', refusalText(response.data));
    return this.ok('list', response, z.array(silenceSchema)).map(toSilence);
  }

  async getSilence(id: string): Promise<Silence | undefined> {
    if (!UUID.test(id)) return undefined;
    const response = await this.send('get', () => this.http.get<unknown>(`/silence/${encodeURIComponent(id)}`));
    if (response.status === 404) {
      this.requests?.inc({ operation: 'get', outcome: 'not_found' });
      return undefined;
    }
    return toSilence(this.ok('get', response, silenceSchema));
  }

  async expireSilence(id: string): Promise<void> {
    if (!UUID.test(id)) throw this.failed('expire', 'not_found', 'HTTP 404');
    const response = await this.send('expire', () => this.http.delete<unknown>(`/silence/${encodeURIComponent(id)}`));
    if (response.status === 404) throw this.failed('expire', 'not_found', 'HTTP 404');
    if (response.status < 200 || response.status >= 300) throw this.failed('expire', 'http_error', `HTTP ${response.status}`);
    this.requests?.inc({ operation: 'expire', outcome: 'ok' });
  }

  async listAlerts(filter: readonly string[]): Promise<ActiveAlert[]> {
    const params = new URLSearchParams(filter.map((matcher): [string, string] => ['filter', matcher]));
    const response = await this.send('alerts', () => this.http.get<unknown>('/alerts', { params }));
    return this.ok('alerts', response, z.array(alertSchema)).map(toActiveAlert);
  }

  async listAlertGroups(): Promise<AlertGroup[]> {
    // Alertmanager's defaults: active, silenced and inhibited alerts; resolved ones are left out.
    const response = await this.send('groups', () => this.http.get<unknown>('/alerts/groups'));
    return this.ok('groups', response, z.array(alertGroupSchema)).map(({ receiver, labels, alerts }) => ({ receiver: receiver.name, labels, alerts: alerts.map(toActiveAlert) }));
  }

  async status(): Promise<AlertmanagerStatus> {
    const response = await this.send('status', () => this.http.get<unknown>('/status'));
    return this.ok('status', response, statusSchema);
  }

  /** Posts alerts as Prometheus would (the doctor's synthetic alert). */
  async postAlerts(alerts: readonly PostableAlert[]): Promise<void> {
    const response = await this.send('post_alerts', () => this.http.post<unknown>('/alerts', alerts));
    if (response.status === 400) throw this.failed('post_alerts', 'refused', 'HTTP 400', refusalText(response.data));
    if (response.status === 401 || response.status === 403) throw this.failed('post_alerts', 'unauthorized', `HTTP ${response.status} (check Lookout's Alertmanager credentials)`);
    if (response.status < 200 || response.status >= 300) throw this.failed('post_alerts', 'http_error', `HTTP ${response.status}`);
    this.requests?.inc({ operation: 'post_alerts', outcome: 'ok' });
  }

  private async send(operation: string, call: () => Promise<AxiosResponse<unknown>>): Promise<AxiosResponse<unknown>> {
    try {
      return await call();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const reason = code === 'ECONNABORTED' || code === 'ETIMEDOUT' ? 'timeout' : code === 'ERR_BAD_RESPONSE' ? 'invalid response' : 'unreachable';
      // Only the code as the cause: axios errors carry the request config, credentials included.
      throw this.failed(operation, reason === 'invalid response' ? 'invalid' : reason, reason, undefined, typeof code === 'string' ? code : undefined);
    }
  }

  private ok<T>(operation: string, response: AxiosResponse<unknown>, schema: z.ZodType<T>): T {
    if (response.status === 401 || response.status === 403) throw this.failed(operation, 'unauthorized', `HTTP ${response.status} (check Lookout's Alertmanager credentials)`);
    if (response.status < 200 || response.status >= 300) throw this.failed(operation, 'http_error', `HTTP ${response.status}`);
    const parsed = schema.safeParse(response.data);
    if (!parsed.success) throw this.failed(operation, 'invalid', 'invalid response');
    this.requests?.inc({ operation, outcome: 'ok' });
    return parsed.data;
  }

  private failed(operation: string, outcome: string, reason: string, refusal?: string, cause?: string): AlertmanagerError {
    this.requests?.inc({ operation, outcome });
    return new AlertmanagerError(reason, { ...(refusal === undefined ? {} : { refusal }), ...(cause === undefined ? {} : { cause }) });
  }
}

function toActiveAlert({ status, ...alert }: z.output<typeof alertSchema>): ActiveAlert {
  return { ...alert, state: status.state, silencedBy: status.silencedBy ?? [] };
}

function toSilence(raw: z.output<typeof silenceSchema>): Silence {
  const { status, matchers, ...rest } = raw;
  return { ...rest, matchers: matchers.map(({ name, value, isRegex, isEqual }) => ({ name, value, isRegex, isEqual })), state: status.state };
}

/** Alertmanager answers 400 with a JSON string (its validation error); one line, bounded. */
function refusalText(data: unknown): string {
  const text = typeof data === 'string' ? data : '';
  return text.split('\n')[0]?.slice(0, 300) || 'the silence is not valid';
}
