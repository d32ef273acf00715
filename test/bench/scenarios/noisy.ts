import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processWatchdog } from '../../support/watchdog.ts';
import { ROUNDS, type Scenario } from '../bench-support.ts';
import { runWebhookPhases } from './webhook-latency.ts';

/*
 * Issue 11: production nodes are shared, so the webhook budgets must hold beside busy neighbours
 * too. The webhook phases (8 and 32 in flight) run while a CPU hog (a busy loop) and a disk-sync
 * hog (write + fsync of a file in a loop, on the same file system as Lookout's state file) run on
 * the same machine. A store that fsyncs on the event loop waits behind the hog's syncs.
 */

/** A busy loop: takes a core whenever the scheduler gives it one. */
const CPU_HOG = 'for (;;) {}';
/** 64 KiB written and fsynced, forever: the disk's write-back queue is never empty. */
const DISK_HOG = `const fs = require('node:fs'); const fd = fs.openSync(process.argv[1], 'w'); const block = Buffer.alloc(65536, 1);
for (let i = 0; ; i++) { fs.writeSync(fd, block, 0, block.length, (i % 256) * block.length); fs.fsyncSync(fd); }`;

function startHog(source: string, ...args: string[]): ChildProcess {
  const child = spawn(process.execPath, ['-e', source, ...args], { stdio: 'ignore' });
  // Killed by the watchdog if the bench dies without stopping it.
  if (child.pid !== undefined) processWatchdog().watch(child.pid);
  return child;
}

function stopHog(child: ChildProcess): void {
  if (child.pid !== undefined) processWatchdog().forget(child.pid);
  child.kill('SIGKILL');
}

export const noisy: Scenario = {
  id: 'noisy',
  needsKube: false,
  async run(context) {
    // The state file is under the OS temp dir (the test bed's), so the hog's file is too.
    const dir = mkdtempSync(join(tmpdir(), 'lookout-bench-noisy-'));
    const hogs = [startHog(CPU_HOG), startHog(DISK_HOG, join(dir, 'hog.bin'))];
    try {
      // Issue 11's intake target (≥ 2,000 req/s at 32 in flight) is for the quiet machine; beside two
      // processes that each want a core, the intake is reported, and the answer times are judged.
      const { figures, budgets } = await runWebhookPhases(context, 'noisy webhook', { sequential: false, intakeBudget: false });
      return {
        title: 'Webhook answer latency beside a CPU hog and a disk-sync hog',
        figures,
        budgets,
        notes: [
          `The webhook scenario's 8- and 32-in-flight phases (${ROUNDS} rounds each, budgets on the median) while two other processes run: a busy loop (one core) and a loop writing and fsyncing 64 KiB of a file in ${tmpdir()} (the file system of Lookout's state file).`,
          'On a machine with 2 cores the CPU hog leaves Lookout, the bench client and the fake Slack one core between them, as a busy neighbour on a shared node would.',
          "The intake at 32 in flight is a figure here, not a budget: issue 11 sets the 2,000 req/s target for the quiet machine (the webhook scenario) and the < 50 ms answer p99 for both.",
        ],
      };
    } finally {
      hogs.forEach(stopHog);
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
