import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createFakeSocketMode, type FakeSocketMode } from './fake-slack-socket-mode.ts';

/*
 * A fake of the Slack Web API over real HTTP on loopback, for tests and benchmarks. It enforces
 * what Slack documents (error names and shapes, Block Kit limits, 1 message/s/channel, Tier 3 for
 * chat.update, 429 + Retry-After) so a client that passes here has a fair chance against Slack.
 * Where Slack's documentation is vague the fake is the stricter of the plausible readings, and
 * says so next to the rule.
 */

/** A workspace member, as `users.info` returns it. */
export interface FakeSlackUser {
  readonly id: string;
  readonly name?: string;
  readonly realName?: string;
  /** Only present when set, as with a token lacking `users:read.email`. */
  readonly email?: string;
  readonly deleted?: boolean;
  readonly isBot?: boolean;
  /** A multi-channel guest (`is_restricted`). */
  readonly isRestricted?: boolean;
  /** A single-channel guest (`is_ultra_restricted`; Slack sets `is_restricted` too). */
  readonly isUltraRestricted?: boolean;
  /** An app's user (`is_app_user`). */
  readonly isAppUser?: boolean;
  /** `is_email_confirmed`; default true when `email` is set. */
  readonly emailConfirmed?: boolean;
  /** `team_id`: the person's own team; default the fake's team. Another one = a Slack Connect member. */
  readonly teamId?: string;
  /** `is_stranger`: a member of another organisation seen through a shared channel. */
  readonly isStranger?: boolean;
}

/** Configuration of {@link startFakeSlack}; every field has a default. */
export interface FakeSlackOptions {
  /** The only bot token accepted. Default `xoxb-lookout-test-token`. */
  readonly token?: string;
  /** The only app-level token `apps.connections.open` accepts (Socket Mode). Default `xapp-1-A0LOOKOUT-1-lookouttest`. */
  readonly appToken?: string;
  readonly teamId?: string;
  readonly teamName?: string;
  /** The Enterprise Grid organisation: `auth.test` then reports `enterprise_id`. Default: none. */
  readonly enterpriseId?: string;
  /** The bot's user id (`auth.test` user_id, `user` on its messages). */
  readonly botUserId?: string;
  /**
   * The bot token's scopes, sent as Slack sends them on every Web API answer to a valid token: the
   * `x-oauth-scopes` header (comma-separated). Default: those of manifests/slack-app-manifest.yaml.
   */
  readonly scopes?: readonly string[];
  readonly botId?: string;
  readonly appId?: string;
  /** Channel ids that exist; anything else is `channel_not_found`. Default: the ones in DESIGN.md. */
  readonly channels?: readonly string[];
  readonly users?: readonly FakeSlackUser[];
  /** User group id → member user ids, for `usergroups.users.list`. */
  readonly usergroups?: Readonly<Record<string, readonly string[]>>;
  /** trigger_ids `views.open` accepts (once each, never expiring). See also `issueTriggerId()`. */
  readonly triggerIds?: readonly string[];
  /** Minimum gap between accepted `chat.postMessage` calls to one channel. Default 1000. */
  readonly minIntervalMs?: number;
  /**
   * Slack in the gap, for arrival jitter on a busy machine: an outbox that spaces sends 1000 ms
   * apart can see them land 990 ms apart. Default 25. Real Slack allows short bursts, so even
   * with this the fake is stricter than Slack.
   */
  readonly toleranceMs?: number;
  /** `chat.update` calls per rolling minute for the workspace (Tier 3, "50+"). Default 50. */
  readonly updatesPerMinute?: number;
  /**
   * What a `text` over 40,000 characters gets. Slack documents truncation with a
   * `message_truncated` warning but also lists `msg_too_long`; the default, `'error'`, answers
   * `msg_too_long` so an over-long message cannot slip through a test unnoticed.
   */
  readonly textOverLimit?: 'error' | 'truncate';
  /** How long a trigger from `issueTriggerId()` stays valid. Slack: 3 seconds. */
  readonly triggerTtlMs?: number;
  /** Clock in milliseconds, for rate limits, ts values and trigger expiry. Default `Date.now`. */
  readonly now?: () => number;
  /**
   * Channels that exist but the bot was not invited to: posts and history reads answer
   * `not_in_channel` until `invite(id)`. (A private channel the bot is not in answers
   * `channel_not_found` instead: leave it out of `channels` and `addChannel` it later.)
   */
  readonly uninvitedChannels?: readonly string[];
  /**
   * `conversations.history` and `conversations.replies` calls per rolling minute for the
   * workspace, each method on its own (Tier 3, "50+"). Default 50. New commercially distributed
   * apps outside the Marketplace get 1 a minute since 2025; internal apps keep Tier 3.
   */
  readonly historyPerMinute?: number;
  /** The largest `limit` a history read honours (Slack: 999; 15 for those new apps). */
  readonly historyMaxLimit?: number;
}

/**
 * A fault for the calls it matches, from `fault()`: per channel and/or method, for a time window.
 * - `hang`: never answered (nothing is done), until `close()`.
 * - `slow`: handled and answered after `delayMs` (a post is stored only then).
 * - `slowAccept`: handled at once — a post is stored and visible in history — but answered after
 *   `delayMs`: Slack accepted, and the client may time out before it hears so.
 * - `error`: `ok:false` with `error` (e.g. `invalid_auth` with no channel or method = a rotated token).
 * - `http500`: HTTP 500 with a text body. `ratelimited`: 429 with Retry-After.
 */
