import type { Logger } from '../log.ts';
import { failed, type CheckOutcome, type DoctorCheck } from './doctor-check.ts';

/** A check's state while the runner works: undefined until it finishes. */
export type CheckResults = ReadonlyArray<CheckOutcome | undefined>;

export interface RunChecksOptions {
  checks: readonly DoctorCheck[];
  /** Deadline of a check that names none. */
  timeoutMs: number;
  log: Logger;
  /** Called with every result so far each time one check finishes (the reply is edited with it). */
  onResult?: (results: CheckResults) => void;
  /** Aborts every check (Lookout shuts down). */
  signal?: AbortSignal;
}

/**
 * Runs every check at once, each under its own deadline, so one dead dependency neither hides nor
 * delays the others. A check that throws or misses its deadline is a ✗; the error itself goes to
 * the log only (it may name hosts or carry a response body), the person reads a fixed sentence.
 */
export async function runChecks({ checks, timeoutMs, log, onResult, signal }: RunChecksOptions): Promise<CheckOutcome[]> {
  const results: Array<CheckOutcome | undefined> = checks.map(() => undefined);
  await Promise.all(
    checks.map(async (check, index) => {
      const outcome = await runOne(check, check.timeoutMs ?? timeoutMs, log, signal);
      results[index] = outcome;
      onResult?.([...results]);
    }),
  );
  return results as CheckOutcome[];
}

async function runOne(check: DoctorCheck, timeoutMs: number, log: Logger, outer: AbortSignal | undefined): Promise<CheckOutcome> {
  const deadline = new AbortController();
  const signal = outer ? AbortSignal.any([deadline.signal, outer]) : deadline.signal;
  const late = failed(`no answer within ${formatSeconds(timeoutMs)}`, `${check.name} is too slow or unreachable from Lookout; check that it is up and that the network lets Lookout reach it.`);
  let timer: NodeJS.Timeout | undefined;
  // Settled before the check's signal aborts, so whatever the check answers to the abort comes
  // too late to win; and the deadline holds even for a check that ignores its signal.
  const timedOut = new Promise<CheckOutcome>((resolve) => {
    timer = setTimeout(() => {
      resolve(late);
      deadline.abort(new Error(`${check.name}: deadline passed`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([check.run(signal), timedOut]);
  } catch (error) {
    if (deadline.signal.aborted) return late;
    log.warn({ err: error, check: check.name }, 'doctor check failed');
    return failed('the check itself failed', "See Lookout's log (`doctor check failed`) for the error.");
  } finally {
    clearTimeout(timer);
  }
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}
