import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, posix } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDockerfile, type DockerStage } from '../support/dockerfile.ts';
import { waitFor } from '../support/free-port.ts';
import { startLookout, type LookoutProcess } from '../support/lookout-process.ts';
import { REPO_ROOT } from '../support/servers/binaries.ts';

/*
 * The container image's path, without a container engine: each stage of the Dockerfile gets a
 * directory standing for its file system, its COPY lines are done as written, and its npm
 * commands are run — the build stage's `npm run build`, the deps stage's production-only
 * `npm ci` — so the runtime directory holds exactly package.json, the production node_modules
 * and dist/. Then the runtime stage's CMD runs there with its ENV, in console mode. A change
 * that breaks only the image (a runtime import of a devDependency or of a file the build stage
 * does not copy, a CMD pointing elsewhere, a build that emits nothing) fails here.
 *
 * Stand-ins: the build stage's full `npm ci` is the repository's node_modules (installed by
 * `npm ci` from the same lockfile); RUN lines that are not npm prepare the container's OS
 * (remove npm, create /var/lib/lookout) and are replaced by a state directory in the temp dir.
 */

const run = promisify(execFile);
const WEBHOOK_TOKEN = 'image-test-webhook-token-0123456789';
const stages = readDockerfile(join(REPO_ROOT, 'Dockerfile'));
const runtime = stages.at(-1)!;

let root: string;
let lookout: LookoutProcess | undefined;

const stageRoot = (name: string) => join(root, 'stages', name);
/** A path of a stage's file system, relative ones from its WORKDIR. */
const inStage = (stage: DockerStage, path: string) => join(stageRoot(stage.name), posix.resolve(stage.workdir, path));

function stageNamed(name: string): DockerStage {
  const stage = stages.find((candidate) => candidate.name === name);
  if (stage === undefined) throw new Error(`Dockerfile: COPY --from=${name} names no stage`);
  return stage;
}

async function buildStage(stage: DockerStage): Promise<void> {
  for (const copy of stage.copies) {
    for (const source of copy.sources) {
      const from = copy.from === undefined ? join(REPO_ROOT, source) : join(stageRoot(copy.from), posix.resolve(stageNamed(copy.from).workdir, source));
      const destination = copy.destination.endsWith('/') ? join(inStage(stage, copy.destination), basename(source)) : inStage(stage, copy.destination);
      cpSync(from, destination, { recursive: true });
    }
  }
  const workdir = inStage(stage, '.');
  mkdirSync(workdir, { recursive: true });
  for (const command of stage.runs) {
    const [tool, ...args] = command.split(/\s+/);
    if (tool !== 'npm') continue;
    if (args[0] === 'ci' && !args.some((arg) => arg.startsWith('--omit='))) {
      symlinkSync(join(REPO_ROOT, 'node_modules'), join(workdir, 'node_modules'));
      continue;
    }
    // The npm cache of `npm ci` in this checkout has every package; the registry is asked only for what it lacks.
    await run('npm', [...args, ...(args[0] === 'ci' ? ['--prefer-offline', '--loglevel=error'] : [])], { cwd: workdir, env: process.env, maxBuffer: 16 * 1024 * 1024 });
  }
}

