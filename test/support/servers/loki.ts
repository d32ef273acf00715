import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './ports.ts';
import type { ManagedProcess, Supervisor } from './processes.ts';
import { httpOk, waitUntilReady } from './readiness.ts';

export interface LokiOptions {
  binary: string;
  dir: string;
  supervisor: Supervisor;
}

export interface Loki {
  /** http://127.0.0.1:PORT */
  url: string;
  process: ManagedProcess;
}

/** Single-binary Loki with filesystem storage under `dir`, no auth, no usage reports. */
export async function startLoki({ binary, dir, supervisor }: LokiOptions): Promise<Loki> {
  const [port, grpcPort] = [await freePort(), await freePort()];
  const data = join(dir, 'loki');
  mkdirSync(data, { recursive: true });
  const configFile = join(dir, 'loki.yaml');
  writeFileSync(configFile, lokiConfig({ port, grpcPort, data }));
  const process = supervisor.start({
    name: 'loki',
    command: binary,
    args: [`-config.file=${configFile}`],
    logFile: join(dir, 'loki.log'),
    stopTimeoutMs: 5_000,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntilReady(process, () => httpOk(`${url}/ready`), 60_000);
  return { url, process };
}

function lokiConfig({ port, grpcPort, data }: { port: number; grpcPort: number; data: string }): string {
  return `auth_enabled: false
server:
  http_listen_address: 127.0.0.1
  http_listen_port: ${port}
  grpc_listen_address: 127.0.0.1
  grpc_listen_port: ${grpcPort}
  log_level: warn
common:
  # Else Loki looks up an interface address for its ring.
  instance_addr: 127.0.0.1
  path_prefix: ${data}
  replication_factor: 1
  ring:
    kvstore:
      store: inmemory
  storage:
    filesystem:
      chunks_directory: ${data}/chunks
      rules_directory: ${data}/rules
schema_config:
  configs:
    - from: 2024-01-01
      store: tsdb
      object_store: filesystem
      schema: v13
      index:
        prefix: index_
        period: 24h
# The defaults keep /ready false for 10-15 s after start and stall shutdown.
ingester:
  lifecycler:
    min_ready_duration: 0s
    final_sleep: 0s
frontend:
  scheduler_dns_lookup_period: 250ms
frontend_worker:
  dns_lookup_duration: 250ms
analytics:
  reporting_enabled: false
`;
}
