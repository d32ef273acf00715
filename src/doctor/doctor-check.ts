/** What one check of `/ops doctor` found: ✓ with what it saw, or ✗ with what is wrong and how to fix it. */
export type CheckOutcome = { ok: true; detail: string } | { ok: false; detail: string; fix: string };

/**
 * One link of the chain `/ops doctor` checks (Slack, Kubernetes, Alertmanager, …): a check module
 * per dependency, run concurrently by runChecks, each under its own deadline.
 */
export interface DoctorCheck {
  /** Shown before the result, e.g. `Loki`. */
  name: string;
  /** Overrides the runner's default deadline (the synthetic round trip waits longer). */
  timeoutMs?: number;
  /** Aborted at the deadline; a check should stop its requests then. A thrown error is a ✗. */
  run(signal: AbortSignal): Promise<CheckOutcome>;
}

export const passed = (detail: string): CheckOutcome => ({ ok: true, detail });
export const failed = (detail: string, fix: string): CheckOutcome => ({ ok: false, detail, fix });
