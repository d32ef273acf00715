import { MessageChannel } from 'node:worker_threads';
import { pino } from 'pino';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { SqliteStore } from '../../../src/state/sqlite-store.ts';
import { storeBatches, type StoreBatches } from '../../../src/state/store-batches.ts';
import type { FromWorker, StoreRequest } from '../../../src/state/store-worker-protocol.ts';
import { payload } from '../../helpers/fakes.ts';

type Answers = Extract<FromWorker, { type: 'answers' }>;

/*
 * The store worker's batches, run in this thread: a batch is one SQLite transaction held open
 * while the named transactions in it await their calls, so nothing that arrives meanwhile may
 * run inside it (async-engine.ts).
 */
describe('storeBatches', () => {
  let engine: SqliteStore;

  beforeEach(() => {
    engine = new SqliteStore(':memory:');
  });

  function start(store: SqliteStore): { batches: StoreBatches; sent: Answers[] } {
    const sent: Answers[] = [];
    const batches = storeBatches({ store, fold: { routes: [], defaultChannel: 'CDEFAULT' }, log: pino({ level: 'silent' }), send: (message) => sent.push(message) });
    return { batches, sent };
  }

  const add = (id: number, groupKey: string): StoreRequest => ({
    id,
    name: 'addNotifications',
    args: [[{ payload: payload(groupKey, [{ fingerprint: 'a' }]), receivedAt: id }]],
  });
  const ids = (sent: Answers[]) => sent.map((message) => message.answers.map((answer) => [answer.id, answer.ok]));

  it('a call that arrives while a batch runs goes to the next batch, committed after this one', async () => {
    let arrived = false;
    // The fold's first read stands for "while the batch's transaction is open".
    const store = Object.assign(Object.create(engine) as SqliteStore, {
      pendingNotifications: (limit: number) => {
        if (!arrived) batches.add(add(3, 'late'));
        arrived = true;
        return engine.pendingNotifications(limit);
      },
    });
    const { batches, sent } = start(store);
    batches.add(add(1, 'g'));
    batches.add({ id: 2, name: 'foldInbox', args: [10] });
    await vi.waitFor(() => expect(sent).toHaveLength(3));
    // The intake, then the fold in a transaction of its own, then the late call.
    expect(ids(sent)).toEqual([[[1, true]], [[2, true]], [[3, true]]]);
    // The late call committed on its own, after the fold: the fold did not see it.
    expect(sent[2]!.commits.full - sent[1]!.commits.full).toBe(1);
    expect(sent[1]!.answers[0]).toMatchObject({ value: { changed: 1 } });
    expect(engine.pendingNotifications(10).map((notification) => notification.payload.groupKey)).toEqual(['late']);
  });

  it('a message from another thread is delivered only after the running batch committed and answered', async () => {
    // What the worker relies on: message events are macrotasks, and a batch awaits only
    // microtasks (the engine answers at once), so a batch ends before the next message is seen.
    const { port1, port2 } = new MessageChannel();
    let sentWhenDelivered: number | undefined;
    const store = Object.assign(Object.create(engine) as SqliteStore, {
      latestGroup: (groupKey: string) => {
        port1.postMessage('meanwhile');
        return engine.latestGroup(groupKey);
      },
    });
    const { batches, sent } = start(store);
    const delivered = new Promise<void>((resolve) =>
      port2.once('message', () => {
        sentWhenDelivered = sent.length;
        resolve();
      }),
    );
    for (let id = 1; id <= 5; id++) batches.add(add(id, `g${id}`));
    batches.add({ id: 6, name: 'foldInbox', args: [10] });
    await delivered;
    port1.close();
    // Both answers of the batch (the intakes, then the fold) were sent before the message was seen.
    expect(sentWhenDelivered).toBe(2);
    expect(sent[0]!.answers.map((answer) => answer.ok)).toEqual([true, true, true, true, true]);
    expect(sent[1]!.answers[0]).toMatchObject({ id: 6, value: { changed: 5, more: false } });
  });

  it('answers the webhooks queued with a fold before the fold runs, with one fsync, and the fold folds them too', async () => {
    // Issue 11: beside a CPU hog a fold took up to 23 ms, and the intake queued with it waited for it.
    let answeredWhenFoldRan: number[] | undefined;
    const store = Object.assign(Object.create(engine) as SqliteStore, {
      pendingNotifications: (limit: number) => {
        answeredWhenFoldRan ??= sent.flatMap((message) => message.answers.map((answer) => answer.id));
        return engine.pendingNotifications(limit);
      },
    });
    const { batches, sent } = start(store);
    const before = engine.commitCount();
    // The fold was asked for first; the intakes came in the same turn.
    batches.add({ id: 1, name: 'foldInbox', args: [10] });
    batches.add(add(2, 'a'));
    batches.add(add(3, 'b'));
    await batches.settled();
    expect(answeredWhenFoldRan).toEqual([2, 3]);
    expect(ids(sent)).toEqual([[[2, true], [3, true]], [[1, true]]]);
    expect(sent[1]!.answers[0]).toMatchObject({ value: { changed: 2, more: false } });
    // The intake's commit is the one fsync; the fold's commit is made durable by the next one.
    const after = engine.commitCount();
    expect([after.full - before.full, after.normal - before.normal]).toEqual([1, 1]);
  });

  it('settled() runs what is queued and resolves once it is answered', async () => {
    const { batches, sent } = start(engine);
    batches.add(add(1, 'g'));
    await batches.settled();
    expect(ids(sent)).toEqual([[[1, true]]]);
    expect(engine.pendingNotifications(10)).toHaveLength(1);
  });
});
