import type { Writable } from 'node:stream';
import { renderMessageAsText } from '../../alerts/render-text.ts';
import type { HistoryPage, MessageMarker, OutgoingMessage, SlackApi } from './slack-api.ts';

/**
 * Console mode: instead of calling Slack, print each message readably, so Lookout can be
 * tried with nothing but curl. Message ids stand in for Slack's ts.
 */
export class ConsoleSlackApi implements SlackApi {
  private readonly out: Writable;
  private sequence = 0;

  constructor(out: Writable) {
    this.out = out;
  }

  async postMessage({ channel, threadTs, marker: _marker, ...message }: OutgoingMessage & { threadTs?: string; marker?: MessageMarker }): Promise<{ ts: string }> {
    const ts = `console.${++this.sequence}`;
    const title = threadTs ? `thread reply under message ${label(threadTs)} in #${channel}` : `message ${label(ts)} in #${channel}`;
    this.print(title, message);
    return { ts };
  }

  async updateMessage({ channel, ts, ...message }: OutgoingMessage & { ts: string }): Promise<void> {
    this.print(`message ${label(ts)} in #${channel} edited`, message);
  }

  /** Printing never leaves an outcome unknown, so the outbox never needs to look a post up. */
  async history(): Promise<HistoryPage> {
    return { messages: [] };
  }

  /** There is no token to refuse. */
  async authTest(): Promise<void> {}

  private print(title: string, { text, blocks }: Omit<OutgoingMessage, 'channel'>): void {
    const body = blocks ? renderMessageAsText({ text, blocks }) : text;
    this.out.write(`\n── ${title} ${'─'.repeat(Math.max(3, 60 - title.length))}\n${body.trimEnd()}\n`);
  }
}

function label(ts: string): string {
  return ts.replace(/^console\./, '#');
}
