import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, statfsSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/free-port.ts';
import { startLookout, type LookoutProcess } from '../support/lookout-process.ts';
import { startLookoutTestBed, type LookoutTestBed } from '../support/lookout-test-bed.ts';

/*
 * Issue 9, "the store tells the truth": Lookout as a real process, its state file on a disk that
 * fills up or with damaged pages, and the fake Slack. What must hold: webhooks 503 (never 2xx
 * for what cannot be stored, so Alertmanager retries), /readyz false naming the problem, the
 * original error in the log, no retry storm, and once the disk has room again nothing answered
 * 2xx is lost and nothing is posted twice.
 */

const CHANNELS = Array.from({ length: 10 }, (_, i) => `C0STORE${i}`);

function groupPayload(key: string, status: 'firing' | 'resolved' = 'firing', channel = CHANNELS[0]!) {
  const labels = { alertname: 'StoreFault', group: key, route: channel };
  return {
    version: '4',
    groupKey: `{}:{group="${key}"}`,
    status,
    receiver: 'lookout',
    groupLabels: { group: key },
    commonLabels: labels,
    commonAnnotations: { summary: `group [${key}]` },
    externalURL: 'http://alertmanager.example',
    alerts: [
      {
        status,
        labels,
        annotations: { summary: `group [${key}]`, description: 'd'.repeat(600) },
        startsAt: '2026-01-01T00:00:00Z',
        endsAt: status === 'resolved' ? '2026-01-01T00:10:00Z' : '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus/graph',
        fingerprint: `fp-${key}`,
      },
    ],
  };
}

const routes = CHANNELS.map((channel) => ({ match: { route: channel }, channel }));

