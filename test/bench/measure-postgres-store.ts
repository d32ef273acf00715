import { pino } from 'pino';
import { PostgresStore } from '../../src/state/postgres-store.ts';
import type { Store } from '../../src/state/store.ts';
import { payload } from '../helpers/fakes.ts';
import { createTestDatabase } from '../support/postgres-database.ts';

/*
 * What the PostgreSQL store's hot calls cost, and whether two replicas folding the same
 * notifications (an Alertmanager HA pair) conflict (docs/architecture.md, "PostgreSQL store").
 * Two stores on a fresh database of the server given (it needs CREATE DATABASE; the database is
 * dropped afterwards): sequential and concurrent webhooks (addNotifications), the inbox folded by
 * both at once, and the outbox's per-channel read. Not part of `npm run bench`; run it by hand:
 *
 *   node test/bench/measure-postgres-store.ts postgres://postgres:PASSWORD@127.0.0.1:PORT/postgres
 */

const serverUrl = process.argv[2];
if (serverUrl === undefined) throw new Error('usage: node test/bench/measure-postgres-store.ts <postgres:// URL of a server where it may create a database>');
const database = await createTestDatabase({ url: serverUrl }, 'lookout_measure');
let retries = 0;
// The store logs each conflict that re-runs a transaction at debug level: count them.
const log = pino({ level: 'debug' }, { write: (line: string) => void (line.includes('runs again') && (retries += 1)) });
const replicas = [0, 1].map(() => new PostgresStore({ url: database.url, log, fold: { routes: [], defaultChannel: 'CDEFAULT' } }));
try {
  await Promise.all(replicas.map((replica) => replica.opened()));
  const [a, b] = replicas.map((replica) => replica.store) as [Store, Store];
  const webhook = (i: number) => [{ payload: payload(`group-${i % 100}`, [{ fingerprint: `alert-${i}` }]), receivedAt: i }];

  let started = performance.now();
  for (let i = 0; i < 200; i++) await a.addNotifications(webhook(i));
  console.log(`addNotifications, one at a time: ${((performance.now() - started) / 200).toFixed(2)} ms each`);

  const concurrent = 2000;
  started = performance.now();
  await Promise.all(Array.from({ length: concurrent }, (_, i) => (i % 2 === 0 ? a : b).addNotifications(webhook(200 + i))));
  console.log(`addNotifications, ${concurrent} at once over two stores: ${Math.round(performance.now() - started)} ms`);

  started = performance.now();
  let calls = 0;
  const foldAll = async (store: Store): Promise<void> => {
    for (let more = true; more; calls += 1) more = (await store.foldInbox(100)).more;
  };
  await Promise.all([foldAll(a), foldAll(b)]);
  console.log(`inbox of ${200 + concurrent} folded by both stores at once: ${Math.round(performance.now() - started)} ms, ${calls} calls, ${retries} transactions re-run after a conflict`);

  started = performance.now();
  for (let i = 0; i < 100; i++) await a.nextMessagePerChannel(Date.now());
  console.log(`nextMessagePerChannel (100 groups, 1 channel): ${((performance.now() - started) / 100).toFixed(2)} ms each`);
} finally {
  await Promise.all(replicas.map((replica) => replica.store.close()));
  await database.drop();
}
