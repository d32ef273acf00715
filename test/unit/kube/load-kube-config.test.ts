import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { KubeCredentials } from '../../../src/kube/kube-credentials.ts';
import { loadKubeCredentials } from '../../../src/kube/load-kube-config.ts';

const srcDir = fileURLToPath(new URL('../../../src/', import.meta.url));

/** A one-context kubeconfig for `server` with the given user fields. */
function writeKubeconfig(file: string, server: string, user: Record<string, unknown>): string {
  writeFileSync(
    file,
    stringify({
      clusters: [{ name: 'c', cluster: { server } }],
      users: [{ name: 'u', user }],
      contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'ctx',
    }),
  );
  return file;
}

async function authorization(credentials: KubeCredentials | undefined): Promise<unknown> {
  const options: RequestOptions = { headers: {} };
  await credentials!.apply(options);
  // Header names are case-insensitive: Lookout writes `authorization`, the library `Authorization`.
  return Object.entries(options.headers as Record<string, unknown>).find(([name]) => name.toLowerCase() === 'authorization')?.[1];
}

/**
 * Tests that start a child Node (an exec plugin, or a Node importing Lookout's modules) or import
 * @kubernetes/client-node's generated API: about a second on a quiet machine, past vitest's 5 s
 * default on a busy 2-core one.
 */
const CHILD_NODE_TIMEOUT_MS = 30_000;

/** An exec plugin that prints an ExecCredential, as aws / gke-gcloud-auth-plugin do. */
function execUser(token: string): Record<string, unknown> {
  const credential = JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token } });
  return { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: process.execPath, args: ['-e', `process.stdout.write(${JSON.stringify(credential)})`], interactiveMode: 'Never' } };
}

describe('loadKubeCredentials', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lookout-load-kube-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('has no credentials without a service account, KUBECONFIG or ~/.kube/config', async () => {
    expect(await loadKubeCredentials({ HOME: dir })).toBeUndefined();
  });

  it('prefers the in-cluster service account over KUBECONFIG', async () => {
    writeFileSync(join(dir, 'ca.crt'), 'CA');
    writeFileSync(join(dir, 'token'), 'sa-token');
    const kubeconfig = writeKubeconfig(join(dir, 'config'), 'https://elsewhere:6443', { token: 'file-token' });
    const credentials = await loadKubeCredentials({ KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443', KUBECONFIG: kubeconfig }, { serviceAccountDir: dir });
    expect(credentials?.server.host).toBe('10.0.0.1');
    expect(await authorization(credentials)).toBe('Bearer sa-token');
  });

  it('reads the first file of a KUBECONFIG list', async () => {
    const first = writeKubeconfig(join(dir, 'first'), 'https://first:6443', { token: 'first-token' });
    const second = writeKubeconfig(join(dir, 'second'), 'https://second:6443', { token: 'second-token' });
    const credentials = await loadKubeCredentials({ KUBECONFIG: [first, second].join(delimiter) });
    expect(credentials?.server.host).toBe('first:6443');
    expect(await authorization(credentials)).toBe('Bearer first-token');
  });

  it('falls back to ~/.kube/config', async () => {
    mkdirSync(join(dir, '.kube'));
    writeKubeconfig(join(dir, '.kube', 'config'), 'https://home:6443', { token: 'home-token' });
    expect(await authorization(await loadKubeCredentials({ HOME: dir }))).toBe('Bearer home-token');
  });

  it('hands a user with an exec plugin to @kubernetes/client-node, which runs the plugin', async () => {
    const kubeconfig = writeKubeconfig(join(dir, 'config'), 'https://eks:443', execUser('token-from-plugin'));
    const credentials = await loadKubeCredentials({ KUBECONFIG: kubeconfig });
    expect(credentials?.server.host).toBe('eks');
    expect(await authorization(credentials)).toBe('Bearer token-from-plugin');
  }, CHILD_NODE_TIMEOUT_MS);

  /**
   * Runs a child Node that records every module it resolves, imports what src/main.ts imports,
   * loads the kubeconfig, and prints the @kubernetes/client-node modules it saw.
   */
  function clientNodeModulesLoadedFor(kubeconfig: string): string[] {
    const script = `
      import { registerHooks } from 'node:module';
      const seen = [];
      registerHooks({ resolve(specifier, context, next) { const result = next(specifier, context); seen.push(result.url); return result; } });
      for (const module of ['config.ts', 'log.ts', 'lookout.ts', 'kube/kube-credentials.ts']) await import(new URL(module, ${JSON.stringify(pathToFileURL(srcDir).href)}));
      const { loadKubeCredentials } = await import(new URL('kube/load-kube-config.ts', ${JSON.stringify(pathToFileURL(srcDir).href)}));
      const credentials = await loadKubeCredentials({ KUBECONFIG: ${JSON.stringify(kubeconfig)} });
      await credentials.apply({ headers: {} });
      process.stdout.write(JSON.stringify(seen.filter((url) => url.includes('@kubernetes/client-node'))));
    `;
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
    return JSON.parse(output) as string[];
  }

  it('never loads @kubernetes/client-node for a token or certificate kubeconfig', () => {
    expect(clientNodeModulesLoadedFor(writeKubeconfig(join(dir, 'config'), 'https://prod:6443', { token: 't' }))).toEqual([]);
  }, CHILD_NODE_TIMEOUT_MS);

  it('loads @kubernetes/client-node for an exec plugin (the check above can see it)', () => {
    expect(clientNodeModulesLoadedFor(writeKubeconfig(join(dir, 'config'), 'https://eks:443', execUser('t'))).length).toBeGreaterThan(0);
  }, CHILD_NODE_TIMEOUT_MS);
});
