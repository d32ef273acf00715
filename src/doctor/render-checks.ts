import type { ReplyContent } from '../../commands/command.ts';
import type { DoctorCheck } from './doctor-check.ts';
import type { CheckResults } from './run-checks.ts';

/** The doctor's reply: one line per check, ✓ or ✗ (with how to fix it), or ⏳ while it runs. */
export function renderChecks(checks: readonly DoctorCheck[], results: CheckResults): ReplyContent {
  const lines = checks.map((check, index) => {
    const outcome = results[index];
    if (outcome === undefined) return `⏳ *${check.name}* checking…`;
    if (outcome.ok) return `✓ *${check.name}* ${outcome.detail}`;
    return `✗ *${check.name}* ${outcome.detail}\n    ↳ _Fix:_ ${outcome.fix}`;
  });
  const done = results.filter((outcome) => outcome !== undefined);
  const failures = done.filter((outcome) => !outcome.ok).length;
  const heading =
    done.length < checks.length
      ? `*Lookout doctor* — ${done.length} of ${checks.length} checks done`
      : failures === 0
        ? `*Lookout doctor* — all ${checks.length} checks passed`
        : `*Lookout doctor* — ${failures} of ${checks.length} checks failed`;
  return { text: [heading, ...lines].join('\n') };
}
