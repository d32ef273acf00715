import { readFileSync } from 'node:fs';
import { posix } from 'node:path';

/*
 * Reads the Dockerfile's stages, so a test can do what the image build does without a container
 * engine (test/integration/built-output.test.ts): only the instructions Lookout's Dockerfile uses,
 * in their plain forms. Anything else in a stage is kept as text for the test to look at.
 */

export interface DockerCopy {
  /** The stage copied from (`--from=`); undefined: the build context. */
  from?: string;
  sources: string[];
  destination: string;
}

export interface DockerStage {
  name: string;
  /** The last WORKDIR ('/' before any). */
  workdir: string;
  env: Record<string, string>;
  copies: DockerCopy[];
  /** RUN commands without RUN's own flags (--mount=…), continuation lines joined. */
  runs: string[];
  /** The exec form of CMD (a JSON array), if the stage has one. */
  cmd?: string[];
}

/** The stages in order; the last one is what the image runs. */
export function readDockerfile(path: string): DockerStage[] {
  const stages: DockerStage[] = [];
  for (const line of instructions(readFileSync(path, 'utf8'))) {
    const [keyword = '', ...rest] = line.split(/\s+/);
    const args = line.slice(keyword.length).trim();
    const instruction = keyword.toUpperCase();
    if (instruction === 'FROM') {
      const as = rest.findIndex((word) => word.toUpperCase() === 'AS');
      stages.push({ name: as === -1 ? String(stages.length) : (rest[as + 1] ?? ''), workdir: '/', env: {}, copies: [], runs: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (stage === undefined) continue; // ARG before the first FROM
    if (instruction === 'WORKDIR') stage.workdir = posix.resolve(stage.workdir, args);
    else if (instruction === 'ENV') Object.assign(stage.env, parseEnv(args));
    else if (instruction === 'COPY') stage.copies.push(parseCopy(rest));
    else if (instruction === 'RUN') stage.runs.push(withoutLeadingFlags(rest).join(' '));
    else if (instruction === 'CMD') stage.cmd = parseExecForm(args, path);
  }
  return stages;
}

/** Logical lines: comments dropped, `\` continuations joined. */
function instructions(text: string): string[] {
  const lines: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && current === '')) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    lines.push((current + line).trim());
    current = '';
  }
  return lines.filter((line) => line !== '');
}

function parseEnv(args: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const match of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("([^"]*)"|\S*)/g)) env[match[1]!] = match[3] ?? match[2]!;
  return env;
}

/** RUN's own flags (--mount=…) come before the command. */
function withoutLeadingFlags(words: string[]): string[] {
  const first = words.findIndex((word) => !word.startsWith('--'));
  return first === -1 ? [] : words.slice(first);
}

function parseCopy(words: string[]): DockerCopy {
  const from = words.find((word) => word.startsWith('--from='))?.slice('--from='.length);
  const paths = words.filter((word) => !word.startsWith('--'));
  const destination = paths.pop();
  if (destination === undefined || paths.length === 0) throw new Error(`Dockerfile: COPY ${words.join(' ')} needs a source and a destination`);
  return { ...(from === undefined ? {} : { from }), sources: paths, destination };
}

function parseExecForm(args: string, path: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((word) => typeof word === 'string')) {
    throw new Error(`${path}: CMD must be in exec form (a JSON array of strings), e.g. ["node", "dist/src/main.js"]`);
  }
  return parsed as string[];
}
