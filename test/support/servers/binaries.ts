import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { processWatchdog } from '../watchdog.ts';

/** Repository root (this file is test/support/servers/binaries.ts). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

/** Paths of the server binaries built by test/servers/build.sh. */
export interface ServerBinaries {
  kubeApiserver: string;
  /** Built from the same Kubernetes modules as kube-apiserver (kustomize, server-side dry runs). */
  kubectl: string;
  etcd: string;
  bao: string;
  loki: string;
  kubeStateMetrics: string;
}

const BUILD_SCRIPT = join(REPO_ROOT, 'test/servers/build.sh');

/**
 * Runs test/servers/build.sh (a no-op when the binaries for the committed go.sum exist; a cold
 * build takes ~10 minutes) and returns the binaries it reports. Its progress goes to stderr.
 */
export async function buildServers(env: NodeJS.ProcessEnv = process.env): Promise<ServerBinaries> {
  const stdout = await new Promise<string>((resolvePromise, reject) => {
    // Its own process group, watched: if this process dies mid-build (Ctrl-C, kill -9), the
    // watchdog kills the whole build (bash and its go processes), not just bash.
    const child = spawn('bash', [BUILD_SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'], env, detached: true });
    const group = child.pid === undefined ? undefined : -child.pid;
    if (group !== undefined) processWatchdog().watch(group);
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (group !== undefined) processWatchdog().forget(group);
      if (code === 0) resolvePromise(out);
      else reject(new Error(`test/servers/build.sh exited with ${code}; its output is above`));
    });
  });
  const built = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) built.set(line.slice(0, at), line.slice(at + 1));
  }
  return toBinaries((name) => built.get(name), 'test/servers/build.sh did not report');
}

function toBinaries(find: (name: string) => string | undefined, missing: string): ServerBinaries {
  const required = (name: string) => {
    const path = find(name);
    if (!path) throw new Error(`${missing} ${name}`);
    return path;
  };
  return {
    kubeApiserver: required('kube-apiserver'),
    kubectl: required('kubectl'),
    etcd: required('etcd'),
    bao: required('bao'),
    loki: required('loki'),
    kubeStateMetrics: required('kube-state-metrics'),
  };
}
