import type { KnownBlock, ModalView } from '@slack/types';
import type { WebClient } from '@slack/web-api';
import type { ReplyContent } from '../../commands/command.ts';
import { cleanText, type Redactor } from '../redact-secrets.ts';
import { cleanBlocks } from './clean-outgoing.ts';
import { postToResponseUrl } from './post-response-url.ts';
import type { ResponseUrlPoster } from './reply-channel.ts';
import type { SlackApi } from './slack-api.ts';

/** The Slack calls interactive replies make; every text leaves cleaned (redacted). */
export interface InteractionSlack {
  /** A message only `user` sees in `channel`. */
  postEphemeral(channel: string, user: string, content: ReplyContent): Promise<void>;
  /** views.open: call it first thing after the click, the trigger_id lives 3 s and works once. Returns the view's id. */
  openView(triggerId: string, view: ModalView): Promise<string>;
  /** views.update of an open modal. */
  updateView(viewId: string, view: ModalView): Promise<void>;
  /** POST to a response_url (5 posts within 30 minutes; see reply-channel.ts). */
  respond: ResponseUrlPoster;
  /** Thread replies that the bot edits (chat.postMessage with thread_ts, chat.update). */
  thread: Pick<SlackApi, 'postMessage' | 'updateMessage'>;
}

export interface WebInteractionSlackOptions {
  client: Pick<WebClient, 'chat' | 'views'>;
  /** The cleaning SlackApi (CleanOutgoingSlackApi) the outbox uses. */
  thread: Pick<SlackApi, 'postMessage' | 'updateMessage'>;
  redactor: Redactor;
  /** Deadline of a response_url post. */
  timeoutMs?: number;
}

/** InteractionSlack over Bolt's WebClient and postToResponseUrl (response_url posts need no token). */
export function createInteractionSlack({ client, thread, redactor, timeoutMs = 10_000 }: WebInteractionSlackOptions): InteractionSlack {
  const clean = <T extends { text?: string; blocks?: KnownBlock[] }>(content: T): T => ({
    ...content,
    ...(content.text !== undefined ? { text: cleanText(content.text, redactor) } : {}),
    ...(content.blocks !== undefined ? { blocks: cleanBlocks(content.blocks, redactor) } : {}),
  });
  return {
    async postEphemeral(channel, user, content) {
      await client.chat.postEphemeral({ channel, user, ...clean(content) });
    },
    async openView(triggerId, view) {
      const opened = await client.views.open({ trigger_id: triggerId, view: cleanBlocks(view, redactor) });
      if (opened.view?.id === undefined) throw new Error('views.open answered without a view id');
      return opened.view.id;
    },
    async updateView(viewId, view) {
      await client.views.update({ view_id: viewId, view: cleanBlocks(view, redactor) });
    },
    async respond(url, body) {
      await postToResponseUrl(url, clean(body as { text?: string; blocks?: KnownBlock[] }), timeoutMs);
    },
    thread,
  };
}

/**
 * Console mode: no request can be verified, so no interaction ever arrives; should one be
 * attempted anyway, it fails loudly instead of pretending to reach Slack.
 */
export function consoleInteractionSlack(): InteractionSlack {
  const unavailable = async (): Promise<never> => Promise.reject(new Error('console mode: Slack is not configured'));
  return { postEphemeral: unavailable, openView: unavailable, updateView: unavailable, respond: unavailable, thread: { postMessage: unavailable, updateMessage: unavailable } };
}
