import pg from 'pg';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/state/postgres-store.ts';
import type { QueuedWork } from '../../src/state/store.ts';
import { payload } from '../helpers/fakes.ts';
import { sendChanges, sendStorm, stormRoutes, type StormSpec } from '../support/fault-storm.ts';
import { waitFor } from '../support/free-port.ts';
import { channelLeases, startReplicas, type LookoutReplica } from '../support/lookout-replicas.ts';
import { startLookoutTestBed, type LookoutTestBed } from '../support/lookout-test-bed.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres-database.ts';
import { testServers } from '../support/servers/test-servers.ts';

/*
 * Issue 16, cross-replica wake-up: one replica holds a channel's lease; a change for that channel
 * reaches the other only (a Service in front of the replicas). Its fold NOTIFYs, the holder's
 * LISTEN connection hears it and the holder's outbox edits at once. Without the notification the
 * holder would see the change only at its next lease renewal: with a 30 s lease, 10 s after it
 * claimed the channel for the first post, so about 9 s after the change below is sent. The bound (4 s: one Slack
 * interval of pacing after the first post, plus a slow shared machine) is one a renewal-time
 * wake cannot meet.
 */

const DEFAULT_CHANNEL = 'C0ALERTS';
const CHANNEL = 'C0WAKE';
const SPEC: StormSpec = { groups: 2, channels: [CHANNEL], changed: 2 };
const LONG_LEASE = { replicas: { leaseDuration: '30s' } };
/** Well under the 10 s (a third of the lease) a renewal-time wake would take. */
const WAKE_BOUND_MS = 4_000;

let bed: LookoutTestBed | undefined;
let replicas: LookoutReplica[] = [];
let database: TestDatabase | undefined;
let stores: PostgresStore[] = [];

afterEach(async () => {
  await Promise.all(stores.map((store) => store.store.close()));
  stores = [];
  await Promise.all(replicas.map((replica) => replica.stop()));
  replicas = [];
  await bed?.close();
  bed = undefined;
  await database?.drop();
  database = undefined;
});

/** Sends `send` and waits for the channel's chat.update count to grow: how long that took (ms). */
async function editLatency(send: () => Promise<void>): Promise<number> {
  const slack = bed!.slack;
  const updates = () => slack.callsTo('chat.update').filter((call) => call.status === 200 && call.params['channel'] === CHANNEL).length;
  const before = updates();
  const sentAt = Date.now();
  await send();
  await waitFor('the edit of the changed group', () => (updates() > before ? true : undefined), 30_000, 20);
  return Date.now() - sentAt;
}

/** Waits until `count` LISTEN connections are open on the database. */
async function listening(url: string, name: string, count: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const query = "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'lookout-listen' AND state = 'idle'";
    await waitFor(`${count} LISTEN connections`, async () => ((await client.query<{ n: number }>(query, [name])).rows[0]!.n === count ? true : undefined), 20_000, 50);
  } finally {
    await client.end();
  }
}

/** Ends the LISTEN connections of the test's database (both replicas') and waits for both to be back. */
async function terminateListenConnections(url: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const listening = "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'lookout-listen'";
    const { rows } = await client.query<{ pid: number }>(listening, [name]);
    expect(rows).toHaveLength(2);
    await client.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [rows.map((row) => row.pid)]);
    const old = new Set(rows.map((row) => row.pid));
    await waitFor('both replicas listening again', async () => {
      const now = (await client.query<{ pid: number }>(listening, [name])).rows;
      return now.length === 2 && now.every((row) => !old.has(row.pid)) ? true : undefined;
    }, 20_000, 100);
  } finally {
    await client.end();
  }
}

