import type { StoreProblem } from './store-health.ts';
import type { FoldSettings, StoreCallName, StoreTransactionName } from './store-transactions.ts';

/*
 * The messages between the main thread and the store worker (worker-store.ts ↔ store-worker.ts).
 * Everything is structured-cloned: plain rows and records, errors as their fields.
 */

export interface StoreWorkerData {
  path: string;
  checkIntervalMs: number;
  fold: FoldSettings;
  /** The main logger's level: the worker's lines are relayed to it. */
  logLevel: string;
}

/** Transactions the engine committed so far: with an fsync (full), or without (normal). */
export interface Commits {
  full: number;
  normal: number;
}

export interface StoreRequest {
  id: number;
  name: StoreCallName | StoreTransactionName;
  args: unknown[];
}

/** An error as it crosses the thread: enough for storageFailure() and a useful log line. */
export interface ErrorFields {
  name: string;
  message: string;
  stack?: string | undefined;
  errcode?: number | undefined;
  code?: string | undefined;
}

export type StoreAnswer = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: ErrorFields };

/** The calls one event-loop turn made, in order (see WorkerStore.call): one message for all of them. */
export type ToWorker = { type: 'calls'; requests: StoreRequest[] } | { type: 'close' };

export type FromWorker =
  /** The engine opened; `ping` is its first health. */
  | { type: 'ready'; ping: string | undefined; commits: Commits }
  /** The engine could not be opened at all (not a storage problem it can report through ping). */
  | { type: 'failed'; error: ErrorFields }
  /** One batch of calls, committed together (or failed together); the health after it. */
  | { type: 'answers'; answers: StoreAnswer[]; ping: string | undefined; commits: Commits }
  | { type: 'health'; problem: StoreProblem | undefined; ping: string | undefined }
  | { type: 'recovered'; ping: string | undefined }
  | { type: 'log'; line: string }
  | { type: 'closed' };

export function errorFields(error: unknown): ErrorFields {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const { errcode, code } = error as Error & { errcode?: unknown; code?: unknown };
  return {
    name: error.name,
    message: error.message,
    stack: error.stack,
    ...(typeof errcode === 'number' ? { errcode } : {}),
    ...(typeof code === 'string' ? { code } : {}),
  };
}

/** The error again, on this side: same name, message and SQLite code (storageFailure reads errcode). */
export function errorFrom(fields: ErrorFields): Error {
  const error = new Error(fields.message);
  error.name = fields.name;
  if (fields.stack !== undefined) error.stack = fields.stack;
  if (fields.errcode !== undefined) Object.assign(error, { errcode: fields.errcode });
  if (fields.code !== undefined) Object.assign(error, { code: fields.code });
  return error;
}