export interface FakeSlackFault {
  readonly mode: 'hang' | 'slow' | 'slowAccept' | 'error' | 'http500' | 'ratelimited';
  /** Only calls whose `channel` argument is this; any call when absent. */
  readonly channel?: string;
  /** Only calls to this method; any method when absent. */
  readonly method?: string;
  /** For `slow` and `slowAccept`. */
  readonly delayMs?: number;
  /** For `error`: the error name. */
  readonly error?: string;
  readonly retryAfterSeconds?: number;
  /** How long the fault lasts from now (fake clock); until cleared when absent. */
  readonly forMs?: number;
}

/** One HTTP request the fake received, whatever became of it. */
export interface FakeSlackCall {
  /** The Web API method from the path, e.g. `chat.postMessage`. */
  readonly method: string;
  /** Arguments with JSON-valued ones (`blocks`, `view`, …) decoded; the token is never recorded. */
  readonly params: Readonly<Record<string, unknown>>;
  /** Where the token came from. */
  readonly auth: 'header' | 'param' | 'none';
  /** Arrival time (ms, from the fake's clock). */
  readonly at: number;
  /** HTTP status sent; `null` while unanswered (a 'hang' never is). */
  readonly status: number | null;
  /** The JSON body sent, or null. */
  readonly response: unknown;
  /** Whether the answer came from `failNext` rather than the method. */
  readonly injected: boolean;
}

/** One version of a message's content. */
export interface FakeSlackMessageVersion {
  readonly text: string;
  readonly blocks: readonly unknown[] | undefined;
  /** When this version was written (ms). */
  readonly at: number;
}

/** A message as the fake holds it. */
export interface FakeSlackMessage {
  readonly channel: string;
  readonly ts: string;
  /** Set on replies: the parent's ts. */
  readonly threadTs: string | undefined;
  readonly user: string;
  /** Set when the bot posted it. */
  readonly botId: string | undefined;
  readonly text: string;
  readonly blocks: readonly unknown[] | undefined;
  /** Earlier versions, oldest first; empty if never edited. */
  readonly history: readonly FakeSlackMessageVersion[];
  readonly replyCount: number;
  /** The `metadata` it was posted with (`event_type`, `event_payload`), if any. */
  readonly metadata: { readonly event_type: string; readonly event_payload: unknown } | undefined;
}

/** A `chat.postEphemeral` delivery. */
export interface FakeSlackEphemeral {
  readonly channel: string;
  readonly user: string;
  readonly text: string;
  readonly blocks: readonly unknown[] | undefined;
  readonly threadTs: string | undefined;
  readonly messageTs: string;
}

/** A body POSTed to a `responseUrl()`, as Bolt's `respond()` does. */
export interface FakeSlackResponseUrlPost {
  readonly id: string;
  readonly body: unknown;
  readonly at: number;
}

/** What `failNext` makes the next calls do instead of their work. */
export type FakeSlackFailure = 'http500' | 'ratelimited' | 'hang' | (string & {});

/** A running fake. Close it in `afterEach`/`afterAll`. */
export interface FakeSlack {
  /** Base URL for `SLACK_API_URL` / WebClient's `slackApiUrl`, ending in `/api/`. */
  readonly url: string;
  /** The bot token it accepts. */
  readonly token: string;
  /** The app-level token `apps.connections.open` accepts. */
  readonly appToken: string;
  /** Socket Mode's server side: connections, envelopes, acks, disconnects (fake-slack-socket-mode.ts). */
  readonly socketMode: FakeSocketMode;
  /** Every call received, in arrival order. */
  readonly calls: readonly FakeSlackCall[];
  /** Calls to one method. */
  callsTo(method: string): FakeSlackCall[];
  /** Top-level messages in a channel, oldest first, with current content and edit history. */
  messages(channel: string): FakeSlackMessage[];
  /** Replies in a thread, oldest first (the parent is not included). */
  replies(channel: string, threadTs: string): FakeSlackMessage[];
  /** Ephemeral messages sent in a channel. */
  ephemerals(channel: string): FakeSlackEphemeral[];
  /** Views opened with `views.open`, as sent. */
  views(): unknown[];
  /** Views replaced with `views.update`, as sent, with the id of the view they replaced. */
  viewUpdates(): Array<{ viewId: string; view: unknown }>;
  /**
   * Makes the next `n` calls to `method` fail: `'http500'`, `'ratelimited'` (429 with
   * Retry-After), `'hang'` (never answered, until `close()`), or any other string as an
   * `ok:false` error name. Injected failures change no state.
   */
  failNext(method: string, n: number, kind: FakeSlackFailure, options?: { readonly retryAfterSeconds?: number }): void;
  /** Adds a channel id that exists from now on. */
  addChannel(id: string): void;
  /**
   * Applies a fault to the calls it matches from now on (see FakeSlackFault); returns a function
   * that lifts it. Faults are checked after `failNext` and before the token.
   */
  fault(fault: FakeSlackFault): () => void;
  /** The bot joins a channel of `uninvitedChannels` (someone typed /invite @Lookout). */
  invite(id: string): void;
  /** The channel is archived from now on: posts answer `is_archived`. */
  archive(id: string): void;
  /** A fresh trigger_id that `views.open` accepts once, within `triggerTtlMs`. */
  issueTriggerId(): string;
  /** Posts a message as a human (no rate limit, no call recorded), e.g. to test `cant_update_message`. */
  postAsUser(channel: string, user: string, text: string, threadTs?: string): string;
  /** A loopback URL to use as a slash command's `response_url`; posts to it land in `responseUrlPosts`. */
  responseUrl(): string;
  readonly responseUrlPosts: readonly FakeSlackResponseUrlPost[];
  /** Stops the server, dropping connections (including hung ones). Safe to call twice. */
  close(): Promise<void>;
}

