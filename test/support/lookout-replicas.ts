import pg from 'pg';
import type { FakeSlack, FakeSlackCall } from './fake-slack.ts';
import { startLookout, type LookoutProcess, type StartLookoutOptions } from './lookout-process.ts';
import type { LookoutTestBed } from './lookout-test-bed.ts';

/*
 * Several Lookout processes on one shared database (issue 16), behind one fake Slack: what the
 * HA integration tests and the bench's storm-ha scenario start, and how they look inside.
 */

/** One Lookout process of a replica set, with the id it runs under (LOOKOUT_REPLICA_ID). */
export interface LookoutReplica extends LookoutProcess {
  readonly id: string;
}

/**
 * Starts one Lookout per id, all at once (as a Deployment's pods start, so schema migrations race
 * for real), on `databaseUrl` instead of the bed's state file, each on its own port.
 */
export async function startReplicas(
  bed: LookoutTestBed,
  databaseUrl: string,
  ids: readonly string[],
  extraEnv: Record<string, string> = {},
  options: StartLookoutOptions = {},
): Promise<LookoutReplica[]> {
  const { LOOKOUT_STATE: _stateFile, ...env } = bed.env;
  const started = await Promise.allSettled(
    ids.map(async (id) => Object.assign(await startLookout({ ...env, ...extraEnv, LOOKOUT_DATABASE_URL: databaseUrl, LOOKOUT_REPLICA_ID: id }, undefined, options), { id })),
  );
  const replicas = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failed = started.find((result) => result.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(replicas.map((replica) => replica.kill()));
    throw failed.reason;
  }
  return replicas;
}

/** Unexpired `channel:<id>` leases in the shared database right now: channel id → owner (replica id). */
export async function channelLeases(databaseUrl: string): Promise<Map<string, string>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string; owner: string }>("SELECT name, owner FROM leases WHERE name LIKE 'channel:%' AND expires_at > $1", [Date.now()]);
    return new Map(rows.map((row) => [row.name.slice('channel:'.length), row.owner]));
  } finally {
    await client.end();
  }
}

/** The sum of a metric's samples in a Lookout's /metrics whose labels include `labels` (every sample when empty). */
export async function metricSum(lookoutUrl: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${lookoutUrl}/metrics`)).text();
  const wanted = Object.entries(labels).map(([label, value]) => `${label}="${value}"`);
  let sum = 0;
  for (const match of text.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? ([0-9.eE+-]+)$`, 'gm'))) {
    const present = (match[1] ?? '').split(',');
    if (wanted.every((pair) => present.includes(pair))) sum += Number(match[2]);
  }
  return sum;
}

/** Whether the Lookout answers /readyz with 200 now (false while it says it is not ready, or is not listening). */
export async function isReady(lookoutUrl: string): Promise<boolean> {
  const res = await fetch(`${lookoutUrl}/readyz`).catch(() => undefined);
  await res?.arrayBuffer();
  return res?.status === 200;
}

/** The replica to SIGKILL for a failover: the one holding the most channel leases among `busy`, and those channels. */
export interface DeliveringReplica {
  replica: LookoutReplica;
  /** The channels of `busy` it holds a lease on: the survivors must take them over. */
  channels: string[];
}

/** Which replica delivers to most of the `busy` channels (those with posts still to make), by the leases in the database. */
export async function deliveringReplica(replicas: readonly LookoutReplica[], databaseUrl: string, busy: readonly string[]): Promise<DeliveringReplica> {
  const leases = await channelLeases(databaseUrl);
  const held = replicas.map((replica) => ({ replica, channels: busy.filter((channel) => leases.get(channel) === replica.id) }));
  const most = held.reduce((best, candidate) => (candidate.channels.length > best.channels.length ? candidate : best));
  if (most.channels.length === 0) throw new Error(`no replica holds a lease on a channel with posts to make (${busy.join(', ')}); leases: ${JSON.stringify([...leases])}`);
  return most;
}

/**
 * How long after `since` the slowest of `channels` got its first accepted Slack call naming it
 * (ms), as the fake Slack saw them: a post, an edit, or the history read that looks for a post the
 * dead replica left unanswered; only calls to `methods` when given. The takeover time after a
 * replica died. Undefined until each channel has one.
 */
export function slowestFirstCallAfter(slack: FakeSlack, channels: readonly string[], since: number, methods?: readonly string[]): number | undefined {
  const counts = (call: FakeSlackCall) => call.at > since && call.status === 200 && (methods === undefined || methods.includes(call.method));
  const firsts = channels.map((channel) => slack.calls.find((call) => counts(call) && call.params['channel'] === channel)?.at);
  return firsts.every((at) => at !== undefined) ? Math.max(...(firsts as number[])) - since : undefined;
}
