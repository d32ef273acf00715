import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * The kubelet's volume statistics, as its /metrics endpoint exposes them, for the realism tier's
 * KubePersistentVolumeFillingUp. A real kubelet cannot run here (it needs a container runtime and
 * a node), so this serves the series the kubelet's volume stats collector writes — the same names,
 * HELP/TYPE lines and labels (`namespace`, `persistentvolumeclaim`) — and nothing else. Prometheus
 * scrapes it with the kubelet's target labels (node, service, endpoint, metrics_path), which is
 * what makes the alert's labels realistic. docs/testing.md lists this as a gap.
 */

export interface VolumeStats {
  namespace: string;
  claim: string;
  capacityBytes: number;
  availableBytes: number;
}

export interface KubeletVolumeMetrics {
  /** host:port to scrape. */
  address: string;
  close(): Promise<void>;
}

const SERIES = [
  ['kubelet_volume_stats_capacity_bytes', 'Capacity in bytes of the volume', (v: VolumeStats) => v.capacityBytes],
  ['kubelet_volume_stats_available_bytes', 'Number of available bytes in the volume', (v: VolumeStats) => v.availableBytes],
  ['kubelet_volume_stats_used_bytes', 'Number of used bytes in the volume', (v: VolumeStats) => v.capacityBytes - v.availableBytes],
] as const;

/** Prometheus text exposition of the volumes' statistics. */
export function volumeStatsText(volumes: readonly VolumeStats[]): string {
  return SERIES.map(([name, help, value]) =>
    [
      `# HELP ${name} [ALPHA] ${help}`,
      `# TYPE ${name} gauge`,
      ...volumes.map((volume) => `${name}{namespace=${JSON.stringify(volume.namespace)},persistentvolumeclaim=${JSON.stringify(volume.claim)}} ${value(volume)}`),
    ].join('\n'),
  ).join('\n') + '\n';
}

export async function startKubeletVolumeMetrics(volumes: readonly VolumeStats[]): Promise<KubeletVolumeMetrics> {
  const body = volumeStatsText(volumes);
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