describe('state store faults', () => {
  let bed: LookoutTestBed | undefined;
  let lookout: LookoutProcess | undefined;
  const cleanups: Array<() => void> = [];

  afterEach(async () => {
    await lookout?.stop();
    lookout = undefined;
    // Before the bed removes its directory: the tmpfs is mounted inside it.
    for (const cleanup of cleanups.splice(0).reverse()) cleanup();
    await bed?.close();
    bed = undefined;
  });

  const post = (body: unknown) =>
    fetch(`${lookout!.url}/alertmanager`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bed!.webhookToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const readyz = async () => {
    const res = await fetch(`${lookout!.url}/readyz`);
    return { status: res.status, text: await res.text() };
  };
  const logLines = () =>
    lookout!
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: string; msg: string; err?: { message?: string; errcode?: number } });
  const isError = (line: { level: string }) => line.level === 'error' || line.level === 'fatal';
  const storeProblemMetric = async (kind: 'unwritable' | 'damaged') => {
    const text = await (await fetch(`${lookout!.url}/metrics`)).text();
    return Number(new RegExp(`^lookout_state_store_problem\\{kind="${kind}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
  };
  /** Top-level messages of a group in the fake Slack. */
  const postsOf = (key: string) =>
    CHANNELS.flatMap((channel) => bed!.slack.messages(channel)).filter((message) => message.text.includes(`group [${key}]`) || JSON.stringify(message.blocks ?? []).includes(`group [${key}]`));

  describe('a damaged state file', () => {
    it('starts, says /readyz false naming the problem, refuses webhooks 503, logs what to do, and neither crashes nor retries in a loop', async () => {
      bed = await startLookoutTestBed({ config: { routes }, slack: { channels: CHANNELS } });
      const statePath = bed.env.LOOKOUT_STATE!;
      lookout = await startLookout(bed.env);
      // Enough state for pages in the middle of the file to hold groups and indexes.
      for (let i = 0; i < 150; i++) expect((await post(groupPayload(`d${i}`, 'firing', CHANNELS[i % CHANNELS.length]))).status).toBe(200);
      await waitFor('the posts', () => (CHANNELS.reduce((sum, channel) => sum + bed!.slack.messages(channel).length, 0) === 150 ? true : undefined), 60_000);
      expect(await lookout.stop()).toBe(0);
      lookout = undefined;

      // A clean stop folds the WAL into the file; damage four pages in its middle.
      const pageSize = 4096;
      const pages = statSync(statePath).size / pageSize;
      expect(pages).toBeGreaterThan(20);
      const fd = openSync(statePath, 'r+');
      for (const page of [Math.floor(pages / 2), Math.floor(pages / 2) + 2, Math.floor(pages / 3), Math.floor((pages * 2) / 3)]) {
        writeSync(fd, Buffer.alloc(pageSize, 0x5a), 0, pageSize, page * pageSize);
      }
      closeSync(fd);
      const callsBefore = bed.slack.calls.length;

      lookout = await startLookout(bed.env, undefined, { until: 'listening' });
      const ready = await readyz();
      expect(ready.status).toBe(503);
      expect(ready.text).toMatch(new RegExp(`state file ${statePath} is damaged \\(PRAGMA quick_check found: .+\\); stop Lookout, move the file aside and restart`));
      expect(await storeProblemMetric('damaged')).toBe(1);

      for (let i = 0; i < 30; i++) {
        const res = await post(groupPayload(`after-${i}`));
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
        expect(await res.text()).toMatch(/cannot store notifications now: state file .* is damaged/);
      }
      // A few seconds more: still up (no crash loop), nothing sent, and the error said once, not per webhook or per retry.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect((await fetch(`${lookout.url}/healthz`)).status).toBe(200);
      expect(bed.slack.calls.slice(callsBefore).filter((call) => call.method.startsWith('chat.'))).toEqual([]);
      // A clean stop, too: nothing at shutdown reads the damaged file.
      expect(await lookout.stop()).toBe(0);
      const errors = logLines().filter((line) => isError(line));
      expect(errors.map((line) => line.msg)).toEqual([
        expect.stringMatching(
          new RegExp(`the state file is damaged: PRAGMA quick_check found: .*stop Lookout, move ${statePath} \\(and ${statePath}-wal, ${statePath}-shm if present\\) aside, start Lookout again`),
        ),
      ]);
    });
  });

  describe('a full disk', () => {
    const isRoot = process.getuid?.() === 0;
    // Mounting a tmpfs needs root; CI runs as root. Elsewhere this one test is skipped, saying why.
    it.skipIf(!isRoot)('(needs root to mount a tmpfs) 503 and /readyz false while full; once space returns nothing answered 2xx is lost or posted twice', async () => {
      bed = await startLookoutTestBed({ config: { routes }, slack: { channels: CHANNELS } });
      const mountDir = join(bed.dir, 'small-disk');
      mkdirSync(mountDir);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mountDir]);
      cleanups.push(() => execFileSync('umount', ['-l', mountDir]));
      const statePath = join(mountDir, 'lookout.db');
      lookout = await startLookout({ ...bed.env, LOOKOUT_STATE: statePath });

      /** groupKey → answered 2xx; every one of these must end up posted exactly once. */
      const accepted = new Set<string>();
      const refused: string[] = [];
      let sent = 0;
      const send = async (key: string, channel: string): Promise<number> => {
        const status = (await post(groupPayload(key, 'firing', channel))).status;
        if (status === 200) accepted.add(key);
        else refused.push(key);
        return status;
      };

      // Before: five groups queue in one channel (1 message/s there), so posts are in flight when the disk fills.
      for (let i = 0; i < 5; i++) expect(await send(`k${sent++}`, CHANNELS[0]!)).toBe(200);
      await waitFor('the first post', () => (bed!.slack.messages(CHANNELS[0]!).length > 0 ? true : undefined));

      // Fill the disk: one file takes what is left.
      const filler = join(mountDir, 'filler');
      const fd = openSync(filler, 'w');
      const chunk = Buffer.alloc(64 * 1024, 1);
      try {
        for (;;) writeSync(fd, chunk);
      } catch (error) {
        expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
      } finally {
        closeSync(fd);
      }
      cleanups.push(() => rmSync(filler, { force: true }));
      expect(statfsSync(mountDir).bavail).toBe(0);

      // Webhooks until the store finds the disk full (WAL space already allocated can take a few).
      let status = 200;
      for (let tries = 0; tries < 400 && status !== 503; tries++) status = await send(`k${sent++}`, CHANNELS[(sent % 9) + 1]!);
      expect(status).toBe(503);
      const whileFull = await readyz();
      expect(whileFull.status).toBe(503);
      expect(whileFull.text).toMatch(/state store cannot write \(SQLITE_FULL \(13\): database or disk is full\)/);
      expect(await storeProblemMetric('unwritable')).toBe(1);
      for (let i = 0; i < 10; i++) {
        const res = await post(groupPayload(`full-${i}`));
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      }
      refused.push(...Array.from({ length: 10 }, (_, i) => `full-${i}`));

      // Space returns: the probe finds writes work, /readyz is true again.
      rmSync(filler);
      await waitFor('/readyz true', async () => ((await readyz()).status === 200 ? true : undefined), 45_000);
      expect(await storeProblemMetric('unwritable')).toBe(0);
      // Alertmanager retries what got 503; here the test does.
      for (const key of refused.splice(0)) {
        const retried = (await post(groupPayload(key, 'firing', key.startsWith('full-') ? CHANNELS[0]! : CHANNELS[(Number(key.slice(1)) % 9) + 1]!))).status;
        expect(retried).toBe(200);
        accepted.add(key);
      }

      await waitFor(
        'every accepted group posted',
        () => ([...accepted].every((key) => postsOf(key).length >= 1) ? true : undefined),
        60_000,
      );
      // Nothing more to come: the outbox is empty.
      await waitFor('an empty outbox', async () => {
        const metrics = await (await fetch(`${lookout!.url}/metrics`)).text();
        return /lookout_outbox_depth\{kind="message"\} 0/.test(metrics) ? true : undefined;
      });
      const duplicated = [...accepted].filter((key) => postsOf(key).length > 1);
      expect(duplicated).toEqual([]);
      expect(bed.slack.callsTo('chat.postMessage').filter((call) => call.status === 429)).toEqual([]);

      const log = logLines();
      const diskError = log.find((line) => isError(line) && line.err?.errcode === 13);
      expect(diskError?.err?.message).toBe('database or disk is full');
      expect(log.some((line) => /cannot rollback/.test(JSON.stringify(line)))).toBe(false);
      expect(log.some((line) => line.level === 'info' && /writes again/.test(line.msg))).toBe(true);
      // One error when the disk filled (plus the failed webhook write), not one per webhook or per retry.
      expect(log.filter((line) => isError(line)).length).toBeLessThan(10);
    });
  });

  describe('retention', () => {
    it('deletes resolved groups past the retention, so rows and the file stay bounded over rounds of alerts', async () => {
      bed = await startLookoutTestBed({
        config: { routes, retention: { resolvedGroups: '2s' } },
        slack: { channels: CHANNELS, updatesPerMinute: 10_000 },
      });
      const statePath = bed.env.LOOKOUT_STATE!;
      lookout = await startLookout(bed.env);
      /** Read beside the running Lookout (WAL allows a second, read-only connection). */
      const rows = () => {
        const db = new DatabaseSync(statePath, { readOnly: true });
        try {
          return db
            .prepare('SELECT (SELECT COUNT(*) FROM groups) AS groups, (SELECT COUNT(*) FROM replies) AS replies, (SELECT page_count FROM pragma_page_count()) AS pages')
            .get() as { groups: number; replies: number; pages: number };
        } finally {
          db.close();
        }
      };

      const sizes: number[] = [];
      for (let round = 0; round < 4; round++) {
        const keys = Array.from({ length: 40 }, (_, i) => `r${round}-${i}`);
        for (const [i, key] of keys.entries()) expect((await post(groupPayload(key, 'firing', CHANNELS[i % CHANNELS.length]))).status).toBe(200);
        await waitFor('the posts', () => (keys.every((key) => postsOf(key).length === 1) ? true : undefined), 30_000);
        // Firing groups are kept, however old.
        expect(rows().groups).toBeGreaterThanOrEqual(40);
        for (const [i, key] of keys.entries()) expect((await post(groupPayload(key, 'resolved', CHANNELS[i % CHANNELS.length]))).status).toBe(200);
        await waitFor('the resolved edits', () => (keys.every((key) => postsOf(key)[0]?.text.includes('RESOLVED')) ? true : undefined), 30_000);
        // 2 s retention, passes every second: all of them go.
        await waitFor('the resolved groups pruned', () => (rows().groups === 0 ? true : undefined), 15_000);
        expect(rows().replies).toBe(0);
        // The database's size in pages (what the file holds once checkpointed): freed pages are reused, not appended.
        sizes.push(rows().pages);
      }
      expect(Math.max(...sizes.slice(1))).toBeLessThanOrEqual(sizes[0]! * 1.25 + 8);
      expect(logLines().some((line) => /deleted resolved alert groups past their retention/.test(line.msg))).toBe(true);
    });
  });
});
