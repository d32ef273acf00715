import { describe, expect, it } from 'vitest';
import { failed, passed, type DoctorCheck } from '../../../src/doctor/doctor-check.ts';
import { renderChecks } from '../../../src/doctor/render-checks.ts';
import { runChecks, type CheckResults } from '../../../src/doctor/run-checks.ts';
import { recordingLogger } from '../../helpers/fakes.ts';

const check = (name: string, run: DoctorCheck['run'], timeoutMs?: number): DoctorCheck => ({ name, run, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
const after = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

describe('runChecks', () => {
  it('runs checks at once: a hanging check fails at its own deadline and hides none of the others', async () => {
    const { log } = recordingLogger();
    const updates: CheckResults[] = [];
    const started = Date.now();
    const results = await runChecks({
      checks: [
        check('Hangs', () => new Promise(() => undefined)),
        check('Fast', async () => passed('fine')),
        check('Slow', () => after(50, failed('broken', 'mend it'))),
      ],
      timeoutMs: 200,
      log,
      onResult: (partial) => updates.push(partial),
    });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(results).toEqual([
      { ok: false, detail: 'no answer within 0.2 s', fix: 'Hangs is too slow or unreachable from Lookout; check that it is up and that the network lets Lookout reach it.' },
      { ok: true, detail: 'fine' },
      { ok: false, detail: 'broken', fix: 'mend it' },
    ]);
    // Fast first, then Slow, then the hanging one at the deadline: each an edit of the reply.
    expect(updates.map((partial) => partial.map((outcome) => outcome?.ok))).toEqual([
      [undefined, true, undefined],
      [undefined, true, false],
      [false, true, false],
    ]);
  });

  it('aborts the signal of a check at its deadline, and a check may set its own longer one', async () => {
    const { log } = recordingLogger();
    let aborted = false;
    const results = await runChecks({
      checks: [
        check('Listens', (signal) => new Promise((resolve) => signal.addEventListener('abort', () => { aborted = true; resolve(passed('late')); }))),
        check('Patient', () => after(80, passed('waited')), 500),
      ],
      timeoutMs: 30,
      log,
    });
    expect(aborted).toBe(true);
    expect(results[0]?.ok).toBe(false);
    expect(results[1]).toEqual({ ok: true, detail: 'waited' });
  });

  it('turns a thrown error into a ✗ that points at the log, never its message', async () => {
    const { log, lines } = recordingLogger();
    const [result] = await runChecks({ checks: [check('Throws', async () => { throw new Error('token s.SECRET123 rejected'); })], timeoutMs: 1000, log });
    expect(result).toEqual({ ok: false, detail: 'the check itself failed', fix: "See Lookout's log (`doctor check failed`) for the error." });
    expect(JSON.stringify(result)).not.toContain('SECRET');
    expect(lines().some((line) => line['check'] === 'Throws')).toBe(true);
  });
});

describe('renderChecks', () => {
  const checks = [check('Loki', async () => passed('')), check('Vault', async () => passed(''))];

  it('shows checks still running, then each ✓ or ✗ with its fix', () => {
    expect(renderChecks(checks, [passed('ready')]).text).toBe('*Lookout doctor* — 1 of 2 checks done\n✓ *Loki* ready\n⏳ *Vault* checking…');
    expect(renderChecks(checks, [passed('ready'), failed('sealed', 'Unseal it.')]).text).toBe('*Lookout doctor* — 1 of 2 checks failed\n✓ *Loki* ready\n✗ *Vault* sealed\n    ↳ _Fix:_ Unseal it.');
    expect(renderChecks(checks, [passed('ready'), passed('unsealed')]).text).toMatch(/^\*Lookout doctor\* — all 2 checks passed\n/);
  });
});
