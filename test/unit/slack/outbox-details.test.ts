import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import type { GroupEnrichment } from '../../../alerts/enrichers/enrichment.ts';
import { mergeNotification } from '../../../alerts/merge-group.ts';
import { SqliteStore } from '../../../src/state/sqlite-store.ts';
import { payload } from '../../helpers/fakes.ts';
import { createOutboxHarness } from './outbox-harness.ts';

type Harness = ReturnType<typeof createOutboxHarness>;

const enrichment = (detail: string): GroupEnrichment => ({
  a: { target: {}, facts: [{ source: 'events', summary: 's', detail }], failures: [], complete: true },
});

describe('Outbox: the first-post hold and the detail message', () => {
  let clock: Harness['clock'];
  let store: Harness['store'];
  let slack: Harness['slack'];
  let outbox: Harness['outbox'];

  beforeEach(() => {
    ({ clock, store, slack, outbox } = createOutboxHarness({
      render: (state) => ({ text: `message ${state.groupKey}`, blocks: [] }),
      renderDetail: (detail) => {
        const text = detail.enrichment['a']?.facts[0]?.detail;
        return text === undefined ? undefined : { text: `detail: ${text}`, blocks: [] };
      },
    }));
  });

  function addGroup(groupKey: string, holdMs: number | null): number {
    const { state } = mergeNotification(undefined, payload(groupKey, [{ fingerprint: 'a' }]));
    const id = store.addGroup(groupKey, 'C1', state, clock.now());
    store.requestEnrichment(id, { a: state.alerts[0]!.startsAt }, holdMs === null ? null : clock.now() + holdMs);
    return id;
  }

  function saveDetail(id: number, detail: string): void {
    store.saveEnrichment(id, { enrichment: enrichment(detail), handled: {}, releaseFirstPost: false, messageChanged: true, detailChanged: true });
  }

  it('holds a first post until enrich_until, says when it becomes due, and does not hold other groups', async () => {
    addGroup('held', 1500);
    addGroup('free', null);
    const start = clock.now();
    expect(await outbox.deliverDue()).toBe(start + 1500);
    expect(slack.calls.map((call) => call.text)).toEqual(['message free']);

    clock.current = start + 1500;
    await outbox.deliverDue();
    expect(slack.calls.map((call) => call.text)).toEqual(['message free', 'message held']);
  });

  it('posts the detail only after its parent, in the parent thread, before change replies', async () => {
    const id = addGroup('g', null);
    saveDetail(id, 'first');
    store.addReply(id, 'a change', clock.now());
    for (let i = 0; i < 4; i++) {
      await outbox.deliverDue();
      clock.advance(1000);
    }
    expect(slack.calls.map((call) => [call.method, call.text, call.threadTs])).toEqual([
      ['chat.postMessage', 'message g', undefined],
      ['chat.postMessage', 'detail: first', '1700000000.000001'],
      ['chat.postMessage', 'a change', '1700000000.000001'],
    ]);
  });

  it('edits the detail in place, coalescing changes, and posts it again if it was deleted', async () => {
    const id = addGroup('g', null);
    saveDetail(id, 'v1');
    await outbox.deliverDue();
    clock.advance(1000);
    await outbox.deliverDue();
    saveDetail(id, 'v2');
    saveDetail(id, 'v3');
    clock.advance(1000);
    await outbox.deliverDue(); // the message edit (messageChanged) goes first
    clock.advance(1000);
    await outbox.deliverDue();
    const detailCalls = () => slack.calls.filter((call) => call.text.startsWith('detail'));
    expect(detailCalls().map((call) => [call.method, call.text, call.ts])).toEqual([
      ['chat.postMessage', 'detail: v1', '1700000000.000002'],
      ['chat.update', 'detail: v3', '1700000000.000002'],
    ]);

    saveDetail(id, 'v4');
    slack.failNext(undefined, { kind: 'permanent', reason: 'message_not_found' });
    for (let i = 0; i < 4; i++) {
      clock.advance(1000);
      await outbox.deliverDue();
    }
    expect(detailCalls().at(-1)).toMatchObject({ method: 'chat.postMessage', text: 'detail: v4', threadTs: '1700000000.000001' });
  });

  it('a detail with nothing to show costs no call', async () => {
    const id = addGroup('g', null);
    store.saveEnrichment(id, {
      enrichment: { a: { target: {}, facts: [], failures: [], complete: true } },
      handled: {},
      releaseFirstPost: true,
      messageChanged: false,
      detailChanged: true,
    });
    for (let i = 0; i < 3; i++) {
      await outbox.deliverDue();
      clock.advance(1000);
    }
    expect(slack.calls.map((call) => call.text)).toEqual(['message g']);
    expect(store.nextDueAt()).toBeNull();
  });
});

describe('SqliteStore: enrichment on a state file from before enrichment', () => {
  it('adds the columns and the details table, keeping existing groups', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lookout-migrate-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'state.db');
    const old = new DatabaseSync(path);
    old.exec(`CREATE TABLE groups (
      id INTEGER PRIMARY KEY AUTOINCREMENT, group_key TEXT NOT NULL, channel TEXT NOT NULL, state TEXT NOT NULL,
      version INTEGER NOT NULL, posted_version INTEGER NOT NULL DEFAULT 0, message_ts TEXT, changed_at INTEGER NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL DEFAULT 0, failing_since INTEGER)`);
    const { state } = mergeNotification(undefined, payload('old', [{ fingerprint: 'a' }]));
    old.prepare('INSERT INTO groups (group_key, channel, state, version, changed_at) VALUES (?, ?, ?, 1, 0)').run('old', 'C1', JSON.stringify(state));
    old.close();

    const store = new SqliteStore(path);
    expect(store.latestGroup('old')).toMatchObject({ enrichment: {}, enrichUntil: null, version: 1 });
    const id = store.latestGroup('old')!.id;
    store.requestEnrichment(id, { a: state.alerts[0]!.startsAt }, 5);
    expect(store.groupsAwaitingEnrichment(10).map((work) => work.pending)).toEqual([{ a: state.alerts[0]!.startsAt }]);
    store.close();
    // Opening it again is a no-op.
    new SqliteStore(path).close();
  });
});