/** Slack's documented limits, in one place. */
export const SLACK_LIMITS = {
  /** chat.postMessage `text`: longer is truncated (or refused, see `textOverLimit`). */
  textChars: 40_000,
  blocksPerMessage: 50,
  blocksPerView: 100,
  sectionTextChars: 3000,
  sectionFields: 10,
  sectionFieldChars: 2000,
  headerTextChars: 150,
  blockIdChars: 255,
  contextElements: 10,
  actionsElements: 25,
  viewTitleChars: 24,
} as const;

type Reply = { readonly status: number; readonly body: unknown; readonly headers?: Readonly<Record<string, string>> };
type Params = Record<string, unknown>;

interface StoredMessage {
  channel: string;
  ts: string;
  metadata: { event_type: string; event_payload: unknown } | undefined;
  threadTs: string | undefined;
  user: string;
  botId: string | undefined;
  text: string;
  blocks: unknown[] | undefined;
  history: FakeSlackMessageVersion[];
}

interface MutableCall {
  method: string;
  params: Params;
  auth: FakeSlackCall['auth'];
  at: number;
  status: number | null;
  response: unknown;
  injected: boolean;
}

/** Thrown inside a handler to answer `ok:false`; HTTP 200, as Slack answers method errors. */
class SlackMethodError extends Error {
  readonly extra: Readonly<Record<string, unknown>>;
  constructor(code: string, extra: Readonly<Record<string, unknown>> = {}) {
    super(code);
    this.extra = extra;
  }
}

const JSON_VALUED_ARGS = new Set(['blocks', 'attachments', 'view', 'metadata']);
const MINUTE_MS = 60_000;

