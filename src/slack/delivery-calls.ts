import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { Flight } from './delivery.ts';
import { lookUpUnknownPost, type UnknownPost } from './look-up-unknown-post.ts';
import { SlackCallError, type MessageMarker, type OutgoingMessage, type SlackApi } from './slack-api.ts';
import type { SlackPacing } from './slack-pacing.ts';

/** Slack errors that say the blocks were rejected; the message is re-sent as plain text. */
const BLOCK_ERRORS = new Set(['invalid_blocks', 'invalid_blocks_format', 'msg_too_long', 'msg_blocks_too_long']);

/** What a call is for, in log lines. */
export interface CallContext {
  kind: string;
  groupKey: string;
}

/**
 * The Slack calls a delivery makes, under the outbox's rules: paced per channel, a post's intent
 * recorded first, blocks Slack refuses sent again as plain text, and nothing more once the
 * delivery was abandoned at its deadline.
 */
export class DeliveryCalls {
  private readonly slack: SlackApi;
  private readonly metrics: Metrics;
  private readonly log: Logger;
  private readonly pacing: SlackPacing;
  private readonly now: () => number;

  constructor(options: { slack: SlackApi; metrics: Metrics; log: Logger; pacing: SlackPacing; now: () => number }) {
    this.slack = options.slack;
    this.metrics = options.metrics;
    this.log = options.log;
    this.pacing = options.pacing;
    this.now = options.now;
  }

  /**
   * chat.postMessage after recording the intent: if that write fails, nothing is posted (a post
   * that cannot be recorded could be posted again later).
   */
  async post(
    message: OutgoingMessage & { threadTs?: string; marker: MessageMarker },
    recordIntent: () => Promise<void>,
    context: CallContext,
    flight: Flight,
  ): Promise<string> {
    await recordIntent();
    // Abandoned while the intent was written (a slow store): its delivery was tried again
    // meanwhile, here or on the replica that took the channel, and this post would be a second one.
    if (flight.abandoned) throw new Error('the post was abandoned while its intent was recorded');
    this.pacing.spaceFromNow(message.channel);
    const { blocks, ...rest } = message;
    return this.withPlainTextFallback(
      async (withBlocks) => (await this.slack.postMessage({ ...rest, ...(withBlocks && blocks && blocks.length > 0 ? { blocks } : {}) })).ts,
      context,
      flight,
    );
  }

  /** chat.update of a message Lookout posted; `withBlocks: false` when Slack refused the blocks. */
  async update(message: (withBlocks: boolean) => OutgoingMessage & { ts: string }, context: CallContext, flight: Flight): Promise<void> {
    await this.withPlainTextFallback((withBlocks) => this.slack.updateMessage(message(withBlocks)), context, flight);
  }

  /** A line with no marker and no intent (a thread reply, a notice): paced, and sent once. */
  async postLine(message: { channel: string; text: string; threadTs?: string }, flight: Flight): Promise<void> {
    this.pacing.spaceFromNow(message.channel);
    this.callStarts(flight);
    await this.slack.postMessage(message);
  }

  /** An edit outside any pacing or fallback (the moved copy's line). */
  async updateOnce(message: OutgoingMessage & { ts: string }, flight: Flight): Promise<void> {
    this.callStarts(flight);
    await this.slack.updateMessage(message);
  }

  /** Looks for the post of an attempt whose outcome is unknown (see lookUpUnknownPost). */
  lookUp(post: UnknownPost, flight: Flight): Promise<string | undefined> {
    return lookUpUnknownPost({ slack: this.slack, metrics: this.metrics, log: this.log }, post, () => {
      // An abandoned lookup reads no more pages: its delivery is already being tried again.
      if (flight.abandoned) throw new Error('the lookup was abandoned at its deadline');
      this.pacing.historyPageRead();
      this.callStarts(flight);
    });
  }

  /** Each call has the client's own timeout: the delivery's deadline counts from the latest. */
  private callStarts(flight: Flight): void {
    flight.callStartedAt = this.now();
  }

  /**
   * Sends with blocks and, when Slack refuses the layout, once more as plain text: the text
   * still tells people about the alert. Not once the call was abandoned at its deadline: the
   * delivery was tried again meanwhile, and a late plain-text copy would be a second post, or
   * put an older version back over a newer edit.
   */
  private async withPlainTextFallback<T>(send: (withBlocks: boolean) => Promise<T>, context: CallContext, flight: Flight): Promise<T> {
    try {
      this.callStarts(flight);
      return await send(true);
    } catch (error) {
      if (flight.abandoned) throw error;
      if (!(error instanceof SlackCallError) || error.failure.kind !== 'permanent' || !BLOCK_ERRORS.has(error.failure.reason)) throw error;
      this.log.warn({ ...context, reason: error.failure.reason }, 'Slack rejected the blocks; sending plain text');
      this.callStarts(flight);
      return send(false);
    }
  }
}
