import { describe, expect, it } from 'vitest';
import { untilAborted } from '../../src/until-aborted.ts';

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: Error) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('untilAborted', () => {
  it('settles with the promise while the signal holds', async () => {
    const work = deferred<string>();
    const waiting = untilAborted(work.promise, new AbortController().signal);
    work.resolve('done');
    await expect(waiting).resolves.toBe('done');
  });

  it('rejects with the reason when the signal aborts first', async () => {
    const controller = new AbortController();
    const waiting = untilAborted(deferred<string>().promise, controller.signal);
    controller.abort(new Error('deadline'));
    await expect(waiting).rejects.toThrow('deadline');
  });

  it('rejects at once for a signal already aborted, and a later failure of the work is still handled', async () => {
    const controller = new AbortController();
    controller.abort(new Error('too late'));
    const work = deferred<string>();
    const waiting = untilAborted(work.promise, controller.signal);
    await expect(waiting).rejects.toThrow('too late');
    // Unhandled, this rejection would fail the run (and crash Node).
    work.reject(new Error('the work failed after all'));
    await new Promise((resolve) => setImmediate(resolve));
  });

  it('is the promise itself without a signal', () => {
    const work = deferred<string>();
    expect(untilAborted(work.promise, undefined)).toBe(work.promise);
  });
});
