import { describe, expect, it } from 'vitest';
import type { ReplyContent } from '../../../commands/command.ts';
import { followThrough, ResponseUrlReply, ThreadMessageReply, type ReplyChannel } from '../../../src/slack/reply-channel.ts';
import { SlackCallError } from '../../../src/slack/slack-api.ts';
import { ManualClock, recordingLogger } from '../../helpers/fakes.ts';
import { RecordingInteractionSlack } from '../../helpers/interaction-fakes.ts';

const log = recordingLogger().log;

function responseUrl(options: { usedPosts?: number; replaceOriginal?: boolean; now?: () => number } = {}) {
  const posts: Array<Record<string, unknown>> = [];
  const reply = new ResponseUrlReply({ url: 'https://hooks.slack.com/commands/T/1/x', post: async (_url, body) => void posts.push(body), log, ...options });
  return { reply, posts };
}

describe('ResponseUrlReply: 5 posts within 30 minutes', () => {
  it('after the first reply, shows 3 intermediate states and keeps the 5th post for the final one', async () => {
    const { reply, posts } = responseUrl({ usedPosts: 1 });
    const shown: boolean[] = [];
    for (let i = 1; i <= 6; i++) shown.push(await reply.show({ text: `progress ${i}` }, false));
    expect(shown).toEqual([true, true, true, false, false, false]);
    expect(await reply.show({ text: 'done' }, true)).toBe(true);
    expect(posts.map((post) => post.text)).toEqual(['progress 1', 'progress 2', 'progress 3', 'done']);
    // Every post edits the reply in place, ephemeral as it was.
    expect(posts.every((post) => post.replace_original === true && post.response_type === 'ephemeral')).toBe(true);
    expect(await reply.show({ text: 'more' }, true)).toBe(false);
  });

  it('a fresh response_url posts a new reply first, then replaces it; a click in an ephemeral reply replaces from the start', async () => {
    const fresh = responseUrl();
    await fresh.reply.show({ text: 'a' }, false);
    await fresh.reply.show({ text: 'b' }, true);
    expect(fresh.posts.map((post) => post.replace_original)).toEqual([false, true]);
    const click = responseUrl({ replaceOriginal: true });
    await click.reply.show({ text: 'a' }, true);
    expect(click.posts[0]?.replace_original).toBe(true);
  });

  it('posts nothing once the 30 minutes are over', async () => {
    const clock = new ManualClock(0);
    const { reply, posts } = responseUrl({ now: clock.now });
    clock.advance(30 * 60_000);
    expect(await reply.show({ text: 'late' }, true)).toBe(false);
    expect(posts).toEqual([]);
  });

  it('sends blocks with the text', async () => {
    const { reply, posts } = responseUrl();
    await reply.show({ text: 't', blocks: [{ type: 'divider' }] }, true);
    expect(posts[0]).toMatchObject({ text: 't', blocks: [{ type: 'divider' }] });
  });
});

describe('ThreadMessageReply', () => {
  it('posts once in the thread, then edits that message', async () => {
    const slack = new RecordingInteractionSlack();
    const reply = new ThreadMessageReply({ slack: slack.thread, channel: 'C0ALERTS', threadTs: '1700000000.000100', log });
    await reply.show({ text: 'scaled' }, false);
    await reply.show({ text: 'scaled — rollout complete' }, true);
    expect(slack.posts).toEqual([{ channel: 'C0ALERTS', threadTs: '1700000000.000100', text: 'scaled', ts: '1800000000.000001' }]);
    expect(slack.updates).toEqual([{ channel: 'C0ALERTS', ts: '1800000000.000001', text: 'scaled — rollout complete' }]);
  });
});

describe('ThreadMessageReply under a busy channel', () => {
  it('waits out a 429 (Retry-After) and posts, rather than leaving the thread without the outcome', async () => {
    const slack = new RecordingInteractionSlack();
    let refusals = 1;
    const busy = {
      postMessage: async (message: { channel: string; text: string; threadTs?: string }) => {
        if (refusals-- > 0) throw new SlackCallError('chat.postMessage', { kind: 'rate_limited', retryAfterMs: 20 });
        return slack.thread.postMessage(message);
      },
      updateMessage: slack.thread.updateMessage,
    };
    const reply = new ThreadMessageReply({ slack: busy, channel: 'C0ALERTS', threadTs: '1700000000.000100', log });
    expect(await reply.show({ text: 'scaled' }, false)).toBe(true);
    expect(slack.posts.map((post) => post.text)).toEqual(['scaled']);
  });

  it('gives up on errors that are not rate limits', async () => {
    const failing = { postMessage: async () => Promise.reject(new SlackCallError('chat.postMessage', { kind: 'permanent', reason: 'invalid_blocks' })), updateMessage: async () => undefined };
    const reply = new ThreadMessageReply({ slack: failing, channel: 'C0ALERTS', threadTs: '1', log });
    expect(await reply.show({ text: 'x' }, true)).toBe(false);
  });
});

describe('followThrough', () => {
  function recording(): ReplyChannel & { shown: Array<[string, boolean]> } {
    const shown: Array<[string, boolean]> = [];
    return { shown, show: async (content: ReplyContent, final: boolean) => (shown.push([content.text, final]), true) };
  }

  it('coalesces updates: the latest waiting state wins, and the final state comes last', async () => {
    const channel = recording();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const done = followThrough(
      async (progress) => {
        progress.update({ text: '1/5' });
        progress.update({ text: '2/5' });
        progress.update({ text: '3/5' });
        await gate;
        return { text: '5/5 ready' };
      },
      channel,
      { minIntervalMs: 0, signal: new AbortController().signal, log, failure: () => ({ text: 'failed' }) },
    );
    await new Promise((resolve) => setTimeout(resolve, 10));
    release();
    expect(await done).toEqual({ text: '5/5 ready' });
    expect(channel.shown[0]).toEqual(['1/5', false]);
    expect(channel.shown.at(-1)).toEqual(['5/5 ready', true]);
    expect(channel.shown.map(([text]) => text)).not.toContain('2/5');
  });

  it('spaces edits by minIntervalMs', async () => {
    const channel = recording();
    await followThrough(
      async (progress) => {
        progress.update({ text: 'a' });
        await new Promise((resolve) => setTimeout(resolve, 5));
        progress.update({ text: 'b' });
        await new Promise((resolve) => setTimeout(resolve, 5));
        return { text: 'end' };
      },
      channel,
      { minIntervalMs: 60_000, signal: new AbortController().signal, log, failure: () => ({ text: 'failed' }) },
    );
    // 'b' came within the interval and was overtaken by the end.
    expect(channel.shown).toEqual([
      ['a', false],
      ['end', true],
    ]);
  });

  it('shows what failure() makes of a thrown error as the final state', async () => {
    const channel = recording();
    const final = await followThrough(
      async () => {
        throw new Error('boom');
      },
      channel,
      { minIntervalMs: 0, signal: new AbortController().signal, log, failure: (error) => ({ text: `failed: ${(error as Error).message}` }) },
    );
    expect(final).toEqual({ text: 'failed: boom' });
    expect(channel.shown).toEqual([['failed: boom', true]]);
  });
});
