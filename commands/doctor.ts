import { z } from 'zod';
import type { DoctorCheck } from '../src/doctor/doctor-check.ts';
import { renderChecks } from '../src/doctor/render-checks.ts';
import { runChecks } from '../src/doctor/run-checks.ts';
import type { CommandDefinition } from './command.ts';

export interface DoctorCommandOptions {
  /**
   * The checks for this run, built by src/lookout.ts from what is configured (a Loki check only
   * with LOKI_URL, …); `channelId` is where doctor was run.
   */
  checks(channelId: string): readonly DoctorCheck[];
  /** Deadline of each check that names none of its own. */
  checkTimeoutMs: number;
}

/**
 * `/ops doctor`: checks every link Lookout depends on, concurrently, each under its own deadline,
 * and edits the reply as each finishes: ✓ with what it saw, or ✗ with how to fix it.
 * Reviewed as `get` on `doctor` in lookout.dev, cluster-wide (it reveals how Lookout is set up).
 */
export function createDoctorCommand(options: DoctorCommandOptions): CommandDefinition<Record<string, never>> {
  return {
    name: 'doctor',
    summary: "Check every link Lookout depends on (Slack, Kubernetes, Alertmanager, Loki, Vault, store) and how to fix what's broken",
    usage: '',
    args: z
      .array(z.string())
      .max(0, 'takes no arguments')
      .transform(() => ({})),
    access: () => ({ verb: 'get', group: 'lookout.dev', resource: 'doctor' }),
    deniedHint: () => 'Doctor shows how Lookout is wired, so it is granted cluster-wide with a ClusterRole (docs/rbac.md).',
    async run(ctx) {
      const checks = options.checks(ctx.channelId);
      return {
        ...renderChecks(checks, []),
        auditDetail: `${checks.length} checks`,
        followUp: async (progress) => {
          const results = await runChecks({ checks, timeoutMs: options.checkTimeoutMs, log: ctx.log, signal: progress.signal, onResult: (partial) => progress.update(renderChecks(checks, partial)) });
          return renderChecks(checks, results);
        },
      };
    },
  };
}
