import { describe, expect, it } from 'vitest';
import { StoreHealth, storageFailure } from '../../../src/state/store-health.ts';
import { recordingLogger } from '../../helpers/fakes.ts';

/** An error shaped as node:sqlite throws them. */
const sqliteError = (errcode: number, message: string) => Object.assign(new Error(message), { code: 'ERR_SQLITE_ERROR', errcode, errstr: message });
const FULL = () => sqliteError(13, 'database or disk is full');
const CORRUPT = () => sqliteError(11, 'database disk image is malformed');

/** StoreHealth with its probe timer in the test's hands: `due` holds what is scheduled. */
function harness(probe: () => void = () => undefined) {
  const recorded = recordingLogger();
  const changes: Array<string | undefined> = [];
  const due: Array<{ fn: () => void; ms: number; cancelled: boolean }> = [];
  let clock = 1000;
  const health = new StoreHealth({
    log: recorded.log,
    probe,
    damagedAdvice: 'Stop Lookout, move the file aside, restart.',
    now: () => clock,
    onChange: (problem) => changes.push(problem?.kind),
    schedule: (fn, ms) => {
      const entry = { fn, ms, cancelled: false };
      due.push(entry);
      return () => (entry.cancelled = true);
    },
  });
  const pending = () => due.filter((entry) => !entry.cancelled);
  /** Runs the one pending probe (there must be exactly one: one loop, never one per failure). */
  const runProbe = () => {
    const live = pending();
    expect(live).toHaveLength(1);
    live[0]!.cancelled = true;
    clock += live[0]!.ms;
    live[0]!.fn();
  };
  return { health, lines: recorded.lines, due, pending, runProbe, changes };
}

describe('storageFailure', () => {
  it.each([
    [13, 'unwritable', /^SQLITE_FULL \(13\): database or disk is full/],
    [778, 'unwritable', /^SQLITE_IOERR \(778\)/],
    [11, 'damaged', /^SQLITE_CORRUPT \(11\)/],
    [26, 'damaged', /^SQLITE_NOTADB \(26\)/],
  ])('errcode %i is a storage failure (%s), named with its code', (errcode, kind, reason) => {
    expect(storageFailure(sqliteError(errcode, errcode === 13 ? 'database or disk is full' : 'x'))).toEqual({ kind, reason: expect.stringMatching(reason) });
  });

  it('is not a storage failure: a constraint, a syntax error, a plain Error', () => {
    expect(storageFailure(sqliteError(19, 'UNIQUE constraint failed'))).toBeUndefined();
    expect(storageFailure(sqliteError(1, 'near "SELEC": syntax error'))).toBeUndefined();
    expect(storageFailure(new TypeError('undefined is not a function'))).toBeUndefined();
  });
});

