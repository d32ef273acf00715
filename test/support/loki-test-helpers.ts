import { waitFor } from './free-port.ts';

/** One Loki stream to push: its labels and its lines. */
export interface LokiTestStream {
  stream: Record<string, string | undefined>;
  /** `[nanosecond timestamp, line]` each. */
  values: ReadonlyArray<readonly string[]>;
}

/**
 * Pushes the streams to a real Loki and waits until `query_range` with `selector` returns every
 * pushed line that matches it (Loki serves them from the ingester at once; the wait is only in
 * case it is still settling), so a test reads what it wrote.
 */
export async function pushToLoki(url: string, streams: LokiTestStream[], selector: string, expectedLines: number): Promise<void> {
  const response = await fetch(`${url}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ streams }) });
  if (response.status !== 204) throw new Error(`Loki refused the push: HTTP ${response.status} ${await response.text()}`);
  const stamps = streams.flatMap((s) => s.values.map(([ns]) => BigInt(ns ?? '0')));
  const start = stamps.reduce((a, b) => (b < a ? b : a)) - 1_000_000_000n;
  const end = stamps.reduce((a, b) => (b > a ? b : a)) + 1_000_000_000n;
  await waitFor('Loki to return the pushed lines', async () => {
    const query = new URLSearchParams({ query: selector, start: String(start), end: String(end), limit: '1000' });
    const answer = (await (await fetch(`${url}/loki/api/v1/query_range?${query.toString()}`)).json()) as { data: { result: Array<{ values: unknown[] }> } };
    return answer.data.result.reduce((total, stream) => total + stream.values.length, 0) >= expectedLines ? true : undefined;
  });
}