describe('the built output, run as the container image runs it', () => {
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'lookout-image-'));
    for (const stage of stages) await buildStage(stage);
  }, 300_000);

  afterAll(async () => {
    await lookout?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('the Dockerfile has what this test needs: a build stage running npm run build, and an exec-form CMD', () => {
    expect(stages.some((stage) => stage.runs.includes('npm run build'))).toBe(true);
    expect(runtime.cmd?.[0]).toBe('node');
  });

  it('the runtime holds the production dependencies only', () => {
    const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const installed = (name: string) => {
      try {
        readFileSync(join(inStage(runtime, 'node_modules'), name, 'package.json'));
        return true;
      } catch {
        return false;
      }
    };
    expect(lock.packages['node_modules/vitest']?.dev).toBe(true);
    expect(installed('vitest')).toBe(false);
    expect(installed('zod')).toBe(true);
  });

  it('serves /healthz and accepts and prints a webhook, in console mode', async () => {
    const stateDir = join(root, 'state');
    mkdirSync(stateDir);
    // The test picks a free port itself; everything else is the image's ENV.
    const { PORT: _port, ...imageEnv } = runtime.env;
    lookout = await startLookout({ ...imageEnv, LOOKOUT_STATE: join(stateDir, 'lookout.db'), LOOKOUT_WEBHOOK_TOKEN: WEBHOOK_TOKEN }, undefined, {
      command: { argv: runtime.cmd!, cwd: inStage(runtime, '.') },
    });
    const health = await fetch(`${lookout.url}/healthz`);
    expect(health.status).toBe(200);

    const webhook = await fetch(`${lookout.url}/alertmanager`, {
      method: 'POST',
      headers: { authorization: `Bearer ${WEBHOOK_TOKEN}`, 'content-type': 'application/json' },
      body: readFileSync(join(REPO_ROOT, 'docs/examples/alert.json')),
    });
    expect(webhook.status).toBe(200);
    expect(await webhook.json()).toEqual({ status: 'accepted' });
    const printed = await waitFor('the message printed', () => (/── message #1 in #console[\s\S]*KubePodCrashLooping/.test(lookout!.output()) ? lookout!.output() : undefined), 15_000);
    expect(printed).toContain('Pod is crash looping.');
    expect(printed).not.toContain(WEBHOOK_TOKEN);
  });

  describe('--check-config on the same command', () => {
    const checkConfig = (env: Record<string, string>) =>
      run(process.execPath, [...runtime.cmd!.slice(1), '--check-config'], { cwd: inStage(runtime, '.'), env: { PATH: process.env.PATH ?? '', ...runtime.env, ...env } }).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
      );

    it('exits 0 for a good configuration, without serving', async () => {
      const file = join(root, 'good.yaml');
      writeFileSync(file, 'channel: C0ALERTS\nroutes:\n  - match: { severity: critical }\n    channel: C0INCIDENTS\n');
      const result = await checkConfig({ LOOKOUT_WEBHOOK_TOKEN: WEBHOOK_TOKEN, LOOKOUT_CONFIG: file, PORT: '1' });
      expect(result).toEqual({ code: 0, stdout: `lookout: configuration OK: console mode (no Slack credentials), default channel C0ALERTS, 1 route, file ${file}, no Kubernetes credentials (actions refused, no enrichment)\n`, stderr: '' });
    });

    it('exits 1 listing every problem, and prints no secret', async () => {
      const file = join(root, 'bad.yaml');
      writeFileSync(file, 'channel: "#general channel"\noutbox: { minIntervalMs: -1 }\nrouts: []\n');
      // Both values carry a marker no message has (SLACK_SIGNING_SECRET's name contains "SECRET").
      const result = await checkConfig({ LOOKOUT_WEBHOOK_TOKEN: 'short-zq9x', SLACK_BOT_TOKEN: 'xoxb-zq9x-bot-token-value', PORT: 'eighty', LOOKOUT_CONFIG: file, KUBECONFIG: join(root, 'no-such-kubeconfig') });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      const problems = result.stderr.split('\n').filter((line) => line.startsWith('  - '));
      expect(problems).toEqual([
        expect.stringMatching(/^ {2}- env PORT: /),
        expect.stringMatching(/^ {2}- env LOOKOUT_WEBHOOK_TOKEN: must be at least 16 characters/),
        expect.stringMatching(/bad\.yaml: channel: must be a Slack channel id/),
        expect.stringMatching(/bad\.yaml: outbox\.minIntervalMs: /),
        expect.stringMatching(/bad\.yaml: \(top level\): Unrecognized key: "routs"/),
        expect.stringMatching(/^ {2}- env SLACK_BOT_TOKEN: set SLACK_SIGNING_SECRET too/),
        expect.stringMatching(/cannot load Kubernetes credentials .*ENOENT/),
      ]);
      expect(result.stderr).not.toContain('zq9x');
    });

    it('works the same through npm start', async () => {
      const { stdout } = await run('npm', ['start', '--silent', '--', '--check-config'], { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', LOOKOUT_WEBHOOK_TOKEN: WEBHOOK_TOKEN, HOME: root } });
      expect(stdout).toMatch(/^lookout: configuration OK: console mode/m);
    });
  });
});
