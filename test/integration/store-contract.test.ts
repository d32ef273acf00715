import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertEnrichment } from '../../alerts/enrichers/enrichment.ts';
import type { GroupState } from '../../alerts/group-state.ts';
import { mergeNotification } from '../../alerts/merge-group.ts';
import { NOT_THIS_MESSAGE } from '../../alerts/acknowledge-group.ts';
import { DIGEST_REPEAT_MS } from '../../src/certificates/certificate-digest.ts';
import { foldInbox } from '../../src/fold-inbox.ts';
import { createLogger } from '../../src/log.ts';
import type { FoldSettings } from '../../src/state/store-transactions.ts';
import type { GroupRecord, NoticeRecord, ReplyRecord, Store } from '../../src/state/store.ts';
import { PostgresStore } from '../../src/state/postgres-store.ts';
import { WorkerStore } from '../../src/state/worker-store.ts';
import { payload, recordingLogger } from '../helpers/fakes.ts';
import { createTestDatabase } from '../support/postgres-database.ts';
import { testServers } from '../support/servers/test-servers.ts';

/*
 * Issue 16: one store contract, proven by one suite run against every backend through the `Store`
 * interface Lookout uses (its async calls and named transactions): SQLite (the production
 * WorkerStore on a file) and PostgreSQL (a database of its own on the harness's server). Each case
 * asserts what a wrong engine would get wrong. One store per backend, shared by the cases (each
 * uses its own group keys, channels and lease names); the few cases that read the whole store
 * (nextDueAt, outboxDepth, retention, the pending interactions' cap) get an empty one.
 * One backend only: `-t sqlite` or `-t postgres` (docs/testing.md).
 */

/** Lookout's store on one backend, and how to throw it away. */
interface OpenedStore {
  store: Store;
  close(): Promise<void>;
}

interface Backend {
  name: string;
  open(fold: FoldSettings): Promise<OpenedStore>;
}

const log = createLogger({ level: 'warn' });

