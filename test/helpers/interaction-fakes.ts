import type { ModalView } from '@slack/types';
import type { ReplyContent } from '../../commands/command.ts';
import type { z } from 'zod';
import type { InteractionSlack } from '../../src/slack/interaction-slack.ts';
import { StoredInteractions } from '../../src/slack/stored-interactions.ts';
import { inProcessStore } from '../../src/state/in-process-store.ts';
import { SqliteStore } from '../../src/state/sqlite-store.ts';
import type { Store } from '../../src/state/store.ts';

/** An InteractionSlack that records every call; `failOpenView` makes views.open fail. */
export class RecordingInteractionSlack implements InteractionSlack {
  readonly ephemerals: Array<{ channel: string; user: string; text: string }> = [];
  readonly views: Array<{ triggerId: string; view: ModalView }> = [];
  readonly viewUpdates: Array<{ viewId: string; view: ModalView }> = [];
  readonly responses: Array<{ url: string; body: Record<string, unknown> }> = [];
  readonly posts: Array<{ channel: string; threadTs: string | undefined; text: string; ts: string }> = [];
  readonly updates: Array<{ channel: string; ts: string; text: string }> = [];
  /** Everything in call order, e.g. `views.open`, `chat.postEphemeral`. */
  readonly order: string[] = [];
  failOpenView: Error | undefined;
  private seq = 0;

  async postEphemeral(channel: string, user: string, content: ReplyContent): Promise<void> {
    this.order.push('chat.postEphemeral');
    this.ephemerals.push({ channel, user, text: content.text });
  }

  async openView(triggerId: string, view: ModalView): Promise<string> {
    this.order.push('views.open');
    if (this.failOpenView) throw this.failOpenView;
    this.views.push({ triggerId, view: structuredClone(view) });
    return `V${this.views.length}`;
  }

  async updateView(viewId: string, view: ModalView): Promise<void> {
    this.order.push('views.update');
    this.viewUpdates.push({ viewId, view: structuredClone(view) });
  }

  readonly respond = async (url: string, body: Record<string, unknown>): Promise<void> => {
    this.order.push('response_url');
    this.responses.push({ url, body: structuredClone(body) });
  };

  readonly thread = {
    postMessage: async (message: { channel: string; text: string; threadTs?: string }): Promise<{ ts: string }> => {
      this.order.push('chat.postMessage');
      this.seq += 1;
      const ts = `1800000000.${String(this.seq).padStart(6, '0')}`;
      this.posts.push({ channel: message.channel, threadTs: message.threadTs, text: message.text, ts });
      return { ts };
    },
    updateMessage: async (message: { channel: string; text: string; ts: string }): Promise<void> => {
      this.order.push('chat.update');
      this.updates.push({ channel: message.channel, ts: message.ts, text: message.text });
    },
  };
}

/**
 * StoredInteractions over a store (by default its own in-memory SQLite), recording the ids it
 * hands out so tests can ask which entries are still there (`live()`).
 */
export function storedInteractions<T>(kind: string, schema: z.ZodType<T>, options: { store?: Store; now?: () => number; ttlMs?: number } = {}) {
  const store = options.store ?? inProcessStore(new SqliteStore(':memory:'));
  const now = options.now ?? Date.now;
  const ids: string[] = [];
  const recording: Pick<Store, 'addPendingInteraction' | 'peekPendingInteraction' | 'claimPendingInteraction'> = {
    addPendingInteraction: async (entry, at, maxEntries) => {
      ids.push(entry.id);
      await store.addPendingInteraction(entry, at, maxEntries);
    },
    peekPendingInteraction: (id, entryKind, at) => store.peekPendingInteraction(id, entryKind, at),
    claimPendingInteraction: (id, entryKind, owner, at) => store.claimPendingInteraction(id, entryKind, owner, at),
  };
  const interactions = new StoredInteractions({ store: recording, kind, schema, ttlMs: options.ttlMs ?? 60_000, now });
  const live = async (): Promise<string[]> => {
    const found = await Promise.all(ids.map(async (id) => ((await store.peekPendingInteraction(id, kind, now())) ? id : undefined)));
    return found.filter((id) => id !== undefined);
  };
  return { interactions, live, store };
}
