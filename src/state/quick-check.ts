import { Worker } from 'node:worker_threads';
import type { DatabaseSync } from 'node:sqlite';
import { storageFailure } from './store-health.ts';

/*
 * PRAGMA quick_check reads every page of the file (0.6–0.9 s for a 315 MB file of 50,000
 * groups, docs/architecture.md "State"), so it runs once at start on the store's own connection,
 * before Lookout takes webhooks, and after that only in a worker thread with a read-only
 * connection of its own: the event loop never waits for it. quick_check(N) limits the errors
 * reported, not the pages read, so it is no cheaper on a healthy file.
 */

/** The problems quick_check reports (at most `limit`), or [] for a healthy file. Throws other errors. */
export function quickCheck(db: DatabaseSync, limit = 5): string[] {
  try {
    const rows = db.prepare(`PRAGMA quick_check(${limit})`).all() as Array<{ quick_check: string }>;
    return oneLine(rows.map((row) => row.quick_check).filter((line) => line !== 'ok'));
  } catch (error) {
    // A page damaged badly enough makes the check itself fail with SQLITE_CORRUPT/NOTADB.
    const failure = storageFailure(error);
    if (failure?.kind === 'damaged') return [failure.reason];
    throw error;
  }
}

/** quick_check's lines can hold several lines each; /readyz and the log want one line per problem. */
function oneLine(problems: string[]): string[] {
  return problems.flatMap((problem) => problem.split('\n')).map((line) => line.trim()).filter((line) => line !== '');
}

// CommonJS source for an eval worker: no file of its own, so it runs the same from src/ and dist/.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { DatabaseSync } = require('node:sqlite');
let result;
try {
  const db = new DatabaseSync(workerData.path, { readOnly: true });
  try {
    db.exec('PRAGMA busy_timeout = 5000');
    const rows = db.prepare('PRAGMA quick_check(' + workerData.limit + ')').all();
    result = { problems: rows.map((row) => row.quick_check).filter((line) => line !== 'ok') };
  } finally {
    db.close();
  }
} catch (error) {
  result = { error: { message: error.message, errcode: error.errcode, code: error.code } };
}
parentPort.postMessage(result);
`;

type WorkerResult = { problems: string[] } | { error: { message: string; errcode?: number; code?: string } };

/**
 * quick_check of the file at `path` in a worker thread.
 * @returns the problems found ([] when healthy); rejects when the check could not run for a
 * reason other than damage (the file is busy, missing…).
 */
export function quickCheckInWorker(path: string, limit = 5): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, name: 'lookout-check', workerData: { path, limit } });
    worker.once('message', (result: WorkerResult) => {
      if ('problems' in result) return resolve(oneLine(result.problems));
      const error = Object.assign(new Error(result.error.message), result.error);
      const failure = storageFailure(error);
      if (failure?.kind === 'damaged') resolve([failure.reason]);
      else reject(error);
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`quick_check worker exited with ${code}`));
    });
  });
}