/** Starts a fake Slack Web API on 127.0.0.1 with a random port. */
export async function startFakeSlack(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  const now = options.now ?? Date.now;
  const token = options.token ?? 'xoxb-lookout-test-token';
  const appToken = options.appToken ?? 'xapp-1-A0LOOKOUT-1-lookouttest';
  const teamId = options.teamId ?? 'T0LOOKOUT';
  const teamName = options.teamName ?? 'Lookout Test';
  const botUserId = options.botUserId ?? 'U0LOOKOUTBOT';
  const scopes = options.scopes ?? ['chat:write', 'commands', 'users:read', 'users:read.email', 'usergroups:read', 'channels:history', 'groups:history'];
  const botId = options.botId ?? 'B0LOOKOUTBOT';
  const appId = options.appId ?? 'A0LOOKOUT';
  const minIntervalMs = options.minIntervalMs ?? 1000;
  const toleranceMs = options.toleranceMs ?? 25;
  const updatesPerMinute = options.updatesPerMinute ?? 50;
  const historyPerMinute = options.historyPerMinute ?? 50;
  const historyMaxLimit = options.historyMaxLimit ?? 999;
  const uninvited = new Set(options.uninvitedChannels ?? []);
  const archived = new Set<string>();
  const activeFaults: Array<FakeSlackFault & { until: number }> = [];
  const historyTimes = new Map<string, number[]>();
  const textOverLimit = options.textOverLimit ?? 'error';
  const triggerTtlMs = options.triggerTtlMs ?? 3000;

  const channels = new Set([...(options.channels ?? ['C0ALERTS', 'C0AUDIT', 'C0INCIDENTS']), ...(options.uninvitedChannels ?? [])]);
  const users = new Map((options.users ?? []).map((u) => [u.id, u]));
  const usergroups = new Map(Object.entries(options.usergroups ?? {}));
  const triggers = new Map<string, { expiresAt: number; used: boolean }>();
  for (const id of options.triggerIds ?? []) triggers.set(id, { expiresAt: Infinity, used: false });

  const calls: MutableCall[] = [];
  const messagesByChannel = new Map<string, StoredMessage[]>();
  const ephemerals: FakeSlackEphemeral[] = [];
  const views: unknown[] = [];
  const viewUpdates: Array<{ viewId: string; view: unknown }> = [];
  const responseUrlPosts: FakeSlackResponseUrlPost[] = [];
  const failures = new Map<string, Array<{ kind: FakeSlackFailure; retryAfterSeconds: number }>>();
  const lastPostAt = new Map<string, number>();
  const updateTimes: number[] = [];
  let lastTsMicros = 0;
  let triggerSeq = 0;
  let responseUrlSeq = 0;

  /** Slack-looking ts ("1700000000.000100"): microseconds since the epoch, strictly increasing. */
  function nextTs(): string {
    lastTsMicros = Math.max(now() * 1000, lastTsMicros + 1);
    const seconds = Math.floor(lastTsMicros / 1e6);
    const micros = lastTsMicros % 1e6;
    return `${seconds}.${String(micros).padStart(6, '0')}`;
  }

  function channelMessages(channel: string): StoredMessage[] {
    let list = messagesByChannel.get(channel);
    if (list === undefined) {
      list = [];
      messagesByChannel.set(channel, list);
    }
    return list;
  }

  function findMessage(channel: string, ts: string): StoredMessage | undefined {
    return messagesByChannel.get(channel)?.find((m) => m.ts === ts);
  }

  function snapshot(m: StoredMessage): FakeSlackMessage {
    const replyCount = m.threadTs === undefined ? channelMessages(m.channel).filter((r) => r.threadTs === m.ts).length : 0;
    return structuredClone({ ...m, replyCount });
  }

  function messageJson(m: StoredMessage, withMetadata = false): Record<string, unknown> {
    return {
      ...(withMetadata && m.metadata !== undefined ? { metadata: m.metadata } : {}),
      type: 'message',
      text: m.text,
      user: m.user,
      ...(m.botId !== undefined ? { bot_id: m.botId, app_id: appId } : {}),
      ...(m.blocks !== undefined ? { blocks: m.blocks } : {}),
      team: teamId,
      ts: m.ts,
      ...(m.threadTs !== undefined ? { thread_ts: m.threadTs } : {}),
    };
  }

  // ---- argument helpers -------------------------------------------------------------------

  function requireString(params: Params, name: string): string {
    const value = params[name];
    if (typeof value === 'string' && value !== '') return value;
    // Slack's answer for a missing required argument.
    throw new SlackMethodError('invalid_arguments', {
      response_metadata: { messages: [`[ERROR] missing required field: ${name}`] },
    });
  }

  function optionalString(params: Params, name: string): string | undefined {
    const value = params[name];
    return typeof value === 'string' && value !== '' ? value : undefined;
  }

  function requireChannel(params: Params): string {
    const channel = optionalString(params, 'channel');
    if (channel === undefined || !channels.has(channel)) throw new SlackMethodError('channel_not_found');
    return channel;
  }

  /** A channel the bot may post in or read: it exists, the bot was invited, it is not archived. */
  function requireMemberChannel(params: Params, forPosting: boolean): string {
    const channel = requireChannel(params);
    if (uninvited.has(channel)) throw new SlackMethodError('not_in_channel');
    if (forPosting && archived.has(channel)) throw new SlackMethodError('is_archived');
    return channel;
  }

  /** `metadata` as chat.postMessage takes it: an object with a string `event_type` and an object `event_payload`. */
  function messageMetadata(params: Params): StoredMessage['metadata'] {
    const metadata = params['metadata'];
    if (metadata === undefined) return undefined;
    const { event_type: eventType, event_payload: eventPayload } = (metadata ?? {}) as { event_type?: unknown; event_payload?: unknown };
    if (typeof eventType !== 'string' || eventType === '' || typeof eventPayload !== 'object' || eventPayload === null) {
      throw new SlackMethodError('invalid_metadata_format');
    }
    return { event_type: eventType, event_payload: structuredClone(eventPayload) };
  }

  /** Slack ts ("1700000000.000100") as a number of microseconds, for ordering and oldest/latest. */
  function tsMicros(ts: string): number {
    const [seconds = '0', fraction = ''] = ts.split('.');
    return Number(seconds) * 1e6 + Number(fraction.padEnd(6, '0').slice(0, 6));
  }

  /** Shared by conversations.history and .replies: the window, the page and the cursor. */
  function historyPage(params: Params, list: StoredMessage[], at: number, method: string): Reply {
    const limited = historyRateLimit(method, at);
    if (limited !== undefined) return limited;
    const truthy = (name: string) => params[name] === true || params[name] === 'true' || params[name] === '1';
    const inclusive = truthy('inclusive');
    const oldest = optionalString(params, 'oldest');
    const latest = optionalString(params, 'latest');
    const oldestMicros = oldest === undefined ? -1 : tsMicros(oldest);
    const latestMicros = latest === undefined ? Number.POSITIVE_INFINITY : tsMicros(latest);
    const inWindow = list.filter((m) => {
      const t = tsMicros(m.ts);
      return (inclusive ? t >= oldestMicros : t > oldestMicros) && (inclusive ? t <= latestMicros : t < latestMicros);
    });
    const rawLimit = Number(params['limit'] ?? 100);
    const limit = Math.min(historyMaxLimit, Math.max(1, Number.isFinite(rawLimit) && rawLimit > 0 ? Math.floor(rawLimit) : 100));
    const cursor = optionalString(params, 'cursor');
    let start = 0;
    if (cursor !== undefined) {
      const decoded = /^next:(\d+)$/.exec(Buffer.from(cursor, 'base64').toString('utf8'));
      if (decoded === null) throw new SlackMethodError('invalid_cursor');
      start = Number(decoded[1]);
    }
    const page = inWindow.slice(start, start + limit);
    const hasMore = start + limit < inWindow.length;
    return ok({
      messages: page.map((m) => messageJson(m, truthy('include_all_metadata'))),
      has_more: hasMore,
      ...(hasMore ? { response_metadata: { next_cursor: Buffer.from(`next:${start + limit}`).toString('base64') } } : {}),
    });
  }

  /** Checks `text`/`blocks` as chat.postMessage and chat.update do; returns the content to store. */
  function messageContent(params: Params): { text: string | undefined; blocks: unknown[] | undefined; warnings: string[] } {
    const rawText = params['text'];
    let text = typeof rawText === 'string' ? rawText : rawText === undefined ? undefined : String(rawText);
    const blocks = params['blocks'];
    if (blocks !== undefined && !Array.isArray(blocks)) throw new SlackMethodError('invalid_blocks_format');
    const hasAttachments = Array.isArray(params['attachments']) && params['attachments'].length > 0;
    if ((text === undefined || text === '') && (blocks === undefined || blocks.length === 0) && !hasAttachments) {
      throw new SlackMethodError('no_text');
    }
    if (blocks !== undefined) validateBlocks(blocks, SLACK_LIMITS.blocksPerMessage, '/blocks');
    const warnings: string[] = [];
    if (text !== undefined && text.length > SLACK_LIMITS.textChars) {
      if (textOverLimit === 'error') throw new SlackMethodError('msg_too_long');
      text = text.slice(0, SLACK_LIMITS.textChars);
      warnings.push('message_truncated');
    }
    return { text, blocks, warnings };
  }

  function withWarnings(body: Record<string, unknown>, warnings: readonly string[]): Record<string, unknown> {
    if (warnings.length === 0) return body;
    return {
      ...body,
      response_metadata: {
        messages: ['[WARN] Your message was truncated but still posted. The `text` field accepts up to 40,000 characters.'],
        warnings,
      },
    };
  }

  // ---- rate limits --------------------------------------------------------------------------

  function rateLimited(retryAfterSeconds: number): Reply {
    return {
      status: 429,
      body: { ok: false, error: 'ratelimited' },
      headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
    };
  }

  /** 1 message per second per channel; thread replies count against their channel. */
  function postRateLimit(channel: string, at: number): Reply | undefined {
    const last = lastPostAt.get(channel);
    if (last === undefined) return undefined;
    const waitMs = last + minIntervalMs - at;
    return waitMs > toleranceMs ? rateLimited(waitMs / 1000) : undefined;
  }

  /** Tier 3 for the workspace: every chat.update that is not itself refused counts. */
  function updateRateLimit(at: number): Reply | undefined {
    while (updateTimes.length > 0 && (updateTimes[0] ?? 0) <= at - MINUTE_MS) updateTimes.shift();
    if (updateTimes.length < updatesPerMinute) {
      updateTimes.push(at);
      return undefined;
    }
    return rateLimited(((updateTimes[0] ?? at) + MINUTE_MS - at) / 1000);
  }

  /** Tier 3 for the workspace, per method: conversations.history and conversations.replies. */
  function historyRateLimit(method: string, at: number): Reply | undefined {
    const times = historyTimes.get(method) ?? [];
    historyTimes.set(method, times);
    while (times.length > 0 && (times[0] ?? 0) <= at - MINUTE_MS) times.shift();
    if (times.length < historyPerMinute) {
      times.push(at);
      return undefined;
    }
    return rateLimited(((times[0] ?? at) + MINUTE_MS - at) / 1000);
  }

  // ---- methods ------------------------------------------------------------------------------

  type Handler = (params: Params, at: number) => Reply;

  const methods: Record<string, Handler> = {
    // Answered in handleMethod: it is the one method that wants the app-level token.
    'apps.connections.open': () => ok({}),

    'auth.test': () =>
      ok({
      url: `https://${teamName.toLowerCase().replaceAll(/[^a-z0-9]+/g, '-')}.slack.com/`,
      team: teamName,
      user: 'lookout',
      team_id: teamId,
      user_id: botUserId,
      bot_id: botId,
      ...(options.enterpriseId !== undefined ? { enterprise_id: options.enterpriseId } : {}),
      is_enterprise_install: false,
    }),

    'chat.postMessage': (params, at) => {
      const channel = requireMemberChannel(params, true);
      const limited = postRateLimit(channel, at);
      if (limited !== undefined) return limited;
      let threadTs = optionalString(params, 'thread_ts');
      if (threadTs !== undefined) {
        const parent = findMessage(channel, threadTs);
        if (parent === undefined) throw new SlackMethodError('thread_not_found');
        // Slack threads a reply to a reply under the original parent.
        threadTs = parent.threadTs ?? parent.ts;
      }
      const { text, blocks, warnings } = messageContent(params);
      const metadata = messageMetadata(params);
      const message: StoredMessage = {
        channel,
        ts: nextTs(),
        metadata,
        threadTs,
        user: botUserId,
        botId,
        text: text ?? '',
        blocks,
        history: [],
      };
      channelMessages(channel).push(message);
      lastPostAt.set(channel, at);
      return ok(withWarnings({ channel, ts: message.ts, message: messageJson(message, true) }, warnings));
    },

    // Top-level messages newest first (thread replies are not listed), within (oldest, latest).
    'conversations.history': (params, at) => {
      const channel = requireMemberChannel(params, false);
      const list = channelMessages(channel).filter((m) => m.threadTs === undefined).slice().reverse();
      return historyPage(params, list, at, 'conversations.history');
    },

    // The parent first, then its replies oldest first.
    'conversations.replies': (params, at) => {
      const channel = requireMemberChannel(params, false);
      const ts = requireString(params, 'ts');
      const parent = findMessage(channel, ts);
      if (parent === undefined) throw new SlackMethodError('thread_not_found');
      const root = parent.threadTs ?? parent.ts;
      const list = channelMessages(channel).filter((m) => m.ts === root || m.threadTs === root);
      return historyPage(params, list, at, 'conversations.replies');
    },

    'chat.update': (params, at) => {
      const limited = updateRateLimit(at);
      if (limited !== undefined) return limited;
      const channel = requireMemberChannel(params, true);
      const ts = requireString(params, 'ts');
      const message = findMessage(channel, ts);
      if (message === undefined) throw new SlackMethodError('message_not_found');
      if (message.botId !== botId) throw new SlackMethodError('cant_update_message');
      const { text, blocks, warnings } = messageContent(params);
      message.history.push({ text: message.text, blocks: message.blocks, at });
      // Omitted blocks keep the old ones; an empty array removes them (chat.update docs).
      if (blocks !== undefined) message.blocks = blocks.length > 0 ? blocks : undefined;
      if (text !== undefined) message.text = text;
      return ok(withWarnings({ channel, ts, text: message.text, message: messageJson(message) }, warnings));
    },

    'chat.postEphemeral': (params) => {
      const channel = requireChannel(params);
      const user = requireString(params, 'user');
      // Membership is not modelled: a user the fake does not know is not in the channel.
      const member = users.get(user);
      if (member === undefined || member.deleted === true) throw new SlackMethodError('user_not_in_channel');
      const { text, blocks } = messageContent(params);
      const messageTs = nextTs();
      ephemerals.push({ channel, user, text: text ?? '', blocks, threadTs: optionalString(params, 'thread_ts'), messageTs });
      return ok({ message_ts: messageTs });
    },

    'users.info': (params) => {
      const user = users.get(requireString(params, 'user'));
      if (user === undefined) throw new SlackMethodError('user_not_found');
      const realName = user.realName ?? user.name ?? user.id;
      return ok({
        user: {
          id: user.id,
          team_id: user.teamId ?? teamId,
          name: user.name ?? user.id.toLowerCase(),
          deleted: user.deleted ?? false,
          real_name: realName,
          is_bot: user.isBot ?? false,
          is_app_user: user.isAppUser ?? false,
          is_restricted: (user.isRestricted ?? false) || (user.isUltraRestricted ?? false),
          is_ultra_restricted: user.isUltraRestricted ?? false,
          ...(user.isStranger === true ? { is_stranger: true } : {}),
          ...(user.email !== undefined ? { is_email_confirmed: user.emailConfirmed ?? true } : {}),
          profile: {
            real_name: realName,
            display_name: user.name ?? '',
            ...(user.email !== undefined ? { email: user.email } : {}),
          },
        },
      });
    },

    'usergroups.users.list': (params) => {
      const members = usergroups.get(requireString(params, 'usergroup'));
      if (members === undefined) throw new SlackMethodError('no_such_subteam');
      return ok({ users: [...members] });
    },

    'views.open': (params, at) => {
      const view = params['view'];
      if (view === undefined) requireString(params, 'view');
      if (typeof view !== 'object' || view === null || Array.isArray(view)) throw new SlackMethodError('invalid_arguments');
      const triggerId = optionalString(params, 'trigger_id') ?? optionalString(params, 'interactivity_pointer');
      if (triggerId === undefined) requireString(params, 'trigger_id');
      if (!/^\d+\.\d+\.[0-9a-f]+$/.test(triggerId ?? '')) throw new SlackMethodError('invalid_trigger_id');
      const trigger = triggers.get(triggerId ?? '');
      // A well-formed trigger the fake never issued is, from here, indistinguishable from an expired one.
      if (trigger === undefined || at > trigger.expiresAt) throw new SlackMethodError('expired_trigger_id');
      if (trigger.used) throw new SlackMethodError('exchanged_trigger_id');
      validateView(view as Params);
      trigger.used = true;
      views.push(structuredClone(view));
      return ok({ view: { id: `V${String(views.length).padStart(8, '0')}`, team_id: teamId, app_id: appId, bot_id: botId, ...view } });
    },

    // Replaces an open view by its id (Slack also takes external_id; Lookout does not use it).
    'views.update': (params) => {
      const viewId = requireString(params, 'view_id');
      const view = params['view'];
      if (typeof view !== 'object' || view === null || Array.isArray(view)) throw new SlackMethodError('invalid_arguments');
      const index = /^V(\d{8})$/.exec(viewId);
      if (index === null || Number(index[1]) < 1 || Number(index[1]) > views.length) throw new SlackMethodError('not_found');
      validateView(view as Params);
      viewUpdates.push({ viewId, view: structuredClone(view) });
      return ok({ view: { id: viewId, team_id: teamId, app_id: appId, bot_id: botId, ...view } });
    },
  };

  // ---- HTTP ---------------------------------------------------------------------------------

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const rawBody = await readBody(req);

    if (url.pathname.startsWith('/response/') && req.method === 'POST') {
      responseUrlPosts.push({ id: url.pathname.slice('/response/'.length), body: parseLoose(rawBody), at: now() });
      send(res, { status: 200, body: { ok: true } });
      return;
    }
    const match = /^\/api\/([A-Za-z0-9_.]+)$/.exec(url.pathname);
    if (match === null || match[1] === undefined) {
      send(res, { status: 404, body: { ok: false, error: 'not_found' } });
      return;
    }
    const method = match[1];
    const at = now();
    const call: MutableCall = { method, params: {}, auth: 'none', at, status: null, response: null, injected: false };
    calls.push(call);

    const answer = (reply: Reply): void => {
      call.status = reply.status;
      call.response = reply.body;
      send(res, reply);
    };

    const parsed = parseParams(req.headers['content-type'], rawBody, url.searchParams);
    if ('error' in parsed) {
      answer({ status: 200, body: { ok: false, error: parsed.error } });
      return;
    }
    const { params, bodyToken } = parsed;
    const headerToken = bearerToken(req.headers.authorization);
    call.auth = headerToken !== undefined ? 'header' : bodyToken !== undefined ? 'param' : 'none';
    call.params = params;

    const failure = failures.get(method)?.shift();
    if (failure !== undefined) {
      call.injected = true;
      // Left unanswered: the client's timeout, or close(), ends it.
      if (failure.kind === 'hang') return;
      answer(injectedReply(failure.kind, failure.retryAfterSeconds));
      return;
    }

    const fault = activeFaults.find(
      (f) => f.until > now() && (f.method === undefined || f.method === method) && (f.channel === undefined || f.channel === params['channel']),
    );
    if (fault !== undefined && fault.mode !== 'slow' && fault.mode !== 'slowAccept') {
      call.injected = true;
      if (fault.mode === 'hang') return;
      answer(injectedReply(fault.mode === 'error' ? (fault.error ?? 'internal_error') : fault.mode, fault.retryAfterSeconds ?? 1));
      return;
    }
    if (fault?.mode === 'slow') await delay(fault.delayMs ?? 5000);
    const reply = handleMethod(method, params, headerToken ?? bodyToken, fault?.mode === 'slow' ? now() : at);
    if (fault?.mode === 'slowAccept') await delay(fault.delayMs ?? 5000);
    answer(reply);
  }

  function handleMethod(method: string, params: Params, presented: string | undefined, at: number): Reply {
    const handler = methods[method];
    if (handler === undefined) {
      // Observed from Slack: HTTP 200, and the method echoed back.
      return { status: 200, body: { ok: false, error: 'unknown_method', req_method: method } };
    }
    if (presented === undefined) return { status: 200, body: { ok: false, error: 'not_authed' } };
    // Socket Mode's one method takes the app-level token, and only that kind of token.
    if (method === 'apps.connections.open') {
      if (presented === appToken) return ok({ url: socketMode.openUrl() });
      return { status: 200, body: { ok: false, error: presented.startsWith('xapp-') ? 'invalid_auth' : 'not_allowed_token_type' } };
    }
    if (presented !== token) return { status: 200, body: { ok: false, error: presented === appToken ? 'not_allowed_token_type' : 'invalid_auth' } };
    try {
      const reply = handler(params, at);
      return { ...reply, headers: { 'x-oauth-scopes': scopes.join(','), ...reply.headers } };
    } catch (error) {
      if (!(error instanceof SlackMethodError)) throw error;
      return { status: 200, body: { ok: false, error: error.message, ...error.extra } };
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // A bug in the fake must fail loudly, not look like a Slack answer.
      console.error('fake-slack: internal error', error);
      if (!res.headersSent) send(res, { status: 500, body: { ok: false, error: 'fake_slack_internal_error' } });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  const origin = `http://127.0.0.1:${port}`;
  const socketMode = createFakeSocketMode({ server, origin, appId, now });

  return {
    url: `${origin}/api/`,
    token,
    appToken,
    socketMode,
    calls,
    callsTo: (method) => calls.filter((c) => c.method === method),
    messages: (channel) => channelMessages(channel).filter((m) => m.threadTs === undefined).map(snapshot),
    replies: (channel, threadTs) => channelMessages(channel).filter((m) => m.threadTs === threadTs).map(snapshot),
    ephemerals: (channel) => structuredClone(ephemerals.filter((e) => e.channel === channel)),
    views: () => structuredClone(views),
    viewUpdates: () => structuredClone(viewUpdates),
    failNext(method, n, kind, failOptions = {}) {
      const queue = failures.get(method) ?? [];
      for (let i = 0; i < n; i++) queue.push({ kind, retryAfterSeconds: failOptions.retryAfterSeconds ?? 1 });
      failures.set(method, queue);
    },
    addChannel: (id) => void channels.add(id),
    fault(spec) {
      const entry = { ...spec, until: spec.forMs === undefined ? Number.POSITIVE_INFINITY : now() + spec.forMs };
      activeFaults.push(entry);
      return () => {
        const index = activeFaults.indexOf(entry);
        if (index >= 0) activeFaults.splice(index, 1);
      };
    },
    invite: (id) => void uninvited.delete(id),
    archive: (id) => void archived.add(id),
    issueTriggerId() {
      triggerSeq += 1;
      // Shaped like Slack's ("12345.98765.abcd2358fdea"), which views.open checks.
      const id = `${1_000_000_000_000 + triggerSeq}.1000000000.${triggerSeq.toString(16).padStart(32, '0')}`;
      triggers.set(id, { expiresAt: now() + triggerTtlMs, used: false });
      return id;
    },
    postAsUser(channel, user, text, threadTs) {
      const message: StoredMessage = { channel, ts: nextTs(), metadata: undefined, threadTs, user, botId: undefined, text, blocks: undefined, history: [] };
      channelMessages(channel).push(message);
      return message.ts;
    },
    responseUrl() {
      responseUrlSeq += 1;
      return `${origin}/response/${responseUrlSeq}`;
    },
    responseUrlPosts,
    close() {
      // Idempotent, so a test may close early and afterEach may close again.
      closing ??= new Promise<void>((resolve, reject) => {
        socketMode.close();
        server.close((error) => (error ? reject(error) : resolve()));
        // Drops every socket, hung requests and idle keep-alive ones alike, which would otherwise hold the server open.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

// ---- Block Kit validation -------------------------------------------------------------------

/** Slack's `invalid_blocks` answer: the reason in `errors` and again in `response_metadata`. */
function invalidBlocks(message: string, pointer: string): SlackMethodError {
  const detail = `${message} [json-pointer:${pointer}]`;
  return new SlackMethodError('invalid_blocks', { errors: [detail], response_metadata: { messages: [`[ERROR] ${detail}`] } });
}

function textOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const text = (value as { text?: unknown }).text;
  return typeof text === 'string' ? text : undefined;
}

function validateBlocks(blocks: readonly unknown[], maxBlocks: number, pointer: string): void {
  if (blocks.length > maxBlocks) throw invalidBlocks(`no more than ${maxBlocks} items allowed`, pointer);
  blocks.forEach((block, i) => validateBlock(block, `${pointer}/${i}`));
}

function validateBlock(block: unknown, at: string): void {
  if (typeof block !== 'object' || block === null || Array.isArray(block)) throw invalidBlocks('expected object', at);
  const { type, block_id: blockId } = block as { type?: unknown; block_id?: unknown };
  if (typeof type !== 'string') throw invalidBlocks('missing required field: type', at);
  if (typeof blockId === 'string' && blockId.length > SLACK_LIMITS.blockIdChars) {
    throw invalidBlocks(`must be less than ${SLACK_LIMITS.blockIdChars + 1} characters`, `${at}/block_id`);
  }
  const b = block as Record<string, unknown>;
  switch (type) {
    case 'section': {
      const text = textOf(b['text']);
      const fields = b['fields'];
      if (text === undefined && !Array.isArray(fields)) throw invalidBlocks('must provide either text or fields', at);
      if (text !== undefined) checkLength(text, 1, SLACK_LIMITS.sectionTextChars, `${at}/text/text`);
      if (Array.isArray(fields)) {
        if (fields.length > SLACK_LIMITS.sectionFields) throw invalidBlocks(`no more than ${SLACK_LIMITS.sectionFields} items allowed`, `${at}/fields`);
        fields.forEach((field, j) => checkLength(textOf(field) ?? '', 1, SLACK_LIMITS.sectionFieldChars, `${at}/fields/${j}/text`));
      }
      return;
    }
    case 'header': {
      const text = b['text'];
      if (textOf(text) === undefined || (text as { type?: unknown }).type !== 'plain_text') {
        throw invalidBlocks('must be a plain_text text object', `${at}/text`);
      }
      checkLength(textOf(text) ?? '', 1, SLACK_LIMITS.headerTextChars, `${at}/text/text`);
      return;
    }
    case 'context':
      checkCount(b['elements'], SLACK_LIMITS.contextElements, `${at}/elements`);
      return;
    case 'actions':
      checkCount(b['elements'], SLACK_LIMITS.actionsElements, `${at}/elements`);
      return;
    default:
      return;
  }
}

function checkLength(text: string, min: number, max: number, pointer: string): void {
  if (text.length < min) throw invalidBlocks(`must be more than ${min - 1} characters`, pointer);
  if (text.length > max) throw invalidBlocks(`must be less than ${max + 1} characters`, pointer);
}

function checkCount(elements: unknown, max: number, pointer: string): void {
  if (!Array.isArray(elements) || elements.length === 0) throw invalidBlocks('must provide at least 1 item', pointer);
  if (elements.length > max) throw invalidBlocks(`no more than ${max} items allowed`, pointer);
}

function validateView(view: Params): void {
  if (view['type'] !== 'modal') throw new SlackMethodError('invalid_arguments', { response_metadata: { messages: ['[ERROR] must be modal [json-pointer:/view/type]'] } });
  const title = textOf(view['title']);
  if (title === undefined) throw invalidBlocks('missing required field: title', '/view/title');
  checkLength(title, 1, SLACK_LIMITS.viewTitleChars, '/view/title/text');
  const blocks = view['blocks'];
  if (!Array.isArray(blocks)) throw invalidBlocks('missing required field: blocks', '/view/blocks');
  validateBlocks(blocks, SLACK_LIMITS.blocksPerView, '/view/blocks');
}

// ---- HTTP helpers ---------------------------------------------------------------------------

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

/**
 * Decodes arguments from a query string plus a form or JSON body, as Slack accepts them. JSON
 * bodies must carry the token in the Authorization header: Slack ignores a `token` inside JSON.
 */
function parseParams(
  contentType: string | undefined,
  rawBody: string,
  query: URLSearchParams,
): { params: Params; bodyToken: string | undefined } | { error: string } {
  const params: Params = Object.fromEntries(query);
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  let bodyToken = typeof params['token'] === 'string' ? params['token'] : undefined;

  if (rawBody !== '') {
    if (mediaType === 'application/x-www-form-urlencoded') {
      const form = new URLSearchParams(rawBody);
      for (const [key, value] of form) params[key] = value;
      bodyToken = form.get('token') ?? bodyToken;
    } else if (mediaType === 'application/json') {
      let json: unknown;
      try {
        json = JSON.parse(rawBody);
      } catch {
        return { error: 'invalid_json' };
      }
      if (typeof json !== 'object' || json === null || Array.isArray(json)) return { error: 'json_not_object' };
      const { token: _ignored, ...rest } = json as Params;
      Object.assign(params, rest);
    } else if (mediaType === '') {
      return { error: 'missing_post_type' };
    } else {
      return { error: 'invalid_post_type' };
    }
  }
  delete params['token'];
  for (const name of JSON_VALUED_ARGS) {
    const value = params[name];
    if (typeof value !== 'string') continue;
    try {
      params[name] = JSON.parse(value);
    } catch {
      // Left as a string: the method then answers `invalid_blocks_format` or `invalid_arguments`.
    }
  }
  return { params, bodyToken };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function parseLoose(rawBody: string): unknown {
  try {
    return JSON.parse(rawBody);
  } catch {
    return rawBody;
  }
}

function injectedReply(kind: FakeSlackFailure, retryAfterSeconds: number): Reply {
  if (kind === 'http500') return { status: 500, body: 'Internal Server Error' };
  if (kind === 'ratelimited') {
    return { status: 429, body: { ok: false, error: 'ratelimited' }, headers: { 'retry-after': String(retryAfterSeconds) } };
  }
  return { status: 200, body: { ok: false, error: kind } };
}

/** A successful method answer: HTTP 200 and `ok: true` beside the method's fields. */
function ok(body: Readonly<Record<string, unknown>>): Reply {
  return { status: 200, body: { ok: true, ...body } };
}

function send(res: ServerResponse, reply: Reply): void {
  const isText = typeof reply.body === 'string';
  const payload = isText ? (reply.body as string) : JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'content-type': isText ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    ...reply.headers,
  });
  res.end(payload);
}