describe('two replicas on one PostgreSQL: work queued on one wakes the other', () => {
  it('a change folded on one replica reaches Slack through the other (holding the channel) well before a lease renewal; again after the LISTEN connections were killed', async () => {
    database = await createTestDatabase(testServers().postgres, 'lookout_wake');
    bed = await startLookoutTestBed({ slack: { channels: [DEFAULT_CHANNEL, CHANNEL] }, channel: DEFAULT_CHANNEL, config: { routes: stormRoutes([CHANNEL]), ...LONG_LEASE } });
    replicas = await startReplicas(bed, database.url, ['replica-a', 'replica-b']);

    // Both groups posted (sent to a; b, woken by a's fold, may be the one that took the channel),
    // and the holder keeps the channel for the lease's duration.
    await sendStorm(replicas[0]!.url, bed.webhookToken, SPEC);
    await waitFor('both groups posted', () => (bed!.slack.messages(CHANNEL).length === 2 ? true : undefined), 20_000, 20);
    const holder = (await channelLeases(database.url)).get(CHANNEL);
    const other = replicas.find((replica) => replica.id !== holder)!;
    expect(replicas.map((replica) => replica.id)).toContain(holder);

    // The first group's change (resolved), sent to the replica that does not hold the channel.
    const first = await editLatency(() => sendChanges(other.url, bed!.webhookToken, { ...SPEC, changed: 1 }));
    expect(first).toBeLessThan(WAKE_BOUND_MS);

    // The database ends both LISTEN sessions; each replica connects again and still wakes.
    await terminateListenConnections(database.url, database.name);
    // The second group's change (a second alert), to the other replica only (the first group's is sent again: no change).
    const second = await editLatency(() => sendChanges(other.url, bed!.webhookToken, SPEC));
    expect(second).toBeLessThan(WAKE_BOUND_MS);

    // Every edit was the holder's: the other never took the channel.
    expect(await channelLeases(database.url)).toEqual(new Map([[CHANNEL, holder]]));
    // Both changes shown (the two groups were posted in either order).
    const texts = bed.slack.messages(CHANNEL).map((message) => message.text);
    expect(texts).toHaveLength(2);
    expect(texts).toEqual(expect.arrayContaining([expect.stringContaining('RESOLVED'), expect.stringContaining('FIRING:2')]));
    console.info(`cross-replica edit latency: ${first} ms; after the LISTEN connections were killed: ${second} ms`);
  }, 120_000);

  it('store level: a commit that queued work is heard by the other store only, a fold that changed nothing by nobody; a reconnect wakes everything once', async () => {
    database = await createTestDatabase(testServers().postgres, 'lookout_wake');
    const listeningChanges: boolean[] = [];
    const open = () =>
      new PostgresStore({ url: database!.url, log: pino({ level: 'silent' }), fold: { routes: [], defaultChannel: 'CDEFAULT' }, onListeningChange: (up) => listeningChanges.push(up) });
    stores = [open(), open()];
    const [a, b] = stores as [PostgresStore, PostgresStore];
    await Promise.all(stores.map((store) => store.opened()));
    await listening(database.url, database.name, 2);
    const heard: Record<'a' | 'b', QueuedWork[]> = { a: [], b: [] };
    a.store.onRemoteChange((work) => heard.a.push(work));
    b.store.onRemoteChange((work) => heard.b.push(work));

    const notification = payload('{}:{alertname="Wake"}', [{ fingerprint: 'w1' }]);
    await b.store.addNotifications([{ payload: notification, receivedAt: Date.now() }]);
    expect(await b.store.foldInbox(10)).toEqual({ changed: 1, more: false });
    // The same notification again (an Alertmanager retry): folded, nothing changed, nothing announced.
    await b.store.addNotifications([{ payload: notification, receivedAt: Date.now() }]);
    expect(await b.store.foldInbox(10)).toEqual({ changed: 0, more: false });
    // A notice after it: notifications arrive in commit order, so once it is heard, the rest was.
    await b.store.addNotice('CAUDIT', 'an audit line', Date.now());
    await waitFor('the notice heard', () => (heard.a.length >= 3 ? true : undefined), 10_000, 20);
    expect(heard).toEqual({ a: ['slack', 'enrichment', 'slack'], b: [] });

    // LISTEN connections ended: back, each store wakes everything once, for what it may have missed.
    await terminateListenConnections(database.url, database.name);
    await waitFor('the wake after reconnecting', () => (heard.a.length >= 5 && heard.b.length >= 2 ? true : undefined), 10_000, 20);
    expect(heard).toEqual({ a: ['slack', 'enrichment', 'slack', 'slack', 'enrichment'], b: ['slack', 'enrichment'] });
    // What lookout_state_change_listener_connected shows: up, down, up again, for each store.
    expect(listeningChanges.filter((up) => up)).toHaveLength(4);
    expect(listeningChanges.filter((up) => !up)).toHaveLength(2);
    expect(listeningChanges.at(-1)).toBe(true);
  }, 60_000);
});
