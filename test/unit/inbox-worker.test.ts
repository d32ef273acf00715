import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InboxWorker } from '../../src/inbox-worker.ts';
import { recordingLogger } from '../helpers/fakes.ts';

describe('InboxWorker', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function harness(process: () => number) {
    const recorded = recordingLogger();
    let problem: string | undefined;
    let changed = 0;
    const runs = vi.fn(async () => process());
    const worker = new InboxWorker({ process: runs, onChanged: () => changed++, storeProblem: () => problem, log: recorded.log });
    return { worker, runs, lines: recorded.lines, changed: () => changed, setProblem: (text: string | undefined) => (problem = text) };
  }

  it('processes once per event-loop turn however many webhooks woke it', async () => {
    const { worker, runs, changed } = harness(() => 3);
    for (let i = 0; i < 10; i++) worker.wake();
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toHaveBeenCalledTimes(1);
    expect(changed()).toBe(1);
  });

  it('after a failure, ONE retry loop with backoff: webhooks arriving meanwhile start no loop of their own', async () => {
    const { worker, runs, lines } = harness(() => {
      throw new Error('a bug');
    });
    worker.wake();
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toHaveBeenCalledTimes(1);
    // 50 webhooks during the first retry delay.
    for (let i = 0; i < 50; i++) {
      worker.wake();
      await vi.advanceTimersByTimeAsync(10);
    }
    expect(runs).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1000 + 2000 + 4000);
    expect(runs).toHaveBeenCalledTimes(4);
    expect(lines().filter((line) => line.level === 'error').map((line) => line.retryMs)).toEqual([1000, 2000, 4000, 8000]);
    worker.stop();
  });

  it('while the store cannot write it does not retry at all, and the store\'s recovery wakes it', async () => {
    let failing = true;
    const h = harness(() => {
      if (failing) {
        h.setProblem('state store cannot write (SQLITE_FULL)');
        throw new Error('database or disk is full');
      }
      return 1;
    });
    h.worker.wake();
    await vi.advanceTimersByTimeAsync(0);
    for (let i = 0; i < 20; i++) h.worker.wake();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.runs).toHaveBeenCalledTimes(1);
    expect(h.lines().filter((line) => line.level === 'error')).toEqual([]);

    failing = false;
    h.setProblem(undefined);
    h.worker.wake();
    await vi.advanceTimersByTimeAsync(0);
    expect(h.runs).toHaveBeenCalledTimes(2);
    expect(h.changed()).toBe(1);
  });

  it('a wake during a run runs once more after it (its notifications may be too late for that run), not twice at once', async () => {
    let release: (() => void) | undefined;
    let active = 0;
    let most = 0;
    const recorded = recordingLogger();
    const runs = vi.fn(async () => {
      active += 1;
      most = Math.max(most, active);
      await new Promise<void>((resolve) => (release = resolve));
      active -= 1;
      return 1;
    });
    const worker = new InboxWorker({ process: runs, onChanged: () => undefined, storeProblem: () => undefined, log: recorded.log });
    worker.wake();
    await vi.advanceTimersByTimeAsync(0);
    for (let i = 0; i < 5; i++) worker.wake();
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toHaveBeenCalledTimes(1);
    release!();
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toHaveBeenCalledTimes(2);
    release!();
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toHaveBeenCalledTimes(2);
    expect(most).toBe(1);
  });
});
