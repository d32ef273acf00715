import type { Logger } from '../log.ts';
import { asyncEngine } from './async-engine.ts';
import type { SqliteStore } from './sqlite-store.ts';
import { storageFailure } from './store-health.ts';
import { errorFields, type FromWorker, type StoreAnswer, type StoreRequest } from './store-worker-protocol.ts';
import { runOnEngine, transactionContext, type FoldSettings, type StoreCallName, type StoreTransactionName } from './store-transactions.ts';

/*
 * How the store worker (store-worker.ts) runs calls on its one SQLite connection. Calls that
 * arrive while it is busy (a commit's fsync, a fold) form the next batch, run in order in ONE
 * transaction, each call in a savepoint of its own: one fsync for the lot, and a call that fails
 * (a bug, a constraint) undoes only its own writes. A storage failure (disk full, I/O error) or a
 * failed COMMIT fails every call of the batch, since SQLite may have rolled the whole transaction
 * back. Answers are sent only after the COMMIT: a webhook answered 2xx is on disk.
 */

/** Calls that only read: they need no transaction and no commit. */
const READS: ReadonlySet<string> = new Set<StoreCallName>([
  'pendingNotifications',
  'latestGroup',
  'nextMessagePerChannel',
  'nextReplyPerChannel',
  'nextDueAt',
  'groupsAwayFromChannel',
  'channelsWithMessagesAway',
  'outboxDepth',
  'groupByMessage',
  'nextNoticePerChannel',
  'pendingNotices',
  'groupById',
  'groupsAwaitingEnrichment',
  'nextDetailPerChannel',
  'storedRows',
  'silencedGroups',
  'alertMessages',
  'leaseHolder',
  'peekPendingInteraction',
]);

/**
 * Writes whose loss in a power cut the state already covers, so a batch of only these (and reads)
 * commits without an fsync (synchronous=NORMAL): what Slack shows is recorded again from the post
 * intent (looked up by its marker), a delivery attempt or an edit is repeated, enrichment or
 * pruning is redone, a fold is undone together with the inbox rows it removed. Every write that
 * promises something outside (a webhook's 2xx, an intent before its post, a reply or notice
 * removed as sent, an acknowledgement) commits with an fsync, which also makes everything
 * committed before it durable: nothing reaches Slack on the strength of an unsynced write.
 */
const RELAXED: ReadonlySet<string> = new Set<StoreCallName | StoreTransactionName>([
  'recordMessagePosted',
  'markMessageDelivered',
  'markDetailDelivered',
  'clearMessagePost',
  'clearDetailPost',
  'clearNoticePost',
  'deferMessage',
  'deferReply',
  'deferNotice',
  'deferDetail',
  'abandonMessage',
  'abandonDetail',
  'forgetMessage',
  'forgetDetail',
  'saveEnrichmentResults',
  'releaseEnrichment',
  'pruneResolvedGroups',
  'foldInbox',
  // A lease or a pending confirmation lost in a power cut is claimed again, or the command typed again.
  'claimLeases',
  'releaseLeases',
  'addPendingInteraction',
]);

export interface StoreBatchesOptions {
  store: SqliteStore;
  fold: FoldSettings;
  log: Logger;
  /** Where answers go (to the main thread). */
  send: (message: Extract<FromWorker, { type: 'answers' }>) => void;
}

export interface StoreBatches {
  /** Queues a call: it runs with the calls that arrive before the next turn of the event loop. */
  add(request: StoreRequest): void;
  /** Resolves once every call added so far has run and been answered. */
  settled(): Promise<void>;
}

export function storeBatches({ store, fold, log, send }: StoreBatchesOptions): StoreBatches {
  const context = transactionContext(fold, log);
  const engine = asyncEngine(store);
  let queue: StoreRequest[] = [];
  let scheduled = false;
  // Batches run one after the other on the one connection (see async-engine.ts). A batch awaits
  // only microtasks (the engine answers at once), so it ends before the next message from the
  // main thread (a macrotask) is even delivered; the chain keeps that true should a call ever
  // await more.
  let running: Promise<void> = Promise.resolve();

  return {
    add(request) {
      queue.push(request);
      // Every message that arrived meanwhile is delivered before setImmediate runs: one batch.
      if (!scheduled) {
        scheduled = true;
        setImmediate(() => {
          running = running.then(drain);
        });
      }
    },
    settled() {
      running = running.then(() => (queue.length > 0 ? drain() : undefined));
      return running;
    },
  };

  async function drain(): Promise<void> {
    scheduled = false;
    // Calls that arrive from here on form the next batch, after this one committed.
    const batch = queue;
    queue = [];
    // The inbox fold is background work of some milliseconds (more beside a CPU hog, when the
    // thread loses its core mid-fold): the calls that came with it, a webhook's intake among them,
    // are committed and answered first, and the fold runs in a transaction of its own after them
    // (one fsync still: a fold alone commits without one). The main thread asks for one fold at a
    // time and awaits it, so nothing it sent after the fold depends on the fold having run.
    await runBatch(batch.filter(({ name }) => name !== 'foldInbox'));
    for (const request of batch) if (request.name === 'foldInbox') await runBatch([request]);
  }

  /** Runs calls as one batch: the reads ahead of the first write at once, the rest in one transaction. */
  async function runBatch(calls: StoreRequest[]): Promise<void> {
    let batch = calls;
    // Reads ahead of the batch's first write see only what is committed: answered at once,
    // without waiting for the batch's fsync (the outbox's reads, mostly).
    const firstWrite = batch.findIndex(({ name }) => !READS.has(name));
    const leading = firstWrite === -1 ? batch : batch.slice(0, firstWrite);
    if (leading.length > 0) {
      const answers: StoreAnswer[] = [];
      for (const { id, name, args } of leading) {
        try {
          answers.push({ id, ok: true, value: await runOnEngine(engine, context, name, args) });
        } catch (error) {
          answers.push({ id, ok: false, error: errorFields(error) });
        }
      }
      send({ type: 'answers', answers, ping: store.ping(), commits: store.commitCount() });
      batch = batch.slice(leading.length);
    }
    if (batch.length === 0) return;
    let answers: StoreAnswer[] = [];
    try {
      store.setSynchronous(batch.every(({ name }) => READS.has(name) || RELAXED.has(name)) ? 'NORMAL' : 'FULL');
      await engine.transaction(async () => {
        for (const { id, name, args } of batch) {
          try {
            answers.push({ id, ok: true, value: await engine.transaction(() => runOnEngine(engine, context, name, args)) });
          } catch (error) {
            if (storageFailure(error) !== undefined) throw error;
            answers.push({ id, ok: false, error: errorFields(error) });
          }
        }
      });
    } catch (error) {
      const fields = errorFields(error);
      answers = batch.map(({ id }) => ({ id, ok: false, error: fields }));
    }
    send({ type: 'answers', answers, ping: store.ping(), commits: store.commitCount() });
  }
}
