/**
 * `certificates.probe.allow`: the endpoints `/ops certs --probe` may connect to, as `host:port`
 * globs. A probe makes Lookout open a connection from inside the cluster network, so nothing
 * outside the list is ever dialled. `*` stands for any run of characters other than `:` (in the
 * host it may span dots: `*.shop.svc:443` allows `web.shop.svc:443` and `a.b.shop.svc:443`);
 * hosts compare case-insensitively; the port is a number or `*`.
 */
export const PROBE_GLOB = /^(\[[0-9a-fA-F:.*]+\]|[A-Za-z0-9*._-]+):(\d{1,5}|\*)$/;

/** Whether `host:port` (as the person typed it, already parsed) is on the allow-list. */
export function probeAllowed(allow: readonly string[], host: string, port: number): boolean {
  const target = `${host.includes(':') ? `[${host}]` : host}:${port}`.toLowerCase();
  return allow.some((glob) => globPattern(glob).test(target));
}

function globPattern(glob: string): RegExp {
  const source = glob
    .toLowerCase()
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^:]*');
  return new RegExp(`^${source}$`);
}
