import { defineConfig } from 'vitest/config';

// In CI each run also writes a JSON report, which .ci/run sums into one "N passed, N failed" line.
const reportName = (process.env.npm_lifecycle_event ?? 'vitest').replace(/[^a-z0-9-]/gi, '-');

export default defineConfig({
  test: {
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: `reports/${reportName}.json` },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          // No unit test asserts time (budgets live in `npm run bench`), but some commit to SQLite
          // files with fsync: on a busy shared disk one fsync has taken seconds (CI saw a 68 ms
          // test pass 5 s), so the default 5 s limit failed runs that had nothing wrong.
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          // Builds (no-op when warm) and starts the real servers once per run; see docs/testing.md.
          globalSetup: ['test/support/servers/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // Real servers are shared between files; run files one at a time on a 2-core machine.
          fileParallelism: false,
        },
      },
    ],
  },
});
