import { cpus, loadavg, totalmem } from 'node:os';
import type { ScenarioResult } from './bench-support.ts';

/** Where and how the figures were taken. */
export interface RunInfo {
  readonly startedAt: Date;
  readonly durationMs: number;
  readonly command: string;
  readonly quick: boolean;
  /** {@link machineLine} taken when the run started (its load average is the one before the run). */
  readonly machine: string;
}

/** The machine the figures come from: they mean little without it. */
export function machineLine(): string {
  const cores = cpus();
  const model = cores[0]?.model.trim() ?? 'unknown CPU';
  // The load says whether the machine was shared with other work during the run.
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  return `${cores.length} cores (${model}), ${(totalmem() / 1024 ** 3).toFixed(1)} GiB RAM, Node ${process.version}, ${process.platform}/${process.arch}; load average ${load}`;
}

/** The budget table for the terminal. */
export function budgetTable(results: readonly ScenarioResult[]): string {
  const rows = results.flatMap((r) => r.budgets.map((b) => [b.pass ? 'PASS' : 'FAIL', b.what, b.limit, b.measured]));
  const header = ['', 'budget', 'limit', 'measured'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** Figures for the terminal, scenario by scenario. */
export function figuresText(results: readonly ScenarioResult[]): string {
  return results.map((r) => [`== ${r.title}`, ...r.figures.map(([label, value]) => `  ${label}: ${value}`)].join('\n')).join('\n');
}

const cell = (text: string) => text.replaceAll('|', '\\|');

/** docs/benchmarks.md, rewritten on every run. */
export function benchmarksMarkdown(results: readonly ScenarioResult[], failures: ReadonlyArray<readonly [string, string]>, info: RunInfo): string {
  const out: string[] = [
    '# Benchmarks',
    '',
    '<!-- Written by `npm run bench` (test/bench/run.ts); edits here are overwritten by the next run. -->',
    '',
    "Lookout's performance budgets (shared/DESIGN.md, \"Budgets\") measured against real servers: Lookout",
    'as a child process as the container image runs it (compiled: `npm run build`, then `node dist/src/main.js`,',
    "with the Deployment's NODE_OPTIONS), the fake Slack of test/support/fake-slack.ts (real",
    'HTTP, 1 msg/s/channel and 50 chat.update/min enforced with 429), the Debian Alertmanager, and a real',
    'kube-apiserver + etcd. How to run it and what each scenario does: docs/testing.md, "Benchmarks".',
    '',
    `- **Date:** ${info.startedAt.toISOString().replace(/\.\d+Z$/, 'Z')} (the run took ${(info.durationMs / 1000).toFixed(0)} s)`,
    `- **Machine:** ${info.machine}`,
    `- **Command:** \`${info.command}\`${info.quick ? ' (quick sizes: smaller than the budgets ask for)' : ''}`,
    '',
    '## Budgets',
    '',
    '| result | budget | limit | measured |',
    '|---|---|---|---|',
    ...results.flatMap((r) => r.budgets.map((b) => `| ${b.pass ? 'PASS' : '**FAIL**'} | ${cell(b.what)} | ${cell(b.limit)} | ${cell(b.measured)} |`)),
    ...failures.map(([id]) => `| **FAIL** | scenario \`${id}\` did not complete | | see below |`),
    '',
  ];
  for (const r of results) {
    out.push(`## ${r.title}`, '', '| figure | value |', '|---|---|', ...r.figures.map(([label, value]) => `| ${cell(label)} | ${cell(value)} |`), '');
    for (const note of r.notes) out.push(`- ${note}`);
    out.push('');
  }
  for (const [id, error] of failures) out.push(`## Scenario \`${id}\`: failed`, '', '```', error, '```', '');
  return `${out.join('\n').trimEnd()}\n`;
}