describe('StoreHealth', () => {
  it('ignores errors that are not about storage', () => {
    const { health, pending } = harness();
    expect(health.report(sqliteError(19, 'UNIQUE constraint failed'))).toBe(false);
    expect(health.problem()).toBeUndefined();
    expect(pending()).toHaveLength(0);
  });

  it('a disk-full error marks the store unwritable, logged once with the original code, with one probe loop', () => {
    const { health, lines, pending } = harness();
    expect(health.report(FULL())).toBe(true);
    expect(health.report(FULL())).toBe(true);
    expect(health.report(sqliteError(778, 'disk I/O error'))).toBe(true);

    expect(health.problem()).toMatchObject({ kind: 'unwritable', reason: 'SQLITE_FULL (13): database or disk is full', since: 1000 });
    const errors = lines().filter((line) => line.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ problem: 'SQLITE_FULL (13): database or disk is full', err: { errcode: 13, message: 'database or disk is full' } });
    expect(errors[0]!.msg).toMatch(/webhooks are answered 503/);
    expect(pending()).toHaveLength(1);
  });

  it('probes with backoff while writes fail, then clears the problem and tells the listeners', () => {
    let failing = true;
    const { health, due, runProbe, lines, changes } = harness(() => {
      if (failing) throw FULL();
    });
    let recovered = 0;
    health.onRecovered(() => recovered++);
    health.report(FULL());

    runProbe();
    runProbe();
    runProbe();
    expect(health.problem()?.kind).toBe('unwritable');
    expect(recovered).toBe(0);
    failing = false;
    runProbe();

    expect(due.map((entry) => entry.ms)).toEqual([1000, 2000, 4000, 8000]);
    expect(health.problem()).toBeUndefined();
    expect(recovered).toBe(1);
    expect(lines().at(-1)).toMatchObject({ level: 'info', msg: expect.stringMatching(/writes again/), downMs: 15_000 });
    // Told once when it failed and once when it recovered (the metric's two edges), not per probe.
    expect(changes).toEqual(['unwritable', undefined]);

    // A later failure starts from the first delay again.
    health.report(FULL());
    expect(due.at(-1)?.ms).toBe(1000);
  });

  it('caps the probe delay', () => {
    const { health, due, runProbe } = harness(() => {
      throw FULL();
    });
    health.report(FULL());
    for (let i = 0; i < 8; i++) runProbe();
    expect(Math.max(...due.map((entry) => entry.ms))).toBe(30_000);
  });

  it('a damaged file is never probed and never clears; the log says what to do', () => {
    const { health, lines, pending, changes } = harness();
    health.report(FULL());
    health.report(CORRUPT());
    health.report(FULL());
    expect(changes).toEqual(['unwritable', 'damaged']);

    expect(health.problem()).toMatchObject({ kind: 'damaged', reason: expect.stringMatching(/^SQLITE_CORRUPT/) });
    expect(pending()).toHaveLength(0);
    const last = lines().filter((line) => line.level === 'error').at(-1);
    expect(last?.msg).toMatch(/the state file is damaged: SQLITE_CORRUPT .*Stop Lookout, move the file aside, restart\./);
  });

  it('a probe that finds the file damaged ends the loop', () => {
    const { health, pending, runProbe } = harness(() => {
      throw CORRUPT();
    });
    health.report(FULL());
    runProbe();
    expect(health.problem()?.kind).toBe('damaged');
    expect(pending()).toHaveLength(0);
  });

  it('stop() cancels the pending probe', () => {
    const { health, pending } = harness();
    health.report(FULL());
    health.stop();
    expect(pending()).toHaveLength(0);
  });
});

describe('StoreHealth over a database server (PostgreSQL), with an asynchronous probe', () => {
  it('unreachable, then back as a read-only standby: the problem becomes unwritable; then writable: recovered once', async () => {
    const recorded = recordingLogger();
    const changes: Array<string | undefined> = [];
    const scheduled: Array<() => void> = [];
    let answer: Error | undefined = new Error('connect ECONNREFUSED');
    let recovered = 0;
    const health = new StoreHealth({
      log: recorded.log,
      probe: async () => {
        if (answer) throw answer;
      },
      classify: (error) => (/ECONNREFUSED/.test((error as Error).message) ? { kind: 'unreachable', reason: 'refused' } : /read-only/.test((error as Error).message) ? { kind: 'unwritable', reason: 'read-only' } : undefined),
      damagedAdvice: '',
      onChange: (problem) => changes.push(problem?.kind),
      schedule: (fn) => {
        scheduled.push(fn);
        return () => undefined;
      },
    });
    health.onRecovered(() => (recovered += 1));
    const probeOnce = async () => {
      scheduled.shift()!();
      await new Promise((resolve) => setImmediate(resolve));
    };
    expect(health.report(answer)).toBe(true);
    await probeOnce();
    expect(health.problem()?.kind).toBe('unreachable');
    answer = new Error('cannot execute INSERT in a read-only transaction');
    await probeOnce();
    expect(health.problem()).toMatchObject({ kind: 'unwritable', reason: 'read-only' });
    answer = undefined;
    await probeOnce();
    expect(health.problem()).toBeUndefined();
    expect(changes).toEqual(['unreachable', 'unwritable', undefined]);
    expect(recovered).toBe(1);
    expect(scheduled).toHaveLength(0);
  });
});
