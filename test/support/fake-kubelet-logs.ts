import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { KubeHttp } from '../../src/kube/kube-http.ts';

/*
 * The kubelet's container log endpoint, for `pods/log` through the real kube-apiserver. A real
 * kubelet cannot run here (it needs a container runtime), and the API server does not hold logs:
 * for `GET …/pods/<pod>/log` it looks up the pod's Node, and proxies to
 * https://<node address>:<status.daemonEndpoints.kubeletEndpoint.Port>/containerLogs/<ns>/<pod>/<container>
 * with the query it was given (tailLines, sinceSeconds, timestamps, previous, limitBytes). The
 * harness apiserver has no --kubelet-certificate-authority, so it does not verify the kubelet's
 * serving certificate (a self-signed one does) and presents no client certificate.
 *
 * This serves that endpoint from lines a test sets, honouring those parameters the way the
 * kubelet does; registerFakeKubeletNode makes a Node that points at it. docs/testing.md lists it.
 */

/** One line a container wrote. */
export interface FakeLogLine {
  at: Date;
  text: string;
}

export interface FakeKubeletLogs {
  /** Sets what `<namespace>/<pod>/<container>` has written (its current instance, or the previous one). */
  setLog(namespace: string, pod: string, container: string, lines: FakeLogLine[], instance?: 'current' | 'previous'): void;
  /** Every request the API server forwarded: path and query. */
  readonly requests: ReadonlyArray<{ path: string; query: Record<string, string> }>;
  port: number;
  close(): Promise<void>;
}

const run = promisify(execFile);

export async function startFakeKubeletLogs(): Promise<FakeKubeletLogs> {
  const dir = mkdtempSync(join(tmpdir(), 'fake-kubelet-'));
  const key = join(dir, 'kubelet.key');
  const cert = join(dir, 'kubelet.crt');
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=fake-kubelet', '-addext', 'subjectAltName=IP:127.0.0.1']);
  const logs = new Map<string, FakeLogLine[]>();
  const requests: Array<{ path: string; query: Record<string, string> }> = [];

  const server = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const query = Object.fromEntries(url.searchParams);
    requests.push({ path: url.pathname, query });
    const match = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (req.method !== 'GET' || match === null) {
      res.writeHead(404).end();
      return;
    }
    const [, namespace, pod, container] = match;
    const lines = logs.get(logKey(namespace ?? '', pod ?? '', container ?? '', query['previous'] === 'true' ? 'previous' : 'current'));
    if (lines === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`container "${container}" in pod "${pod}" has no log\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end(render(lines, query));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    setLog(namespace, pod, container, lines, instance = 'current') {
      logs.set(logKey(namespace, pod, container, instance), lines);
    },
    requests,
    port,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function logKey(namespace: string, pod: string, container: string, instance: string): string {
  return `${namespace}/${pod}/${container}/${instance}`;
}

/** As the kubelet does: sinceSeconds, then the last tailLines, timestamps as RFC 3339 with nanoseconds, then limitBytes. */
function render(lines: readonly FakeLogLine[], query: Record<string, string>): string {
  let selected = [...lines];
  const since = query['sinceSeconds'];
  if (since !== undefined) {
    const from = Date.now() - Number(since) * 1000;
    selected = selected.filter((line) => line.at.getTime() >= from);
  }
  const tail = query['tailLines'];
  if (tail !== undefined) selected = selected.slice(Math.max(0, selected.length - Number(tail)));
  const text = selected.map((line) => `${query['timestamps'] === 'true' ? `${line.at.toISOString().replace('Z', '000000Z')} ` : ''}${line.text}\n`).join('');
  const limit = query['limitBytes'];
  return limit === undefined ? text : Buffer.from(text).subarray(0, Number(limit)).toString('utf8');
}

/** A Node whose kubelet is the fake: InternalIP 127.0.0.1 and the fake's port. Delete it when done. */
export async function registerFakeKubeletNode(admin: KubeHttp, name: string, port: number): Promise<void> {
  await admin.request({ method: 'POST', path: '/api/v1/nodes', body: { apiVersion: 'v1', kind: 'Node', metadata: { name } } });
  await admin.request({
    method: 'PATCH',
    path: `/api/v1/nodes/${name}/status`,
    contentType: 'application/merge-patch+json',
    body: { status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], daemonEndpoints: { kubeletEndpoint: { Port: port } } } },
  });
}
