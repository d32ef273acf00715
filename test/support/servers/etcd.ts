import { join } from 'node:path';
import { freePort } from './ports.ts';
import type { ManagedProcess, Supervisor } from './processes.ts';
import { httpOk, waitUntilReady } from './readiness.ts';

export interface EtcdOptions {
  binary: string;
  /** Data directory and log go here. */
  dir: string;
  supervisor: Supervisor;
}

export interface Etcd {
  /** Client URL, http://127.0.0.1:PORT. */
  url: string;
  process: ManagedProcess;
}

/** A single-member etcd on loopback; no fsync, since the data is thrown away after the run. */
export async function startEtcd({ binary, dir, supervisor }: EtcdOptions): Promise<Etcd> {
  const [client, peer] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const process = supervisor.start({
    name: 'etcd',
    command: binary,
    args: [
      '--name=lookout-test',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=lookout-test=${peerUrl}`,
      // Without it, a busy 2-core machine makes etcd (and every apiserver write) crawl.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
    logFile: join(dir, 'etcd.log'),
    stopTimeoutMs: 5_000,
  });
  await waitUntilReady(process, () => httpOk(`${url}/readyz`), 30_000);
  return { url, process };
}
