import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../../src/state/sqlite-store.ts';
import { StoreUnavailable } from '../../../src/state/store-health.ts';
import { payload, recordingLogger } from '../../helpers/fakes.ts';

const FULL_ERROR = { errcode: 13, message: 'database or disk is full' };

describe('SqliteStore tells the truth about its storage', () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lookout-store-health-'));
    path = join(dir, 'lookout.db');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * A store whose connection has a small PRAGMA max_page_count: past it SQLite fails with
   * SQLITE_FULL and ends the transaction itself, exactly as on a full disk. `probes` holds the
   * recovery probe the store scheduled, run by hand.
   */
  function fillableStore() {
    const recorded = recordingLogger();
    let db: DatabaseSync | undefined;
    const probes: Array<() => void> = [];
    const store = new SqliteStore(path, {
      log: recorded.log,
      open: (file) => (db = new DatabaseSync(file)),
      schedule: (fn) => {
        probes.push(fn);
        return () => undefined;
      },
    });
    const pages = (db!.prepare('PRAGMA page_count').get() as { page_count: number }).page_count;
    const fill = () => db!.exec(`PRAGMA max_page_count = ${pages + 2}`);
    const makeRoom = () => db!.exec('PRAGMA max_page_count = 1000000');
    const big = payload('big', Array.from({ length: 40 }, (_, i) => ({ fingerprint: `fp-${i}`, labels: { filler: 'x'.repeat(400) } })));
    return { store, db: () => db!, lines: recorded.lines, probes, fill, makeRoom, big };
  }

  it('a transaction that fills the disk throws SQLite\'s own error, not "cannot rollback"', () => {
    const { store, db, fill, big } = fillableStore();
    fill();
    let thrown: unknown;
    try {
      store.transaction(() => {
        for (let i = 0; i < 20; i++) store.addNotification(big, i);
      });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject(FULL_ERROR);
    expect(db().isTransaction).toBe(false);
    expect(store.pendingNotifications(100)).toEqual([]);
    store.close();
  });

  it('an error thrown inside a transaction rolls it back and is rethrown as it was', () => {
    const { store } = fillableStore();
    const bug = new TypeError('a bug in the caller');
    expect(() =>
      store.transaction(() => {
        store.addNotification(payload('g', [{ fingerprint: 'a' }]), 1);
        throw bug;
      }),
    ).toThrow(bug);
    expect(store.pendingNotifications(10)).toEqual([]);
    // Not a storage problem: the store still works.
    expect(store.ping()).toBeUndefined();
    store.addNotification(payload('g', [{ fingerprint: 'a' }]), 2);
    expect(store.pendingNotifications(10)).toHaveLength(1);
    store.close();
  });

  it('after a failed write ping() names the disk error until the probe can write, then recovers once', () => {
    const { store, lines, probes, fill, makeRoom, big } = fillableStore();
    let recovered = 0;
    store.onRecovered(() => recovered++);
    fill();
    expect(() => store.transaction(() => Array.from({ length: 20 }, (_, i) => store.addNotification(big, i)))).toThrow(/database or disk is full/);

    expect(store.ping()).toMatch(/^state store cannot write \(SQLITE_FULL \(13\): database or disk is full\)/);
    const errors = lines().filter((line) => line.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ err: FULL_ERROR, msg: expect.stringMatching(/cannot write/) });

    // Still full: the probe (a 64 KiB write) fails and schedules one more.
    expect(probes).toHaveLength(1);
    probes.shift()!();
    expect(store.ping()).toMatch(/SQLITE_FULL/);
    expect(probes).toHaveLength(1);

    makeRoom();
    probes.shift()!();
    expect(store.ping()).toBeUndefined();
    expect(recovered).toBe(1);
    expect(probes).toHaveLength(0);
    store.addNotification(big, 99);
    expect(store.pendingNotifications(10)).toHaveLength(1);
    store.close();
  });

  describe('a damaged file', () => {
    /** A store file with enough groups to have pages in the middle, closed. */
    function writeStore(): void {
      const store = new SqliteStore(path);
      store.transaction(() => {
        for (let g = 0; g < 300; g++) {
          const id = store.addGroup(`group-${g}`, 'C1', payloadState(g), g);
          store.addReply(id, `reply ${g} ${'r'.repeat(200)}`, g);
        }
      });
      store.close();
      // Fold the WAL into the file, so the damage below hits the only copy of those pages.
      const db = new DatabaseSync(path);
      db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
      db.close();
    }

    function damagePages(): void {
      const pageSize = 4096;
      const pages = statSync(path).size / pageSize;
      const fd = openSync(path, 'r+');
      for (const page of [Math.floor(pages / 2), Math.floor(pages / 2) + 3, Math.floor(pages / 3)]) {
        writeSync(fd, Buffer.alloc(pageSize, 0x5a), 0, pageSize, page * pageSize);
      }
      closeSync(fd);
    }

    it('found at start by quick_check: the store opens, ping() names it, nothing touches it again, the log says what to do', () => {
      writeStore();
      damagePages();
      const recorded = recordingLogger();
      const store = new SqliteStore(path, { log: recorded.log });

      expect(store.ping()).toMatch(new RegExp(`^state file ${path} is damaged \\(PRAGMA quick_check found: .+\\); stop Lookout, move the file aside and restart`));
      expect(() => store.pendingNotifications(10)).toThrow(StoreUnavailable);
      expect(() => store.addNotification(payload('g', [{ fingerprint: 'a' }]), 1)).toThrow(StoreUnavailable);
      const errors = recorded.lines().filter((line) => line.level === 'error');
      expect(errors).toHaveLength(1);
      expect(errors[0]!.msg).toMatch(/the state file is damaged: PRAGMA quick_check found: /);
      expect(errors[0]!.msg).toMatch(new RegExp(`stop Lookout, move ${path} .*aside, start Lookout again; it starts with an empty state\\. Lost: `));
      store.close();
    });

    it('not a database at all (SQLITE_NOTADB): the store opens damaged instead of throwing', () => {
      writeFileSync(path, Buffer.alloc(8192, 0x41));
      const store = new SqliteStore(path, { log: recordingLogger().log });
      expect(store.ping()).toMatch(/is damaged \(SQLITE_NOTADB \(26\): file is not a database\)/);
      store.close();
    });

    it('found later by the periodic check in a worker thread', async () => {
      writeStore();
      const recorded = recordingLogger();
      const store = new SqliteStore(path, { log: recorded.log, checkIntervalMs: 20 });
      expect(store.ping()).toBeUndefined();
      damagePages();
      await expect.poll(() => store.ping(), { timeout: 10_000 }).toMatch(/is damaged \(PRAGMA quick_check found: /);
      store.close();
    });
  });

  describe('state that went missing', () => {
    it('journal files beside a missing database: logged as an error and moved aside', () => {
      writeFileSync(`${path}-wal`, 'wal frames');
      writeFileSync(`${path}-shm`, 'shm');
      const recorded = recordingLogger();
      new SqliteStore(path, { log: recorded.log }).close();
      const error = recorded.lines().find((line) => line.level === 'error');
      expect(error?.msg).toMatch(/state file .* is missing but its journal files are there/);
      expect(readdirSync(dir).filter((name) => name.includes('.orphaned-'))).toHaveLength(2);
      expect(readFile(`${path}-wal`)).not.toBe('wal frames');
    });

    it('a 0-byte database: logged as an error', () => {
      writeFileSync(path, '');
      const recorded = recordingLogger();
      const store = new SqliteStore(path, { log: recorded.log });
      expect(recorded.lines().find((line) => line.level === 'error')?.msg).toMatch(/is empty \(0 bytes\)/);
      expect(store.ping()).toBeUndefined();
      store.close();
    });

    it('a first start: no error', () => {
      const recorded = recordingLogger();
      new SqliteStore(path, { log: recorded.log }).close();
      expect(recorded.lines().filter((line) => line.level === 'error')).toEqual([]);
    });
  });
});

function readFile(file: string): string | undefined {
  return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
}

function payloadState(g: number) {
  return {
    groupKey: `group-${g}`,
    receiver: 'lookout',
    externalURL: 'http://alertmanager',
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    alerts: payload(`group-${g}`, [{ fingerprint: `fp-${g}`, labels: { filler: 'f'.repeat(300) } }]).alerts,
    truncatedAlerts: 0,
  };
}
