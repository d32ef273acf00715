import type { FollowUpWork, ReplyContent } from '../../commands/command.ts';
import type { Logger } from '../log.ts';
import { SlackCallError, type SlackApi } from './slack-api.ts';

/**
 * Where one reply is shown and later edited. The dispatcher owns it; commands and actions only
 * describe states of their reply (commands/command.ts: ReplyContent, FollowUpWork).
 */
export interface ReplyChannel {
  /**
   * Shows a state of the reply. An intermediate state may be skipped (returns false) to keep
   * what is left of Slack's budget for the final one; a final state is always attempted.
   */
  show(content: ReplyContent, final: boolean): Promise<boolean>;
}

/** POSTs a JSON body to a response_url (Slack's, or the fake's in tests). */
export type ResponseUrlPoster = (url: string, body: Record<string, unknown>) => Promise<void>;

/** Slack: a response_url takes at most 5 posts within 30 minutes of the interaction. */
export const RESPONSE_URL_POSTS = 5;
export const RESPONSE_URL_LIFETIME_MS = 30 * 60_000;

/**
 * The ephemeral reply to a slash command or to a click in such a reply, edited through its
 * response_url (`replace_original`). Budget: 5 posts in 30 minutes. Intermediate states use
 * all but the last; the last is kept for the final state, so a rollout that outlasts its
 * progress budget still ends with the truth. After 30 minutes nothing more can be shown.
 */
export class ResponseUrlReply implements ReplyChannel {
  private posts = 0;
  private readonly startedAt: number;
  private readonly url: string;
  private readonly post: ResponseUrlPoster;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly replaceOriginal: boolean;

  /**
   * `usedPosts`: posts already made to this response_url (the command's first reply).
   * `replaceOriginal`: the first post replaces the message the interaction came from (a click
   * in an ephemeral reply); otherwise it is a new reply, and later posts replace it.
   */
  constructor({ url, post, log, now = Date.now, usedPosts = 0, replaceOriginal = false }: { url: string; post: ResponseUrlPoster; log: Logger; now?: () => number; usedPosts?: number; replaceOriginal?: boolean }) {
    this.url = url;
    this.replaceOriginal = replaceOriginal;
    this.post = post;
    this.log = log;
    this.now = now;
    this.posts = usedPosts;
    this.startedAt = now();
  }

  async show(content: ReplyContent, final: boolean): Promise<boolean> {
    const left = RESPONSE_URL_POSTS - this.posts;
    if (left <= 0 || (!final && left <= 1) || this.now() - this.startedAt >= RESPONSE_URL_LIFETIME_MS) return false;
    this.posts += 1;
    try {
      await this.post(this.url, { response_type: 'ephemeral', replace_original: this.replaceOriginal || this.posts > 1, text: content.text, ...(content.blocks ? { blocks: content.blocks } : {}) });
      return true;
    } catch (error) {
      this.log.warn({ err: error, final }, 'could not edit the reply through its response_url');
      return false;
    }
  }
}

/**
 * A message in an alert's thread that the bot posts once and then edits (chat.update), for the
 * outcome of an alert-message button: everyone in the channel sees who did what and how the
 * rollout went. No post budget; edits are spaced by the follow-up's interval.
 */
export class ThreadMessageReply implements ReplyChannel {
  private ts: string | undefined;
  private readonly slack: Pick<SlackApi, 'postMessage' | 'updateMessage'>;
  private readonly channel: string;
  private readonly threadTs: string;
  private readonly log: Logger;

  constructor({ slack, channel, threadTs, log }: { slack: Pick<SlackApi, 'postMessage' | 'updateMessage'>; channel: string; threadTs: string; log: Logger }) {
    this.slack = slack;
    this.channel = channel;
    this.threadTs = threadTs;
    this.log = log;
  }

  async show(content: ReplyContent, final: boolean): Promise<boolean> {
    const message = { channel: this.channel, text: content.text, ...(content.blocks ? { blocks: content.blocks } : {}) };
    // The outbox posts in the same channel at ~1/s (Slack's limit), so a 429 is likely while it
    // has a burst to send: wait out Retry-After (plus jitter, so as not to race its next post
    // to the millisecond) for up to ~15 s rather than leave the thread without the outcome.
    let waited = 0;
    for (;;) {
      try {
        if (this.ts === undefined) this.ts = (await this.slack.postMessage({ ...message, threadTs: this.threadTs })).ts;
        else await this.slack.updateMessage({ ...message, ts: this.ts });
        return true;
      } catch (error) {
        const retryAfter = error instanceof SlackCallError && error.failure.kind === 'rate_limited' ? error.failure.retryAfterMs : undefined;
        if (retryAfter !== undefined && waited + retryAfter <= 15_000) {
          const wait = retryAfter + Math.floor(Math.random() * 400);
          waited += wait;
          await new Promise((resolve) => setTimeout(resolve, wait));
          continue;
        }
        this.log.warn({ err: error, final, channel: this.channel }, 'could not post or edit the thread reply of an action');
        return false;
      }
    }
  }
}

export interface FollowThroughOptions {
  /** Least time between two intermediate edits. */
  minIntervalMs: number;
  signal: AbortSignal;
  log: Logger;
  /** What the person sees when the work throws something that is not theirs to read. */
  failure: (error: unknown) => ReplyContent;
  now?: () => number;
}

/**
 * Runs a reply's follow-up work: `update`s are coalesced (one edit in flight, the latest waiting
 * state wins, at least `minIntervalMs` apart) and the work's result is shown as the final state.
 * @returns the final state shown (or attempted).
 */
export async function followThrough(work: FollowUpWork, channel: ReplyChannel, options: FollowThroughOptions): Promise<ReplyContent> {
  const now = options.now ?? Date.now;
  let waiting: ReplyContent | undefined;
  let sending: Promise<void> | undefined;
  let lastShownAt = -Infinity;
  let timer: NodeJS.Timeout | undefined;
  let done = false;

  const pump = (): void => {
    if (done || sending !== undefined || waiting === undefined) return;
    const wait = lastShownAt + options.minIntervalMs - now();
    if (wait > 0) {
      timer ??= setTimeout(() => {
        timer = undefined;
        pump();
      }, wait);
      return;
    }
    const content = waiting;
    waiting = undefined;
    lastShownAt = now();
    sending = channel.show(content, false).then(
      () => undefined,
      () => undefined,
    );
    void sending.then(() => {
      sending = undefined;
      pump();
    });
  };

  let final: ReplyContent;
  try {
    final = await work({
      update(content) {
        waiting = content;
        pump();
      },
      signal: options.signal,
    });
  } catch (error) {
    final = options.failure(error);
  }
  done = true;
  if (timer !== undefined) clearTimeout(timer);
  // The final state goes after any edit still in flight, so it is the one left showing.
  await sending;
  await channel.show(final, true);
  return final;
}
