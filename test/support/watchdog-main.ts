// The watchdog process behind test/support/watchdog.ts. It reads commands from stdin, one a line:
//
//   watch N     kill N with SIGKILL if the owner dies (N < 0: the process group -N)
//   forget N    the owner stopped N itself
//   dir PATH    remove PATH (recursively) if the owner dies
//   keep PATH   the owner handles PATH itself
//
// stdin is a pipe from the owner and nothing else holds its write end, so end-of-file means the
// owner has exited, however it ended (SIGKILL included). Then it kills whatever is still watched,
// waits for it to be gone, removes the directories and exits. It runs in its own session, so a
// Ctrl-C or a hang-up meant for the owner's terminal does not end it first.
import { rmSync } from 'node:fs';

const targets = new Set<number>();
const dirs = new Set<string>();
let pending = '';

function handle(line: string): void {
  const space = line.indexOf(' ');
  const [verb, arg] = space < 0 ? [line, ''] : [line.slice(0, space), line.slice(space + 1)];
  if (verb === 'watch') targets.add(Number(arg));
  else if (verb === 'forget') targets.delete(Number(arg));
  else if (verb === 'dir') dirs.add(arg);
  else if (verb === 'keep') dirs.delete(arg);
}

function alive(target: number): boolean {
  try {
    process.kill(target, 0);
    return true;
  } catch {
    return false;
  }
}

async function reap(): Promise<void> {
  for (const target of targets) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  // Let them go before removing their files, so nothing is written into a removed directory.
  const deadline = Date.now() + 5_000;
  while ([...targets].some(alive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  pending += chunk;
  for (let newline = pending.indexOf('\n'); newline >= 0; newline = pending.indexOf('\n')) {
    handle(pending.slice(0, newline));
    pending = pending.slice(newline + 1);
  }
});
process.stdin.on('end', () => void reap());
process.stdin.on('error', () => void reap());