const sqlite: Backend = {
  name: 'sqlite',
  async open(fold) {
    const dir = mkdtempSync(join(tmpdir(), 'lookout-store-contract-'));
    const worker = new WorkerStore({ path: join(dir, 'state.db'), log, fold });
    await worker.opened();
    return {
      store: worker.store,
      close: async () => {
        await worker.store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

const postgres: Backend = {
  name: 'postgres',
  async open(fold) {
    const database = await createTestDatabase(testServers().postgres, 'contract');
    const postgresStore = new PostgresStore({ url: database.url, log, fold });
    await postgresStore.opened();
    return {
      store: postgresStore.store,
      close: async () => {
        await postgresStore.store.close();
        await database.drop();
      },
    };
  },
};

const BACKENDS: Backend[] = [sqlite, postgres];

/** Groups labelled team=payments go to CPAY, the rest to CDEFAULT; a new group's first post waits up to 5 s for enrichment. */
const FOLD: FoldSettings = { routes: [{ match: { team: 'payments' }, channel: 'CPAY' }], defaultChannel: 'CDEFAULT', enrichmentBudgetMs: 5000 };
const BUDGET_MS = 5000;

const T = Date.parse('2026-01-01T00:00:00Z');
const STARTS = '2026-01-01T00:00:00Z';
const LATER_STARTS = '2026-01-01T06:00:00Z';

type AlertSpecs = Parameters<typeof payload>[1];

let counter = 0;
/** A name no other case uses: the cases share one store per backend. */
function unique(prefix: string): string {
  counter += 1;
  return `${prefix}${counter}`;
}

function stateOf(groupKey: string, alerts: AlertSpecs = [{ fingerprint: 'a' }]): GroupState {
  return mergeNotification(undefined, payload(groupKey, alerts)).state;
}

async function addGroup(store: Store, channel: string, alerts?: AlertSpecs, changedAt = T): Promise<GroupRecord> {
  const key = unique('group-');
  const id = await store.addGroup(key, channel, stateOf(key, alerts), changedAt);
  return (await store.groupById(id))!;
}

/** Folds the whole inbox as Lookout does, in batches. @returns how many notifications changed something. */
async function foldAll(store: Store): Promise<number> {
  let changed = 0;
  for (;;) {
    const batch = await store.foldInbox(100);
    changed += batch.changed;
    if (!batch.more) return changed;
  }
}

/** Delivers (removes) every due reply of `channel`, oldest first as the outbox would: @returns them. */
async function drainReplies(store: Store, channel: string, now = T): Promise<ReplyRecord[]> {
  const delivered: ReplyRecord[] = [];
  for (;;) {
    const next = (await store.nextReplyPerChannel(now)).find((reply) => reply.channel === channel);
    if (next === undefined) return delivered;
    delivered.push(next);
    await store.removeReply(next.id);
  }
}

async function drainNotices(store: Store, channel: string, now = T): Promise<NoticeRecord[]> {
  const delivered: NoticeRecord[] = [];
  for (;;) {
    const next = (await store.nextNoticePerChannel(now)).find((notice) => notice.channel === channel);
    if (next === undefined) return delivered;
    delivered.push(next);
    await store.removeNotice(next.id);
  }
}

/** The ids the outbox would take next in these channels (one per channel at most). */
async function nextMessages(store: Store, channels: string[], now: number): Promise<number[]> {
  return (await store.nextMessagePerChannel(now)).filter((group) => channels.includes(group.channel)).map((group) => group.id);
}

/** The model: per channel, the due unsent message first in (first posts before edits, oldest first); channels oldest first. */
function firstDuePerChannel(groups: GroupRecord[], now: number): number[] {
  const first = new Map<string, GroupRecord>();
  const rank = (group: GroupRecord): number => (group.messageTs === null ? 0 : 1);
  for (const group of groups) {
    const held = group.messageTs === null && group.enrichUntil !== null && group.enrichUntil > now;
    if (group.version <= group.postedVersion || group.delivery.nextAttemptAt > now || held) continue;
    const current = first.get(group.channel);
    if (current === undefined || rank(group) < rank(current) || (rank(group) === rank(current) && group.id < current.id)) first.set(group.channel, group);
  }
  return [...first.values()].map((group) => group.id).sort((a, b) => a - b);
}

function enrichmentOf(summary: string, detail?: string): AlertEnrichment {
  return {
    target: { namespace: 'shop', pod: 'api-0' },
    facts: [{ source: 'pod', summary, ...(detail === undefined ? {} : { detail }) }],
    failures: [{ source: 'logs', reason: 'timeout' }],
    complete: true,
  };
}

describe.each(BACKENDS)('store contract: $name', (backend) => {
  let opened: OpenedStore;
  let store: Store;
  let started: number;

  beforeAll(async () => {
    started = performance.now();
    opened = await backend.open(FOLD);
    store = opened.store;
  });
  afterAll(async () => {
    await opened?.close();
    console.error(`store contract on ${backend.name}: ${Math.round(performance.now() - started)} ms`);
  });

  describe('the inbox', () => {
    it('gives back accepted payloads exactly, oldest first, until deleted', async () => {
      const payloads = [1, 2, 3].map((i) => payload(unique('inbox-'), [{ fingerprint: `f${i}` }]));
      await store.addNotifications(payloads.map((entry, i) => ({ payload: entry, receivedAt: T + i })));
      const pending = await store.pendingNotifications(10);
      expect(pending.map(({ payload: entry, receivedAt }) => ({ payload: entry, receivedAt }))).toEqual(payloads.map((entry, i) => ({ payload: entry, receivedAt: T + i })));
      expect((await store.pendingNotifications(2)).map((entry) => entry.id)).toEqual(pending.slice(0, 2).map((entry) => entry.id));
      for (const entry of pending) await store.deleteNotification(entry.id);
      expect(await store.pendingNotifications(10)).toEqual([]);
      // addNotification, one at a time, answers the row's id.
      const id = await store.addNotification(payloads[0]!, T);
      expect((await store.pendingNotifications(10)).map((entry) => entry.id)).toEqual([id]);
      await store.deleteNotification(id);
    });

    it('folds a new group into the channel its labels route to, queues its enrichment and holds its first post', async () => {
      const paying = unique('fold-');
      const other = unique('fold-');
      await store.addNotifications([
        { payload: payload(paying, [{ fingerprint: 'a', labels: { team: 'payments' } }], { commonLabels: { alertname: 'X', team: 'payments' } }), receivedAt: T },
        { payload: payload(other, [{ fingerprint: 'b' }]), receivedAt: T + 10 },
      ]);
      expect(await foldAll(store)).toBe(2);
      expect(await store.pendingNotifications(10)).toEqual([]);
      const routed = (await store.latestGroup(paying))!;
      expect(routed).toMatchObject({ channel: 'CPAY', version: 1, postedVersion: 0, messageTs: null, changedAt: T, enrichUntil: T + BUDGET_MS });
      expect(routed.state.alerts.map((alert) => [alert.fingerprint, alert.status])).toEqual([['a', 'firing']]);
      expect((await store.latestGroup(other))!).toMatchObject({ channel: 'CDEFAULT', changedAt: T + 10, enrichUntil: T + 10 + BUDGET_MS });
      const work = (await store.groupsAwaitingEnrichment(1000)).filter((entry) => entry.group.id === routed.id);
      expect(work.map((entry) => entry.pending)).toEqual([{ a: STARTS }]);
    });

    it('folds in the order received: a group created by its first notification, changed by the next', async () => {
      const key = unique('order-');
      await store.addNotifications([
        { payload: payload(key, [{ fingerprint: 'a' }]), receivedAt: T + 100 },
        { payload: payload(key, [{ fingerprint: 'a' }, { fingerprint: 'b' }]), receivedAt: T + 200 },
      ]);
      expect(await foldAll(store)).toBe(2);
      // Folded newest first, the second would have changed nothing: version 1, changed at 200 too.
      expect(await store.latestGroup(key)).toMatchObject({ version: 2, changedAt: T + 200 });
    });

    it('edits the message for a change after the first post, with one thread reply; a repeat changes nothing', async () => {
      const key = unique('change-');
      await store.addNotifications([{ payload: payload(key, [{ fingerprint: 'a' }]), receivedAt: T }]);
      await foldAll(store);
      const group = (await store.latestGroup(key))!;
      await store.markMessageDelivered(group.id, '1700000000.000100', group.version);

      const resolved = payload(key, [{ fingerprint: 'a', status: 'resolved' }]);
      await store.addNotifications([{ payload: resolved, receivedAt: T + 1000 }]);
      expect(await foldAll(store)).toBe(1);
      const changed = (await store.latestGroup(key))!;
      expect(changed).toMatchObject({ id: group.id, version: 2, postedVersion: 1, changedAt: T + 1000 });
      expect(changed.state.alerts[0]!.status).toBe('resolved');

      // The same resolve again (a retry, the other Alertmanager of an HA pair): nothing to do.
      await store.addNotifications([{ payload: resolved, receivedAt: T + 2000 }]);
      expect(await foldAll(store)).toBe(0);
      expect(await store.latestGroup(key)).toEqual(changed);
      const replies = await drainReplies(store, 'CDEFAULT', T + 5000);
      expect(replies.filter((reply) => reply.groupId === group.id).map((reply) => [reply.messageTs, /resolved/i.test(reply.text)])).toEqual([['1700000000.000100', true]]);
    });

    it('starts a new episode, with a new group, when a resolved group fires again', async () => {
      const key = unique('episode-');
      await store.addNotifications([
        { payload: payload(key, [{ fingerprint: 'a' }]), receivedAt: T },
        { payload: payload(key, [{ fingerprint: 'a', status: 'resolved' }]), receivedAt: T + 1 },
      ]);
      await foldAll(store);
      const first = (await store.latestGroup(key))!;
      await store.addNotifications([{ payload: payload(key, [{ fingerprint: 'a', startsAt: LATER_STARTS }]), receivedAt: T + 2 }]);
      expect(await foldAll(store)).toBe(1);
      const second = (await store.latestGroup(key))!;
      expect(second.id).not.toBe(first.id);
      expect(second).toMatchObject({ version: 1, changedAt: T + 2 });
      expect((await store.groupById(first.id))!.state.alerts[0]!.status).toBe('resolved');
    });

    it('folds each notification once when several folds run at once', async () => {
      const keys = Array.from({ length: 12 }, () => unique('concurrent-'));
      await store.addNotifications(keys.map((key, i) => ({ payload: payload(key, [{ fingerprint: 'a' }]), receivedAt: T + i })));
      // The same notification twice, as an Alertmanager HA pair sends it: one group, one version.
      await store.addNotifications([{ payload: payload(keys[0]!, [{ fingerprint: 'a' }]), receivedAt: T + 20 }]);
      const folds = await Promise.all(Array.from({ length: 4 }, () => store.foldInbox(3)));
      const changed = folds.reduce((sum, fold) => sum + fold.changed, 0) + (await foldAll(store));
      expect(changed).toBe(keys.length);
      for (const key of keys) expect(await store.latestGroup(key), key).toMatchObject({ version: 1, changedAt: T + keys.indexOf(key) });
      expect(await store.pendingNotifications(10)).toEqual([]);
    });

    it('adds a batch all or nothing, and works on after a batch that failed', async () => {
      const good = payload(unique('atomic-'), [{ fingerprint: 'a' }]);
      // Not JSON (a BigInt): the second write of the batch fails, after the first one.
      const bad = { ...payload(unique('atomic-'), [{ fingerprint: 'b' }]), unserialisable: 1n } as unknown as typeof good;
      await expect(store.addNotifications([{ payload: good, receivedAt: T }, { payload: bad, receivedAt: T }])).rejects.toThrow(/BigInt/);
      expect(await store.pendingNotifications(10)).toEqual([]);
      await store.addNotifications([{ payload: good, receivedAt: T }]);
      expect((await store.pendingNotifications(10)).map((entry) => entry.payload)).toEqual([good]);
      expect(await foldAll(store)).toBe(1);
      // Side by side (one commit of the worker's batch on SQLite): the failing batch takes none of the other's writes with it.
      const other = payload(unique('atomic-'), [{ fingerprint: 'c' }]);
      const [failed, added] = await Promise.allSettled([store.addNotifications([{ payload: bad, receivedAt: T }]), store.addNotifications([{ payload: other, receivedAt: T }])]);
      expect([failed.status, added.status]).toEqual(['rejected', 'fulfilled']);
      expect((await store.pendingNotifications(10)).map((entry) => entry.payload)).toEqual([other]);
      expect(await foldAll(store)).toBe(1);
    });

    it('says `more` while a full batch was folded, and folds each notification once', async () => {
      const keys = [1, 2, 3, 4, 5].map(() => unique('batch-'));
      await store.addNotifications(keys.map((key, i) => ({ payload: payload(key, [{ fingerprint: 'a' }]), receivedAt: T + i })));
      expect(await store.foldInbox(2)).toEqual({ changed: 2, more: true });
      expect(await store.foldInbox(2)).toEqual({ changed: 2, more: true });
      expect(await store.foldInbox(2)).toEqual({ changed: 1, more: false });
      expect(await store.foldInbox(2)).toEqual({ changed: 0, more: false });
      for (const key of keys) expect((await store.latestGroup(key))!.version).toBe(1);
    });
    it('sets aside a notification whose fold fails every time, and folds every other one of its batch and after it', async () => {
      const keys = [1, 2, 3, 4, 5].map(() => unique('poison-'));
      // As an older intake could have stored it: no alerts array, so merging it throws every time.
      const poison = { ...payload(keys[1]!, [{ fingerprint: 'a' }]), alerts: null } as unknown as ReturnType<typeof payload>;
      await store.addNotifications(keys.map((key, i) => ({ payload: i === 1 ? poison : payload(key, [{ fingerprint: 'a' }]), receivedAt: T + i })));
      const before = await store.quarantinedNotifications();
      const poisonId = (await store.pendingNotifications(10))[1]!.id;
      // As Lookout folds it: in a batch that fails as a whole, then one at a time.
      await expect(store.foldInbox(100)).rejects.toThrow();
      const recorded = recordingLogger();
      let quarantined = 0;
      const changed = await foldInbox({ store, log: recorded.log, onQuarantined: () => (quarantined += 1), now: () => T + 99, batch: 3 });
      expect(changed).toBe(4);
      expect(quarantined).toBe(1);
      expect(await store.pendingNotifications(10)).toEqual([]);
      for (const [i, key] of keys.entries()) expect(await store.latestGroup(key), key).toMatchObject(i === 1 ? {} : { version: 1, changedAt: T + i });
      expect(await store.latestGroup(keys[1]!)).toBeUndefined();
      expect(await store.quarantinedNotifications()).toEqual({ count: before.count + 1, oldestReceivedAt: Math.min(before.oldestReceivedAt ?? Infinity, T + 1) });
      const logged = recorded.lines().filter((line) => line.level === 'error');
      expect(logged).toEqual([expect.objectContaining({ groupKey: keys[1], notificationId: poisonId, quarantineId: expect.any(Number), error: expect.stringMatching(/null/) })]);
      // Gone from the inbox once: quarantining it again moves nothing.
      expect(await store.quarantineNotification(poisonId, 'again', T)).toBeUndefined();
      expect((await store.quarantinedNotifications()).count).toBe(before.count + 1);
    });

    it('rejects a fold limit below 1 rather than answer `more` for ever', async () => {
      await expect(store.foldInbox(0)).rejects.toThrow(/limit must be a whole number of at least 1, not 0/);
    });
  });

  describe('records', () => {
    it('carry exactly the contract\'s fields, no more', async () => {
      const channel = unique('C');
      const key = unique('shape-');
      const state = stateOf(key);
      const id = await store.addGroup(key, channel, state, T);
      expect(await store.groupById(id)).toEqual({
        id,
        groupKey: key,
        channel,
        state,
        version: 1,
        postedVersion: 0,
        messageTs: null,
        messageChannel: null,
        postStartedAt: null,
        postChannel: null,
        changedAt: T,
        delivery: { attempts: 0, nextAttemptAt: 0, failingSince: null },
        enrichment: {},
        enrichUntil: null,
      });
      await store.markMessageDelivered(id, '15.0001', 1);
      await store.addReply(id, 'a reply', T + 1);
      const [reply] = (await store.nextReplyPerChannel(T)).filter((entry) => entry.groupId === id);
      expect(reply).toEqual({ id: reply!.id, groupId: id, channel, messageTs: '15.0001', text: 'a reply', createdAt: T + 1, delivery: { attempts: 0, nextAttemptAt: 0, failingSince: null } });
      await store.removeReply(reply!.id);
      await store.saveEnrichment(id, { enrichment: {}, handled: {}, releaseFirstPost: true, messageChanged: false, detailChanged: true });
      const [detail] = (await store.nextDetailPerChannel(T)).filter((entry) => entry.groupId === id);
      expect(detail).toEqual({
        id,
        groupId: id,
        groupKey: key,
        channel,
        parentTs: '15.0001',
        messageTs: null,
        postStartedAt: null,
        version: 1,
        postedVersion: 0,
        state,
        enrichment: {},
        delivery: { attempts: 0, nextAttemptAt: 0, failingSince: null },
      });
      await store.abandonDetail(id, 1);
      const noticeChannel = unique('CAUDIT');
      const noticeId = await store.addNotice(noticeChannel, 'a notice', T + 2);
      expect((await store.nextNoticePerChannel(T)).filter((entry) => entry.channel === noticeChannel)).toEqual([
        { id: noticeId, channel: noticeChannel, text: 'a notice', createdAt: T + 2, postStartedAt: null, postChannel: null, delivery: { attempts: 0, nextAttemptAt: 0, failingSince: null } },
      ]);
      await store.removeNotice(noticeId);
      const sent = payload(unique('shape-'), [{ fingerprint: 'a' }]);
      const notificationId = await store.addNotification(sent, T + 3);
      expect((await store.pendingNotifications(100)).filter((entry) => entry.id === notificationId)).toEqual([{ id: notificationId, receivedAt: T + 3, payload: sent }]);
      await store.deleteNotification(notificationId);
    });
  });

  describe('the outbox reads', () => {
    it('give one message per channel: first posts before edits, oldest first, none before it is due or while its first post is held', async () => {
      const [one, two, three] = [unique('C'), unique('C'), unique('C')];
      const posted = await addGroup(store, one);
      await store.markMessageDelivered(posted.id, '1.0001', 1);
      await store.updateGroupState(posted.id, posted.state, T + 1);
      const fresh = await addGroup(store, one);
      const older = await addGroup(store, two);
      const newer = await addGroup(store, two);
      const held = await addGroup(store, three);
      await store.requestEnrichment(held.id, { a: STARTS }, T + 500);

      expect(await nextMessages(store, [one, two, three], T)).toEqual([fresh.id, older.id]);
      await store.deferMessage(older.id, { attempts: 1, nextAttemptAt: T + 1000, failingSince: T });
      expect(await nextMessages(store, [one, two, three], T)).toEqual([fresh.id, newer.id]);
      expect(await nextMessages(store, [one, two, three], T + 500)).toEqual([fresh.id, newer.id, held.id]);
      expect(await nextMessages(store, [one, two, three], T + 1000)).toEqual([fresh.id, older.id, held.id]);

      // Delivered, the first post gives way to the edit; a hold never holds an edit.
      await store.markMessageDelivered(fresh.id, '1.0002', 1);
      await store.requestEnrichment(posted.id, { a: STARTS }, T + 60_000);
      expect((await store.groupById(posted.id))!.enrichUntil).toBeNull();
      expect(await nextMessages(store, [one], T)).toEqual([posted.id]);
      const [record] = (await store.nextMessagePerChannel(T)).filter((group) => group.id === posted.id);
      expect(record).toMatchObject({ version: 2, postedVersion: 1, messageTs: '1.0001' });
    });

    it('answer what every group says, pass after pass, for a random mix of posted, edited, deferred and held groups', async () => {
      // A deterministic mix (as test/unit/state/outbox-reads.test.ts does for SQLite's index walks),
      // checked against a model computed from every group's record.
      let seed = 7;
      const random = (n: number): number => {
        seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
        return seed % n;
      };
      const channels = Array.from({ length: 5 }, () => unique('C'));
      const fallback = unique('CFALLBACK');
      const ids: number[] = [];
      for (let i = 0; i < 60; i++) {
        const channel = channels[random(channels.length)]!;
        const { id, state } = await addGroup(store, channel);
        ids.push(id);
        const posted = random(3) === 0;
        if (posted) await store.recordMessagePosted(id, `${id}.0001`, random(4) === 0 ? fallback : channel, 1);
        if (posted && random(5) === 0) await store.forgetMessage(id);
        if (!posted && random(6) === 0) await store.markMessageDelivered(id, `${id}.0003`, 1);
        if (random(2) === 0) await store.updateGroupState(id, state, T);
        if (!posted && random(3) === 0) await store.requestEnrichment(id, { a: STARTS }, T + (random(5) - 2) * 1000);
        if (random(4) === 0) await store.deferMessage(id, { attempts: 1, nextAttemptAt: T + (random(5) - 2) * 700, failingSince: T });
      }
      let passes = 0;
      for (;;) {
        const groups = await Promise.all(ids.map(async (id) => (await store.groupById(id))!));
        for (const now of [T - 3000, T, T + 1000]) expect(await nextMessages(store, channels, now), `pass ${passes} at ${now - T}`).toEqual(firstDuePerChannel(groups, now));
        const pass = (await store.nextMessagePerChannel(T + 1000)).filter((group) => channels.includes(group.channel));
        if (pass.length === 0) break;
        for (const group of pass) await store.abandonMessage(group.id, group.version);
        passes += 1;
      }
      expect(passes).toBeGreaterThan(5);
    });

    it('give replies and detail messages only once their parent message exists, in the channel it lives in', async () => {
      const channel = unique('C');
      const fallback = unique('CFALLBACK');
      const group = await addGroup(store, channel);
      await store.addReply(group.id, 'before the post', T);
      await store.saveEnrichment(group.id, { enrichment: {}, handled: {}, releaseFirstPost: true, messageChanged: false, detailChanged: true });
      const threads = async (now = T) => ({
        replies: (await store.nextReplyPerChannel(now)).filter((reply) => reply.groupId === group.id).map((reply) => [reply.channel, reply.messageTs, reply.text]),
        details: (await store.nextDetailPerChannel(now)).filter((detail) => detail.groupId === group.id).map((detail) => [detail.channel, detail.parentTs, detail.messageTs]),
      });
      expect(await threads()).toEqual({ replies: [], details: [] });

      // Posted in the default channel while its own would not take it.
      await store.recordMessagePosted(group.id, '2.0001', fallback, 1);
      expect(await threads()).toEqual({ replies: [[fallback, '2.0001', 'before the post']], details: [[fallback, '2.0001', null]] });
      expect((await store.groupById(group.id))!.messageChannel).toBe(fallback);
      expect((await store.groupsAwayFromChannel(channel, 10)).map((away) => away.id)).toEqual([group.id]);
      const alsoAway = await addGroup(store, channel);
      await store.recordMessagePosted(alsoAway.id, '2.0009', fallback, 1);
      expect((await store.groupsAwayFromChannel(channel, 10)).map((away) => away.id)).toEqual([group.id, alsoAway.id]);
      expect((await store.groupsAwayFromChannel(channel, 1)).map((away) => away.id)).toEqual([group.id]);
      await store.recordMessagePosted(alsoAway.id, '2.0010', channel, 1);
      expect(await store.channelsWithMessagesAway()).toContain(channel);
      expect(await store.groupByMessage(fallback, '2.0001')).toMatchObject({ id: group.id });
      expect(await store.groupByMessage(channel, '2.0001')).toBeUndefined();

      // Moved home: the thread follows it, the detail is posted afresh under the new message.
      await store.markDetailDelivered(group.id, '2.0002', 1);
      await store.recordMessagePosted(group.id, '3.0001', channel, 0);
      expect(await threads()).toEqual({ replies: [[channel, '3.0001', 'before the post']], details: [[channel, '3.0001', null]] });
      expect(await store.groupById(group.id)).toMatchObject({ messageChannel: null, messageTs: '3.0001', postedVersion: 0 });
      expect(await store.groupsAwayFromChannel(channel, 10)).toEqual([]);
      expect(await store.channelsWithMessagesAway()).not.toContain(channel);
      expect(await store.groupByMessage(channel, '3.0001')).toMatchObject({ id: group.id });
    });

    it('give one reply per channel, oldest first, none before it is due', async () => {
      const channel = unique('C');
      const group = await addGroup(store, channel);
      await store.markMessageDelivered(group.id, '4.0001', 1);
      for (const text of ['first', 'second', 'third']) await store.addReply(group.id, text, T);
      const replies = (await store.nextReplyPerChannel(T)).filter((reply) => reply.channel === channel);
      expect(replies.map((reply) => reply.text)).toEqual(['first']);
      await store.deferReply(replies[0]!.id, { attempts: 2, nextAttemptAt: T + 700, failingSince: T - 5 });
      expect((await store.nextReplyPerChannel(T)).filter((reply) => reply.channel === channel).map((reply) => reply.text)).toEqual(['second']);
      const again = (await store.nextReplyPerChannel(T + 700)).filter((reply) => reply.channel === channel);
      expect(again.map((reply) => [reply.text, reply.delivery])).toEqual([['first', { attempts: 2, nextAttemptAt: T + 700, failingSince: T - 5 }]]);
      expect((await drainReplies(store, channel, T + 700)).map((reply) => reply.text)).toEqual(['first', 'second', 'third']);
    });
  });

  describe('post intents and delivery', () => {
    it('records the intent to post, clears it, and records where the message was posted', async () => {
      const channel = unique('C');
      const group = await addGroup(store, channel);
      await store.startMessagePost(group.id, channel, T + 5);
      expect(await store.groupById(group.id)).toMatchObject({ postStartedAt: T + 5, postChannel: channel });
      await store.clearMessagePost(group.id);
      expect(await store.groupById(group.id)).toMatchObject({ postStartedAt: null, postChannel: null, messageTs: null });

      await store.deferMessage(group.id, { attempts: 3, nextAttemptAt: T + 9000, failingSince: T });
      expect((await store.groupById(group.id))!.delivery).toEqual({ attempts: 3, nextAttemptAt: T + 9000, failingSince: T });
      await store.requestEnrichment(group.id, { a: STARTS }, T + 60_000);
      await store.startMessagePost(group.id, channel, T + 10);
      await store.recordMessagePosted(group.id, '5.0001', channel, 1);
      expect(await store.groupById(group.id)).toMatchObject({
        messageTs: '5.0001',
        messageChannel: null,
        postStartedAt: null,
        postChannel: null,
        postedVersion: 1,
        enrichUntil: null,
        delivery: { attempts: 0, nextAttemptAt: 0, failingSince: null },
      });
    });

    it('never moves posted_version back when an older version is settled late', async () => {
      const channel = unique('C');
      const group = await addGroup(store, channel);
      await store.updateGroupState(group.id, group.state, T + 1);
      await store.updateGroupState(group.id, group.state, T + 2);
      await store.markMessageDelivered(group.id, '6.0001', 3);
      await store.markMessageDelivered(group.id, '6.0001', 2);
      expect(await store.groupById(group.id)).toMatchObject({ version: 3, postedVersion: 3, messageTs: '6.0001' });
      await store.abandonMessage(group.id, 1);
      expect((await store.groupById(group.id))!.postedVersion).toBe(3);
      expect(await nextMessages(store, [channel], T + 10)).toEqual([]);
    });

    it('abandons a version, forgets a deleted message and posts it afresh, with its detail under the new one', async () => {
      const channel = unique('C');
      const group = await addGroup(store, channel);
      await store.abandonMessage(group.id, 1);
      expect(await nextMessages(store, [channel], T)).toEqual([]);
      expect(await store.groupById(group.id)).toMatchObject({ postedVersion: 1, messageTs: null });

      await store.markMessageDelivered(group.id, '7.0001', 1);
      await store.saveEnrichment(group.id, { enrichment: {}, handled: {}, releaseFirstPost: true, messageChanged: false, detailChanged: true });
      await store.markDetailDelivered(group.id, '7.0002', 1);
      await store.forgetMessage(group.id);
      expect(await store.groupById(group.id)).toMatchObject({ messageTs: null, messageChannel: null });
      // No parent: the detail waits; a new version of the group posts the message again.
      expect((await store.nextDetailPerChannel(T)).filter((detail) => detail.groupId === group.id)).toEqual([]);
      await store.updateGroupState(group.id, group.state, T + 1);
      expect(await nextMessages(store, [channel], T)).toEqual([group.id]);
      await store.recordMessagePosted(group.id, '7.0003', channel, 2);
      expect((await store.nextDetailPerChannel(T)).filter((detail) => detail.groupId === group.id).map((detail) => [detail.parentTs, detail.messageTs, detail.version, detail.postedVersion])).toEqual([
        ['7.0003', null, 1, 0],
      ]);
    });

    it('delivers, edits, defers, abandons and forgets a detail message', async () => {
      const channel = unique('C');
      const group = await addGroup(store, channel);
      await store.markMessageDelivered(group.id, '8.0001', 1);
      const detailUpdate = { enrichment: { a: enrichmentOf('OOMKilled', 'the log') }, handled: {}, releaseFirstPost: true, messageChanged: false, detailChanged: true };
      await store.saveEnrichment(group.id, detailUpdate);
      const details = async (now = T) => (await store.nextDetailPerChannel(now)).filter((detail) => detail.groupId === group.id);
      const [detail] = await details();
      expect(detail).toMatchObject({ id: group.id, groupKey: group.groupKey, channel, parentTs: '8.0001', messageTs: null, postStartedAt: null, version: 1, postedVersion: 0 });
      expect(detail!.enrichment).toEqual(detailUpdate.enrichment);

      await store.startDetailPost(group.id, T + 3);
      expect((await details())[0]!.postStartedAt).toBe(T + 3);
      await store.clearDetailPost(group.id);
      expect((await details())[0]!.postStartedAt).toBeNull();
      await store.startDetailPost(group.id, T + 4);
      await store.markDetailDelivered(group.id, '8.0002', 1);
      expect(await details()).toEqual([]);

      await store.saveEnrichment(group.id, detailUpdate);
      expect((await details()).map((entry) => [entry.messageTs, entry.version, entry.postedVersion, entry.postStartedAt])).toEqual([['8.0002', 2, 1, null]]);
      await store.deferDetail(group.id, { attempts: 1, nextAttemptAt: T + 800, failingSince: T });
      expect(await details()).toEqual([]);
      expect((await details(T + 800))[0]!.delivery).toEqual({ attempts: 1, nextAttemptAt: T + 800, failingSince: T });
      await store.abandonDetail(group.id, 2);
      expect(await details(T + 800)).toEqual([]);

      // Deleted in Slack: the next change posts it afresh (no ts to edit).
      await store.forgetDetail(group.id);
      await store.saveEnrichment(group.id, detailUpdate);
      expect((await details(T + 800)).map((entry) => [entry.messageTs, entry.version])).toEqual([[null, 3]]);
    });

    it('keeps the notices lane: oldest due per channel, deferred, post intents, removed when delivered', async () => {
      const [one, two] = [unique('CAUDIT'), unique('CAUDIT')];
      const before = await store.pendingNotices();
      const first = await store.addNotice(one, 'one', T);
      const second = await store.addNotice(one, 'two', T + 1);
      const other = await store.addNotice(two, 'three', T + 2);
      expect(await store.pendingNotices()).toBe(before + 3);
      const lane = async (now: number) => (await store.nextNoticePerChannel(now)).filter((notice) => [one, two].includes(notice.channel));
      expect((await lane(T)).map((notice) => notice.id)).toEqual([first, other]);
      await store.deferNotice(first, { attempts: 1, nextAttemptAt: T + 2000, failingSince: T });
      expect((await lane(T)).map((notice) => notice.id)).toEqual([second, other]);
      expect((await lane(T + 2000)).map((notice) => [notice.id, notice.text, notice.createdAt, notice.delivery])).toEqual([
        [first, 'one', T, { attempts: 1, nextAttemptAt: T + 2000, failingSince: T }],
        [other, 'three', T + 2, { attempts: 0, nextAttemptAt: 0, failingSince: null }],
      ]);
      await store.startNoticePost(other, 'CDEFAULT', T + 3);
      expect((await lane(T)).find((notice) => notice.id === other)).toMatchObject({ postStartedAt: T + 3, postChannel: 'CDEFAULT' });
      await store.clearNoticePost(other);
      expect((await lane(T)).find((notice) => notice.id === other)).toMatchObject({ postStartedAt: null, postChannel: null });
      await store.removeNotice(other);
      expect(await store.pendingNotices()).toBe(before + 2);
      expect((await drainNotices(store, one, T + 2000)).map((notice) => notice.text)).toEqual(['one', 'two']);
      expect(await store.pendingNotices()).toBe(before);
    });
  });

  describe('enrichment', () => {
    it('merges requests, holds only an unposted group, and lists the groups awaiting enrichment', async () => {
      const group = await addGroup(store, unique('C'), [{ fingerprint: 'a' }, { fingerprint: 'b' }]);
      await store.requestEnrichment(group.id, { a: STARTS }, T + 5000);
      await store.requestEnrichment(group.id, { b: STARTS }, null);
      await store.requestEnrichment(group.id, { a: LATER_STARTS }, null);
      const work = (await store.groupsAwaitingEnrichment(1000)).filter((entry) => entry.group.id === group.id);
      expect(work.map((entry) => [entry.pending, entry.group.enrichUntil])).toEqual([[{ a: LATER_STARTS, b: STARTS }, T + 5000]]);
      // Oldest first.
      const later = await addGroup(store, unique('C'));
      await store.requestEnrichment(later.id, { a: STARTS }, null);
      const ids = (await store.groupsAwaitingEnrichment(1000)).map((entry) => entry.group.id);
      expect(ids.indexOf(group.id)).toBeLessThan(ids.indexOf(later.id));
      expect(ids).toEqual([...ids].sort((x, y) => x - y));
      expect(await store.groupsAwaitingEnrichment(1)).toHaveLength(1);
      await store.releaseEnrichment(later.id, { a: STARTS });
    });

    it('saves results for the current occurrence only, releases the first post and keeps newer queue entries', async () => {
      const channel = unique('C');
      const group = await addGroup(store, channel, [{ fingerprint: 'a' }, { fingerprint: 'b' }]);
      await store.requestEnrichment(group.id, { a: STARTS, b: STARTS }, T + 5000);
      // b fires again (a new occurrence) while the lookups of the first run.
      const newer = stateOf(group.groupKey, [{ fingerprint: 'a' }, { fingerprint: 'b', startsAt: LATER_STARTS }]);
      await store.updateGroupState(group.id, newer, T + 1);
      await store.requestEnrichment(group.id, { b: LATER_STARTS }, null);

      const found = enrichmentOf('OOMKilled ×3', '```last log lines```');
      const changed = await store.saveEnrichmentResults(
        group.id,
        [
          { fingerprint: 'a', startsAt: STARTS, result: found },
          { fingerprint: 'b', startsAt: STARTS, result: enrichmentOf('stale') },
        ],
        { a: STARTS, b: STARTS },
      );
      expect(changed).toBe(true);
      const saved = (await store.groupById(group.id))!;
      expect(saved.enrichment).toEqual({ a: found });
      expect(saved).toMatchObject({ enrichUntil: null, version: 3 });
      expect((await store.groupsAwaitingEnrichment(1000)).filter((entry) => entry.group.id === group.id).map((entry) => entry.pending)).toEqual([{ b: LATER_STARTS }]);
      expect(await nextMessages(store, [channel], T)).toEqual([group.id]);
      // The detail text is new: a detail message waits for the group's message.
      await store.recordMessagePosted(group.id, '9.0001', channel, 3);
      expect((await store.nextDetailPerChannel(T)).filter((detail) => detail.groupId === group.id).map((detail) => detail.enrichment)).toEqual([{ a: found }]);

      // The same results again change nothing the outbox would deliver.
      expect(await store.saveEnrichmentResults(group.id, [{ fingerprint: 'a', startsAt: STARTS, result: found }], {})).toBe(false);
      expect(await store.saveEnrichmentResults(123_456_789, [], {})).toBe(false);
    });

    it('loses none of several requests and results written at once', async () => {
      const fingerprints = ['a', 'b', 'c', 'd', 'e'];
      const group = await addGroup(store, unique('C'), fingerprints.map((fingerprint) => ({ fingerprint })));
      await Promise.all(fingerprints.map((fingerprint) => store.requestEnrichment(group.id, { [fingerprint]: STARTS }, null)));
      expect((await store.groupsAwaitingEnrichment(1000)).find((entry) => entry.group.id === group.id)?.pending).toEqual(Object.fromEntries(fingerprints.map((fingerprint) => [fingerprint, STARTS])));
      const results = fingerprints.map((fingerprint) => ({ fingerprint, startsAt: STARTS, result: enrichmentOf(`found ${fingerprint}`) }));
      await Promise.all(results.map((result) => store.saveEnrichmentResults(group.id, [result], { [result.fingerprint]: STARTS })));
      expect((await store.groupById(group.id))!.enrichment).toEqual(Object.fromEntries(results.map(({ fingerprint, result }) => [fingerprint, result])));
      expect((await store.groupsAwaitingEnrichment(1000)).filter((entry) => entry.group.id === group.id)).toEqual([]);
    });

    it('releases the first post after a failed enrichment and drops its queue entries', async () => {
      const channel = unique('C');
      const group = await addGroup(store, channel);
      await store.requestEnrichment(group.id, { a: STARTS }, T + 5000);
      expect(await nextMessages(store, [channel], T)).toEqual([]);
      await store.releaseEnrichment(group.id, { a: STARTS });
      expect(await store.groupById(group.id)).toMatchObject({ enrichUntil: null, version: 1, enrichment: {} });
      expect((await store.groupsAwaitingEnrichment(1000)).filter((entry) => entry.group.id === group.id)).toEqual([]);
      expect(await nextMessages(store, [channel], T)).toEqual([group.id]);
    });
  });

  describe('acknowledgements and silences', () => {
    it('acknowledges a firing group once, withdraws it, and refuses what no longer applies', async () => {
      const channel = unique('C');
      const group = await addGroup(store, channel);
      await store.markMessageDelivered(group.id, '10.0001', 1);
      expect(await store.changeAcknowledgement({ groupId: group.id, acknowledge: true, by: 'U1', at: T + 1000 })).toBeUndefined();
      expect((await store.groupById(group.id))!).toMatchObject({ version: 2, changedAt: T + 1000, state: { acknowledged: { by: 'U1', at: new Date(T + 1000).toISOString() } } });
      expect(await store.changeAcknowledgement({ groupId: group.id, acknowledge: true, by: 'U2', at: T + 2000 })).toBe('Already acknowledged by <@U1>.');
      expect(await store.changeAcknowledgement({ groupId: group.id, acknowledge: false, by: 'U2', at: T + 3000 })).toBeUndefined();
      const withdrawn = (await store.groupById(group.id))!;
      expect(withdrawn.version).toBe(3);
      expect('acknowledged' in withdrawn.state).toBe(false);
      expect(await store.changeAcknowledgement({ groupId: group.id, acknowledge: false, by: 'U2', at: T + 4000 })).toMatch(/not acknowledged/);
      expect(await store.changeAcknowledgement({ groupId: 987_654_321, acknowledge: true, by: 'U2', at: T })).toBe(NOT_THIS_MESSAGE);
      expect((await drainReplies(store, channel)).map((reply) => reply.text)).toEqual(['✋ Acknowledged by <@U1>', '↩️ Acknowledgement withdrawn by <@U2>']);

      const resolved = await addGroup(store, channel, [{ fingerprint: 'a', status: 'resolved' }]);
      expect(await store.changeAcknowledgement({ groupId: resolved.id, acknowledge: true, by: 'U1', at: T })).toMatch(/resolved/);
    });

    it('lets one of two people acknowledging at once change the group', async () => {
      const channel = unique('C');
      const group = await addGroup(store, channel);
      await store.markMessageDelivered(group.id, '11.0001', 1);
      const answers = await Promise.all(['U1', 'U2', 'U3', 'U4'].map((by) => store.changeAcknowledgement({ groupId: group.id, acknowledge: true, by, at: T + 1 })));
      expect(answers.filter((answer) => answer === undefined)).toHaveLength(1);
      const winner = ['U1', 'U2', 'U3', 'U4'][answers.indexOf(undefined)]!;
      expect(answers.filter((answer) => answer !== undefined)).toEqual([1, 2, 3].map(() => `Already acknowledged by <@${winner}>.`));
      expect(await store.groupById(group.id)).toMatchObject({ version: 2, state: { acknowledged: { by: winner } } });
      expect((await drainReplies(store, channel)).map((reply) => reply.text)).toEqual([`✋ Acknowledged by <@${winner}>`]);
    });

    it('marks, extends and clears a silence, each only while it applies', async () => {
      const channel = unique('C');
      const group = await addGroup(store, channel);
      await store.markMessageDelivered(group.id, '12.0001', 1);
      const mark = { by: 'U1', until: '2026-01-01T02:00:00Z', silenceId: 'silence-1' };
      expect(await store.markGroupSilenced({ groupId: group.id, mark, at: T + 1 })).toBe(true);
      expect((await store.groupById(group.id))!).toMatchObject({ version: 2, state: { silenced: mark } });
      // The reconciler does not replace a silence made from Slack meanwhile.
      expect(await store.markGroupSilenced({ groupId: group.id, mark: { by: '', until: '2026-01-09T00:00:00Z', silenceId: 'other' }, at: T + 2, unlessSilenced: true })).toBe(false);
      expect(await store.extendGroupSilence({ groupId: group.id, silenceId: 'other', until: '2026-01-01T05:00:00Z', at: T + 3 })).toBe(false);
      expect(await store.extendGroupSilence({ groupId: group.id, silenceId: 'silence-1', until: '2026-01-01T05:00:00Z', at: T + 3 })).toBe(true);
      expect(await store.extendGroupSilence({ groupId: group.id, silenceId: 'silence-1', until: '2026-01-01T05:00:00Z', at: T + 4 })).toBe(false);
      expect((await store.groupById(group.id))!).toMatchObject({ version: 3, state: { silenced: { ...mark, until: '2026-01-01T05:00:00Z' } } });
      expect((await store.silencedGroups()).filter((silenced) => silenced.id === group.id)).toHaveLength(1);

      expect(await store.clearGroupSilence({ groupId: group.id, silenceId: 'other', reply: 'no', at: T + 5 })).toBe(false);
      expect(await store.clearGroupSilence({ groupId: group.id, silenceId: 'silence-1', reply: '🔔 Silence ended', at: T + 5 })).toBe(true);
      const cleared = (await store.groupById(group.id))!;
      expect(cleared.version).toBe(4);
      expect('silenced' in cleared.state).toBe(false);
      expect((await store.silencedGroups()).filter((silenced) => silenced.id === group.id)).toEqual([]);
      expect((await drainReplies(store, channel)).map((reply) => reply.text)).toEqual(['🔔 Silence ended']);

      const resolved = await addGroup(store, channel, [{ fingerprint: 'a', status: 'resolved' }]);
      expect(await store.markGroupSilenced({ groupId: resolved.id, mark, at: T })).toBe(false);
      expect(await store.markGroupSilenced({ groupId: 987_654_321, mark, at: T })).toBe(false);
    });

    it('resolves vanished alerts only while the group shows exactly those occurrences firing', async () => {
      const channel = unique('C');
      const group = await addGroup(store, channel, [{ fingerprint: 'a' }, { fingerprint: 'b' }, { fingerprint: 'c', status: 'resolved' }]);
      await store.markMessageDelivered(group.id, '13.0001', 1);
      const request = { groupId: group.id, reply: 'Alertmanager no longer has these alerts', at: T + 60_000 };
      expect(await store.resolveVanishedAlerts({ ...request, alerts: { a: STARTS, b: LATER_STARTS } })).toBe(false);
      expect(await store.resolveVanishedAlerts({ ...request, alerts: { a: STARTS } })).toBe(false);
      expect((await store.groupById(group.id))!.version).toBe(1);
      expect((await store.firingGroups()).filter((firing) => firing.groupId === group.id)).toHaveLength(1);

      expect(await store.resolveVanishedAlerts({ ...request, alerts: { a: STARTS, b: STARTS } })).toBe(true);
      const repaired = (await store.groupById(group.id))!;
      expect(repaired).toMatchObject({ version: 2, changedAt: T + 60_000 });
      expect(repaired.state.alerts.map((alert) => [alert.fingerprint, alert.status, alert.endsAt])).toEqual([
        ['a', 'resolved', new Date(T + 60_000).toISOString()],
        ['b', 'resolved', new Date(T + 60_000).toISOString()],
        ['c', 'resolved', '2026-01-01T00:10:00Z'],
      ]);
      expect((await store.firingGroups()).filter((firing) => firing.groupId === group.id)).toEqual([]);
      expect((await drainReplies(store, channel)).map((reply) => reply.text)).toEqual(['Alertmanager no longer has these alerts']);
      expect(await store.resolveVanishedAlerts({ ...request, alerts: { a: STARTS, b: STARTS } })).toBe(false);
    });
  });

  describe('reads for commands and the reconciler', () => {
    it('lists the firing groups oldest first with only their firing alerts, and the silenced ones', async () => {
      const firing = await addGroup(store, unique('C'), [{ fingerprint: 'a' }, { fingerprint: 'b', status: 'resolved' }], T + 7);
      const silenced = await addGroup(store, unique('C'), [{ fingerprint: 'c', startsAt: LATER_STARTS }]);
      const mark = { by: '', until: '2026-01-02T00:00:00Z', silenceId: unique('silence-') };
      await store.markGroupSilenced({ groupId: silenced.id, mark, at: T + 8 });
      const resolved = await addGroup(store, unique('C'), [{ fingerprint: 'd', status: 'resolved' }]);
      const silencedThenResolved = await addGroup(store, unique('C'), [{ fingerprint: 'e' }]);
      await store.markGroupSilenced({ groupId: silencedThenResolved.id, mark, at: T + 9 });
      await store.updateGroupState(silencedThenResolved.id, { ...stateOf(silencedThenResolved.groupKey, [{ fingerprint: 'e', status: 'resolved' }]), silenced: mark }, T + 10);

      const ids = [firing.id, silenced.id, resolved.id, silencedThenResolved.id];
      expect((await store.firingGroups()).filter((group) => ids.includes(group.groupId))).toEqual([
        { groupId: firing.id, groupKey: firing.groupKey, alerts: [{ fingerprint: 'a', startsAt: STARTS }], changedAt: T + 7, silenced: false },
        { groupId: silenced.id, groupKey: silenced.groupKey, alerts: [{ fingerprint: 'c', startsAt: LATER_STARTS }], changedAt: T + 8, silenced: true },
      ]);
      expect((await store.silencedGroups()).filter((group) => ids.includes(group.id)).map((group) => [group.id, group.state.silenced])).toEqual([[silenced.id, mark]]);
    });

    it('finds the message showing each firing alert, where it lives', async () => {
      const [home, fallback] = [unique('C'), unique('C')];
      const [a, b, c, d] = [unique('fp-'), unique('fp-'), unique('fp-'), unique('fp-')];
      const atHome = await addGroup(store, home, [{ fingerprint: a }, { fingerprint: d, status: 'resolved' }]);
      await store.markMessageDelivered(atHome.id, '14.0001', 1);
      const away = await addGroup(store, home, [{ fingerprint: b }]);
      await store.recordMessagePosted(away.id, '14.0002', fallback, 1);
      await addGroup(store, home, [{ fingerprint: c }]);
      // Shown by two firing episodes (another group has it too): the newest message.
      const e = unique('fp-');
      for (const ts of ['14.0003', '14.0004']) {
        const group = await addGroup(store, home, [{ fingerprint: e }]);
        await store.markMessageDelivered(group.id, ts, 1);
      }
      const found = await store.alertMessages([a, b, c, d, e, 'unknown']);
      expect(found.toSorted((x, y) => x.messageTs.localeCompare(y.messageTs))).toEqual([
        { fingerprint: a, channel: home, messageTs: '14.0001' },
        { fingerprint: b, channel: fallback, messageTs: '14.0002' },
        { fingerprint: e, channel: home, messageTs: '14.0004' },
      ]);
      expect(await store.alertMessages([])).toEqual([]);
    });

    it('finds groups by id, by key (the newest episode) and by message; nothing for unknown ones', async () => {
      const key = unique('lookup-');
      const first = await store.addGroup(key, 'CLOOKUP', stateOf(key), T);
      const second = await store.addGroup(key, 'CLOOKUP2', stateOf(key), T + 1);
      expect((await store.latestGroup(key))!.id).toBe(second);
      expect((await store.groupById(first))!.channel).toBe('CLOOKUP');
      expect(await store.groupById(2_000_000_000)).toBeUndefined();
      expect(await store.latestGroup(unique('nothing-'))).toBeUndefined();
      expect(await store.groupByMessage('CLOOKUP', '0.0000')).toBeUndefined();
    });
  });

  describe('the certificate digest', () => {
    it('lists each certificate at most once a day and queues one notice per digest', async () => {
      const channel = unique('CCERTS');
      const namespace = unique('ns-');
      const certificate = (name: string) => ({ namespace, name, kind: 'Secret', source: 'leaf', expiresAt: T + 5 * 86_400_000 });
      const request = (at: number, names: string[]) => ({ channel, at, warnWithinMs: 21 * 86_400_000, certificates: names.map(certificate) });
      expect(await store.queueCertificateDigest(request(T, ['api-tls', 'web-tls']))).toBe(2);
      expect(await store.queueCertificateDigest(request(T + 3_600_000, ['api-tls', 'web-tls']))).toBe(0);
      expect(await store.queueCertificateDigest(request(T + 7_200_000, ['api-tls', 'web-tls', 'db-tls']))).toBe(1);
      expect(await store.queueCertificateDigest(request(T + DIGEST_REPEAT_MS + 1, ['api-tls', 'web-tls', 'db-tls']))).toBe(2);
      const texts = (await drainNotices(store, channel, T + DIGEST_REPEAT_MS)).map((notice) => notice.text);
      expect(texts).toHaveLength(3);
      expect(texts.map((text) => ['api-tls', 'web-tls', 'db-tls'].filter((name) => text.includes(`${namespace}/${name}`)))).toEqual([['api-tls', 'web-tls'], ['db-tls'], ['api-tls', 'web-tls']]);
    });

    it('records a long digest whole: hundreds of certificates, each listed once', async () => {
      const channel = unique('CCERTS');
      const namespace = unique('ns-');
      const certificates = Array.from({ length: 450 }, (_, i) => ({ namespace, name: `tls-${i}`, kind: 'Certificate', source: 'leaf', expiresAt: T + i * 60_000 }));
      const request = (at: number) => ({ channel, at, warnWithinMs: 21 * 86_400_000, certificates });
      expect(await store.queueCertificateDigest(request(T))).toBe(450);
      expect(await store.queueCertificateDigest(request(T + 60_000))).toBe(0);
      const [digest, ...more] = await drainNotices(store, channel);
      expect(more).toEqual([]);
      expect(digest!.text).toContain(`${namespace}/tls-0\``);
      expect(digest!.text).toContain('…and 400 more');
    });
  });

  describe('Slack deliveries', () => {
    it('runs a delivery once by any of its keys, forgets old ones, and takes duplicate keys in one claim', async () => {
      const [envelope, event, other] = [unique('envelope:'), unique('event:'), unique('event:')];
      const claim = (keys: string[], at = T) => store.claimSlackDelivery({ keys, at, forgetBefore: at - 3_600_000 });
      expect(await claim([envelope, event])).toBe(true);
      expect(await claim([envelope, event])).toBe(false);
      // A redelivery under another envelope id carries the same event id.
      const refused = unique('envelope:');
      expect(await claim([refused, event])).toBe(false);
      // The refused claim recorded none of its keys.
      expect(await store.slackDeliverySeen(refused)).toBe(false);
      expect(await claim([refused, other])).toBe(true);
      expect(await store.slackDeliverySeen(other)).toBe(true);
      const twice = unique('trigger:');
      expect(await claim([twice, twice])).toBe(true);
      expect(await claim([twice])).toBe(false);
      // An hour later Slack no longer redelivers: the key is forgotten.
      expect(await claim([envelope], T + 3_600_001)).toBe(true);
    });

    it('lets one of several claims of the same delivery at once win, even when their keys only overlap', async () => {
      const key = unique('envelope:');
      const same = await Promise.all(Array.from({ length: 6 }, () => store.claimSlackDelivery({ keys: [key], at: T, forgetBefore: 0 })));
      expect(same.filter(Boolean)).toHaveLength(1);
      const [x, y, z] = [unique('k:'), unique('k:'), unique('k:')];
      const overlapping = await Promise.all([
        store.claimSlackDelivery({ keys: [x, y], at: T, forgetBefore: 0 }),
        store.claimSlackDelivery({ keys: [y, z], at: T, forgetBefore: 0 }),
      ]);
      expect(overlapping.filter(Boolean)).toHaveLength(1);
    });
  });

  describe('leases', () => {
    it('gives a lease to one owner until it expires, then to whoever asks', async () => {
      const [c1, c2, c3] = [unique('channel:C'), unique('channel:C'), unique('channel:C')];
      expect((await store.claimLeases([c1, c2], 'a', 1_000, 10_000)).sort()).toEqual([c1, c2].sort());
      expect(await store.claimLeases([c1, c3], 'b', 5_000, 10_000)).toEqual([c3]);
      expect(await store.claimLeases([c1], 'a', 9_000, 10_000)).toEqual([c1]);
      expect(await store.leaseHolder(c1, 9_000)).toEqual({ name: c1, owner: 'a', expiresAt: 19_000 });
      expect(await store.claimLeases([c1], 'b', 18_999, 10_000)).toEqual([]);
      expect(await store.claimLeases([c1], 'b', 19_000, 10_000)).toEqual([c1]);
      expect((await store.leaseHolder(c1, 19_000))?.owner).toBe('b');
      expect(await store.leaseHolder(c2, 11_000)).toBeUndefined();
      expect(await store.claimLeases([], 'a', 0, 10_000)).toEqual([]);
      // A name asked for twice is held once.
      const twice = unique('channel:C');
      expect(await store.claimLeases([twice, twice], 'a', 0, 10_000)).toEqual([twice]);
    });

    it("releases the named leases, or all of an owner's, and never another owner's", async () => {
      const [a, b, c, d] = [unique('job:'), unique('job:'), unique('job:'), unique('job:')];
      const [ownerA, ownerB] = [unique('replica-'), unique('replica-')];
      await store.claimLeases([a, b, c], ownerA, 0, 60_000);
      await store.claimLeases([d], ownerB, 0, 60_000);
      await store.releaseLeases(ownerB, [a]);
      expect((await store.leaseHolder(a, 1))?.owner).toBe(ownerA);
      await store.releaseLeases(ownerA, [a]);
      expect(await store.leaseHolder(a, 1)).toBeUndefined();
      await store.releaseLeases(ownerA);
      expect(await store.leaseHolder(b, 1)).toBeUndefined();
      expect(await store.leaseHolder(c, 1)).toBeUndefined();
      expect((await store.leaseHolder(d, 1))?.owner).toBe(ownerB);
      expect(await store.claimLeases([b], ownerB, 2, 60_000)).toEqual([b]);
    });

    it('gives each lease to exactly one of several owners claiming it at the same time', async () => {
      const names = Array.from({ length: 8 }, () => unique('channel:C'));
      const owners = Array.from({ length: 6 }, () => unique('replica-'));
      const held = await Promise.all(owners.map((owner) => store.claimLeases(names, owner, T, 15_000)));
      for (const name of names) {
        const holders = owners.filter((_, i) => held[i]!.includes(name));
        expect(holders, name).toHaveLength(1);
        expect(await store.leaseHolder(name, T), name).toEqual({ name, owner: holders[0], expiresAt: T + 15_000 });
      }
      // Two owners for one expired lease at once: one takes it.
      const [name] = names;
      const late = await Promise.all(['x', 'y'].map((owner) => store.claimLeases([name!], `${owner}-${name}`, T + 15_000, 15_000)));
      expect(late.filter((claimed) => claimed.length === 1)).toHaveLength(1);
    });
  });

  describe('pending interactions', () => {
    it('lets only the owner claim a pending interaction, once, before it expires', async () => {
      const [id, id2] = [unique('id-'), unique('id-')];
      const entry = { id, kind: 'confirmation', owner: 'U1:C1', value: { command: 'scale', words: ['api', '3'] }, expiresAt: 10_000 };
      await store.addPendingInteraction(entry, 0, 100);
      expect(await store.peekPendingInteraction(id, 'confirmation', 1)).toEqual(entry);
      expect(await store.peekPendingInteraction(id, 'modal', 1)).toBeUndefined();
      expect(await store.claimPendingInteraction(id, 'confirmation', 'U2:C1', 1)).toBeUndefined();
      expect(await store.claimPendingInteraction(id, 'modal', 'U1:C1', 1)).toBeUndefined();
      expect(await store.claimPendingInteraction(id, 'confirmation', 'U1:C1', 1)).toEqual(entry);
      expect(await store.claimPendingInteraction(id, 'confirmation', 'U1:C1', 2)).toBeUndefined();

      await store.addPendingInteraction({ ...entry, id: id2 }, 0, 100);
      expect(await store.peekPendingInteraction(id2, 'confirmation', 10_000)).toBeUndefined();
      expect(await store.claimPendingInteraction(id2, 'confirmation', 'U1:C1', 10_000)).toBeUndefined();
    });

    it('gives a pending interaction to one of two clicks claiming it at once', async () => {
      const id = unique('id-');
      await store.addPendingInteraction({ id, kind: 'confirmation', owner: 'U1:C1', value: 1, expiresAt: T + 60_000 }, T, 100);
      const claims = await Promise.all([1, 2, 3].map(() => store.claimPendingInteraction(id, 'confirmation', 'U1:C1', T + 1)));
      expect(claims.filter((claim) => claim !== undefined)).toHaveLength(1);
    });
  });

  describe('values', () => {
    it('round-trip exactly: unicode, emoji, a 40 kB annotation, ms timestamps past 2^41, null and absent fields', async () => {
      const key = `${unique('round-')}/{}:{service="płatności 支付 🚀"}`;
      const big = 'Ω≈ç√∫˜µ≤≥÷ 🔥🧯 '.repeat(2_500);
      const at = 2 ** 41 + 123;
      const sent = payload(key, [{ fingerprint: 'a', labels: { emoji: '🚨', quote: `it's "quoted" \\ back\\slash` } }], {
        commonAnnotations: { description: big, empty: '' },
      });
      const state = mergeNotification(undefined, sent).state;
      const id = await store.addGroup(key, unique('C'), state, at);
      const stored = (await store.groupById(id))!;
      expect(stored.state).toEqual(state);
      expect(stored.state.commonAnnotations['description']).toHaveLength(big.length);
      expect('acknowledged' in stored.state).toBe(false);
      expect('silenced' in stored.state).toBe(false);
      expect(stored).toMatchObject({ changedAt: at, messageTs: null, messageChannel: null, postStartedAt: null, postChannel: null, enrichUntil: null, delivery: { failingSince: null } });
      expect(typeof stored.changedAt).toBe('number');
      expect(typeof stored.id).toBe('number');
      await store.deferMessage(id, { attempts: 7, nextAttemptAt: at + 1, failingSince: at });
      expect((await store.groupById(id))!.delivery).toEqual({ attempts: 7, nextAttemptAt: at + 1, failingSince: at });
      expect((await store.latestGroup(key))!.id).toBe(id);

      await store.addNotifications([{ payload: sent, receivedAt: at }]);
      const [inbox] = (await store.pendingNotifications(100)).filter((entry) => entry.payload.groupKey === key);
      expect(inbox).toMatchObject({ receivedAt: at, payload: sent });
      await store.deleteNotification(inbox!.id);

      const entry = { id: unique('id-'), kind: 'modal', owner: 'U1', value: { text: '🚀 płatności', nothing: null, list: [1, 'two', { three: 3 }] }, expiresAt: at };
      await store.addPendingInteraction(entry, T, 100);
      expect(await store.peekPendingInteraction(entry.id, 'modal', T)).toEqual(entry);
      const bare = { id: unique('id-'), kind: 'modal', owner: 'U1', value: null, expiresAt: at };
      await store.addPendingInteraction(bare, T, 100);
      expect(await store.claimPendingInteraction(bare.id, 'modal', 'U1', T)).toEqual(bare);

      const notice = await store.addNotice(unique('CAUDIT'), `🔐 ${big}`, at);
      expect((await store.nextNoticePerChannel(at)).find((found) => found.id === notice)).toMatchObject({ text: `🔐 ${big}`, createdAt: at });
      await store.removeNotice(notice);
      const lease = unique('job:🚀');
      expect(await store.claimLeases([lease], 'replica-ü', at, 15_000)).toEqual([lease]);
      expect(await store.leaseHolder(lease, at)).toEqual({ name: lease, owner: 'replica-ü', expiresAt: at + 15_000 });
    });

    it('keep a group key of 12 kB (group_by: [...] over long label values), folded and found like any other', async () => {
      // Random, so no compression makes it small: an index over it must still take it.
      const key = `{}:{${unique('long-')}="${randomBytes(6_000).toString('hex')}"}`;
      await store.addNotifications([{ payload: payload(key, [{ fingerprint: 'a' }]), receivedAt: T }]);
      expect(await foldAll(store)).toBe(1);
      const group = (await store.latestGroup(key))!;
      expect(group.groupKey).toBe(key);
      await store.markMessageDelivered(group.id, '16.0001', 1);
      expect((await store.groupByMessage(group.channel, '16.0001'))!.groupKey).toBe(key);
      expect((await store.firingGroups()).filter((firing) => firing.groupKey === key)).toHaveLength(1);
    });

    it('keep a NUL character in alert text, as any JSON string may hold', async () => {
      const key = unique('nul-');
      const sent = payload(key, [{ fingerprint: 'a' }], { commonAnnotations: { description: 'before\u0000after' } });
      await store.addNotifications([{ payload: sent, receivedAt: T }]);
      await foldAll(store);
      expect((await store.latestGroup(key))!.state.commonAnnotations).toEqual({ description: 'before\u0000after' });
    });

    // PostgreSQL's text cannot hold NUL ('invalid byte sequence for encoding "UTF8": 0x00'): its
    // engine escapes it in the columns that may hold one (postgres-engine.ts, encodeText).
    it('keep a NUL character in a thread reply and a notice', async () => {
      const channel = unique('C');
      const group = await addGroup(store, channel);
      await store.markMessageDelivered(group.id, '17.0001', 1);
      await store.addReply(group.id, 'a\u0000b', T);
      expect((await drainReplies(store, channel)).map((reply) => reply.text)).toEqual(['a\u0000b']);
      const noticeChannel = unique('CAUDIT');
      await store.addNotice(noticeChannel, 'c\u0000d', T);
      expect((await drainNotices(store, noticeChannel)).map((notice) => notice.text)).toEqual(['c\u0000d']);
    });

    // PostgreSQL's text cannot hold NUL: before its engine escaped it, this fold failed there, and
    // every later fold with it (the inbox folds oldest first). The finally keeps a failure here
    // from sticking the cases after this one behind the notification.
    it('fold a group whose key holds a NUL character (a label value with one)', async () => {
      const key = `{}:{${unique('nul-key-')}="a\u0000b"}`;
      await store.addNotifications([{ payload: payload(key, [{ fingerprint: 'a' }]), receivedAt: T }]);
      try {
        expect(await foldAll(store)).toBe(1);
        expect((await store.latestGroup(key))!.groupKey).toBe(key);
      } finally {
        for (const entry of await store.pendingNotifications(100)) if (entry.payload.groupKey === key) await store.deleteNotification(entry.id);
      }
    });

    it('fold a change whose alert names a NUL character, with its thread reply', async () => {
      const key = unique('nul-reply-');
      await store.addNotifications([{ payload: payload(key, [{ fingerprint: 'a', name: 'Disk\u0000Full' }]), receivedAt: T }]);
      await foldAll(store);
      const folded = (await store.latestGroup(key))!;
      await store.markMessageDelivered(folded.id, '17.0002', 1);
      await store.addNotifications([{ payload: payload(key, [{ fingerprint: 'a', name: 'Disk\u0000Full' }, { fingerprint: 'b', name: 'Disk\u0000Full' }]), receivedAt: T + 1 }]);
      expect(await foldAll(store)).toBe(1);
      expect(await drainReplies(store, folded.channel)).toHaveLength(1);
    });
  });

  describe('on an empty store', () => {
    let empty: OpenedStore;
    beforeAll(async () => {
      empty = await backend.open(FOLD);
    });
    afterAll(async () => {
      await empty?.close();
    });

    it('says when the next delivery is due, across every lane', async () => {
      const { store } = empty;
      expect(await store.nextDueAt()).toBeNull();
      const deferred = await addGroup(store, 'C1');
      await store.deferMessage(deferred.id, { attempts: 1, nextAttemptAt: T + 9000, failingSince: T });
      expect(await store.nextDueAt()).toBe(T + 9000);
      // A held first post is due when its hold ends.
      const held = await addGroup(store, 'C2');
      await store.requestEnrichment(held.id, { a: STARTS }, T + 7000);
      expect(await store.nextDueAt()).toBe(T + 7000);
      const notice = await store.addNotice('C3', 'audit', T);
      await store.deferNotice(notice, { attempts: 1, nextAttemptAt: T + 5000, failingSince: T });
      expect(await store.nextDueAt()).toBe(T + 5000);
      await store.markMessageDelivered(deferred.id, '1.0001', 1);
      await store.addReply(deferred.id, 'later', T);
      expect(await store.nextDueAt()).toBe(0);
      const [reply] = await store.nextReplyPerChannel(T);
      await store.deferReply(reply!.id, { attempts: 1, nextAttemptAt: T + 3000, failingSince: T });
      expect(await store.nextDueAt()).toBe(T + 3000);
      await store.saveEnrichment(deferred.id, { enrichment: {}, handled: {}, releaseFirstPost: true, messageChanged: false, detailChanged: true });
      await store.deferDetail(deferred.id, { attempts: 1, nextAttemptAt: T + 2000, failingSince: T });
      expect(await store.nextDueAt()).toBe(T + 2000);
      await store.removeReply(reply!.id);
      await store.removeNotice(notice);
      await store.abandonDetail(deferred.id, 1);
      await store.abandonMessage(held.id, 1);
      expect(await store.nextDueAt()).toBeNull();
    });

    it('counts the outbox: unsent messages, queued replies and when the longest wait began', async () => {
      const { store } = empty;
      const before = await store.outboxDepth();
      expect(before).toEqual({ messages: 0, replies: 0, oldestMessageAt: null });
      const older = await addGroup(store, 'C4', undefined, T + 100);
      await addGroup(store, 'C4', undefined, T + 50);
      expect(await store.outboxDepth()).toEqual({ messages: 2, replies: 0, oldestMessageAt: T + 50 });
      await store.markMessageDelivered(older.id, '2.0001', 1);
      await store.addReply(older.id, 'one', T);
      await store.addReply(older.id, 'two', T);
      expect(await store.outboxDepth()).toEqual({ messages: 1, replies: 2, oldestMessageAt: T + 50 });
      await store.updateGroupState(older.id, older.state, T + 20);
      expect(await store.outboxDepth()).toEqual({ messages: 2, replies: 2, oldestMessageAt: T + 20 });
      // Named transactions change it too.
      await store.markMessageDelivered(older.id, '2.0001', 2);
      expect(await store.changeAcknowledgement({ groupId: older.id, acknowledge: true, by: 'U1', at: T + 30 })).toBeUndefined();
      expect(await store.outboxDepth()).toEqual({ messages: 2, replies: 3, oldestMessageAt: T + 30 });
      const notices = await store.pendingNotices();
      await store.queueCertificateDigest({ channel: 'C4', at: T, warnWithinMs: 86_400_000, certificates: [{ namespace: 'shop', name: 'api', kind: 'Secret', source: 'leaf', expiresAt: T }] });
      expect(await store.pendingNotices()).toBe(notices + 1);
    });

    it('prunes resolved episodes Slack is in sync with, with their replies and details, and nothing else', async () => {
      const { store } = empty;
      const DAY = 86_400_000;
      const rowsBefore = await store.storedRows();
      const episode = async (status: 'firing' | 'resolved', at: number, synced = true): Promise<number> => {
        const group = await addGroup(store, 'C5', [{ fingerprint: 'a' }], at - 1000);
        await store.markMessageDelivered(group.id, `${group.id}.0001`, 1);
        await store.saveEnrichment(group.id, { enrichment: {}, handled: {}, releaseFirstPost: true, messageChanged: false, detailChanged: true });
        await store.addReply(group.id, 'resolved', at);
        await store.updateGroupState(group.id, stateOf(group.groupKey, [{ fingerprint: 'a', status }]), at);
        if (synced) await store.markMessageDelivered(group.id, `${group.id}.0001`, 2);
        return group.id;
      };
      const old = await episode('resolved', T + 1 * DAY);
      const older = await episode('resolved', T + 1 * DAY - 5);
      const recent = await episode('resolved', T + 40 * DAY);
      const firing = await episode('firing', T + 1 * DAY);
      const unsynced = await episode('resolved', T + 1 * DAY, false);
      // Resolved again later: it still counts as resolved since the first time. Fired again: not resolved.
      const repeated = await episode('resolved', T + 1 * DAY);
      await store.updateGroupState(repeated, stateOf('repeated', [{ fingerprint: 'a', status: 'resolved' }]), T + 40 * DAY);
      await store.markMessageDelivered(repeated, `${repeated}.0001`, 3);
      const refired = await episode('resolved', T + 1 * DAY);
      await store.updateGroupState(refired, stateOf('refired', [{ fingerprint: 'a' }]), T + 1 * DAY + 1);
      await store.markMessageDelivered(refired, `${refired}.0001`, 3);
      // Added resolved (a group whose first notification already resolved it).
      const bornResolved = (await addGroup(store, 'C5', [{ fingerprint: 'a', status: 'resolved' }], T + 1 * DAY)).id;
      await store.markMessageDelivered(bornResolved, `${bornResolved}.0001`, 1);
      expect(await store.storedRows()).toEqual({ ...rowsBefore, groups: rowsBefore.groups + 8, replies: rowsBefore.replies + 7, details: rowsBefore.details + 7 });

      expect(await store.pruneResolvedGroups(T + 2 * DAY, 1)).toBe(1);
      expect(await store.groupById(older)).toBeUndefined();
      expect(await store.pruneResolvedGroups(T + 2 * DAY, 100)).toBe(3);
      for (const gone of [old, repeated, bornResolved]) expect(await store.groupById(gone)).toBeUndefined();
      expect(await store.pruneResolvedGroups(T + 2 * DAY, 100)).toBe(0);
      for (const kept of [recent, firing, unsynced, refired]) expect(await store.groupById(kept)).toBeDefined();
      expect(await store.storedRows()).toEqual({ ...rowsBefore, groups: rowsBefore.groups + 4, replies: rowsBefore.replies + 4, details: rowsBefore.details + 4 });
    });

    it('keeps at most maxEntries pending interactions, dropping the oldest, and deletes expired ones', async () => {
      const { store } = empty;
      for (let i = 0; i < 5; i++) await store.addPendingInteraction({ id: `id-${i}`, kind: 'modal', owner: 'U1', value: i, expiresAt: 1_000 + i }, 0, 3);
      const present = async (ids: string[]) => {
        const found: string[] = [];
        for (const id of ids) if ((await store.peekPendingInteraction(id, 'modal', 0)) !== undefined) found.push(id);
        return found;
      };
      expect(await present(['id-0', 'id-1', 'id-2', 'id-3', 'id-4'])).toEqual(['id-2', 'id-3', 'id-4']);
      await store.addPendingInteraction({ id: 'late', kind: 'modal', owner: 'U1', value: null, expiresAt: 9_000 }, 1_003, 3);
      expect(await present(['id-2', 'id-3', 'id-4', 'late'])).toEqual(['id-4', 'late']);
    });

    // Last: it closes the empty store (afterAll's close then has nothing left to do).
    it('rejects every call once closed', async () => {
      await empty.close();
      await expect(empty.store.groupById(1)).rejects.toThrow(/closed/);
      await expect(empty.store.addNotifications([{ payload: payload('after-close', [{ fingerprint: 'a' }]), receivedAt: T }])).rejects.toThrow(/closed/);
    });
  });
});
