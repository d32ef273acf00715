import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import type { GroupState } from '../../../alerts/group-state.ts';
import { RetentionPruner } from '../../../src/state/retention.ts';
import { SqliteStore } from '../../../src/state/sqlite-store.ts';
import { payload, recordingLogger } from '../../helpers/fakes.ts';
import { inProcessStore } from '../../../src/state/in-process-store.ts';

const DAY = 86_400_000;

function state(groupKey: string, status: 'firing' | 'resolved'): GroupState {
  return {
    groupKey,
    receiver: 'lookout',
    externalURL: 'http://alertmanager',
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    alerts: payload(groupKey, [{ fingerprint: `${groupKey}-a`, status }]).alerts,
    truncatedAlerts: 0,
  };
}

describe('retention of resolved group episodes', () => {
  const stores: SqliteStore[] = [];
  const dirs: string[] = [];
  afterEach(() => {
    for (const store of stores.splice(0)) store.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const open = (path = ':memory:') => {
    const store = new SqliteStore(path);
    stores.push(store);
    return store;
  };

  /** An episode posted to Slack (with a detail and a delivered-later reply), resolved or not at `at`. */
  function episode(store: SqliteStore, key: string, status: 'firing' | 'resolved', at: number, synced = true): number {
    const id = store.addGroup(key, 'C1', state(key, 'firing'), at - 1000);
    store.markMessageDelivered(id, `${id}.0001`, 1);
    store.saveEnrichment(id, { enrichment: {}, handled: {}, releaseFirstPost: true, messageChanged: false, detailChanged: true });
    store.addReply(id, 'resolved', at);
    store.updateGroupState(id, state(key, status), at);
    if (synced) store.markMessageDelivered(id, `${id}.0001`, store.groupById(id)!.version);
    return id;
  }

  it('deletes resolved episodes older than the cut-off with their replies and details, and nothing else', () => {
    const store = open();
    const old = episode(store, 'old', 'resolved', 1 * DAY);
    episode(store, 'recent', 'resolved', 40 * DAY);
    episode(store, 'firing-old', 'firing', 1 * DAY);
    // Resolved long ago but Slack still shows it firing: kept until the edit is delivered or given up.
    const unsynced = episode(store, 'unsynced', 'resolved', 1 * DAY, false);
    expect(store.storedRows()).toMatchObject({ groups: 4, replies: 4, details: 4 });

    expect(store.pruneResolvedGroups(2 * DAY, 100)).toBe(1);
    expect(store.groupById(old)).toBeUndefined();
    expect(store.storedRows()).toMatchObject({ groups: 3, replies: 3, details: 3 });
    expect(store.groupById(unsynced)).toBeDefined();
    expect(store.latestGroup('firing-old')).toBeDefined();
    expect(store.latestGroup('recent')).toBeDefined();
  });

  it('a resolved episode that fires again is no longer due; the time of the first resolve counts', () => {
    const store = open();
    const id = episode(store, 'g', 'resolved', 1 * DAY);
    store.updateGroupState(id, state('g', 'firing'), 2 * DAY);
    store.markMessageDelivered(id, `${id}.0001`, store.groupById(id)!.version);
    expect(store.pruneResolvedGroups(10 * DAY, 100)).toBe(0);

    const again = episode(store, 'h', 'resolved', 1 * DAY);
    // A repeated "resolved" later does not move the time it resolved.
    store.updateGroupState(again, state('h', 'resolved'), 20 * DAY);
    store.markMessageDelivered(again, `${again}.0001`, store.groupById(again)!.version);
    expect(store.pruneResolvedGroups(10 * DAY, 100)).toBe(1);
  });

  it('deletes in batches of the given size, one transaction each, and a pass takes them all', async () => {
    const store = open();
    for (let i = 0; i < 45; i++) episode(store, `g${i}`, 'resolved', DAY);
    expect(store.pruneResolvedGroups(2 * DAY, 20)).toBe(20);
    expect(store.storedRows().groups).toBe(25);

    const pruner = new RetentionPruner({ store: inProcessStore(store), resolvedGroupsMs: DAY, log: recordingLogger().log, now: () => 3 * DAY, batchSize: 10 });
    expect(await pruner.prune()).toBe(25);
    expect(store.storedRows()).toMatchObject({ groups: 0, replies: 0, details: 0 });
  });

  it('a pass does nothing while the store cannot write', async () => {
    const store = open();
    episode(store, 'g', 'resolved', DAY);
    const broken = Object.assign(Object.create(store) as SqliteStore, { ping: () => 'state store cannot write (SQLITE_FULL)' });
    const pruner = new RetentionPruner({ store: inProcessStore(broken), resolvedGroupsMs: DAY, log: recordingLogger().log, now: () => 3 * DAY });
    expect(await pruner.prune()).toBe(0);
    expect(store.storedRows().groups).toBe(1);
  });

  it('a file from before retention gets resolved_at from each resolved episode\'s last change', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lookout-retention-'));
    dirs.push(dir);
    const path = join(dir, 'lookout.db');
    const first = new SqliteStore(path);
    episode(first, 'resolved', 'resolved', DAY);
    episode(first, 'firing', 'firing', DAY);
    first.close();
    // Make it a file of the previous version: no resolved_at column.
    const db = new DatabaseSync(path);
    db.exec('DROP INDEX groups_resolved; ALTER TABLE groups DROP COLUMN resolved_at');
    db.close();

    const store = open(path);
    expect(store.pruneResolvedGroups(2 * DAY, 100)).toBe(1);
    expect(store.latestGroup('resolved')).toBeUndefined();
    expect(store.latestGroup('firing')).toBeDefined();
  });
});
