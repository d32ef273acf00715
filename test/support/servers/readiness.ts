import { waitFor } from '../free-port.ts';
import type { ManagedProcess } from './processes.ts';

/**
 * Polls `check` until it returns true, failing early (with the log's tail) if the server
 * exits, and with the log's tail if it is not ready in time.
 */
export async function waitUntilReady(server: ManagedProcess, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  try {
    await waitFor(
      `${server.name} to become ready`,
      async () => {
        if (!server.running()) throw new ServerExited(server);
        return (await check().catch(() => false)) ? true : undefined;
      },
      timeoutMs,
      100,
    );
  } catch (error) {
    if (error instanceof ServerExited || (error instanceof Error && error.cause instanceof ServerExited)) {
      throw new Error(`${server.name} exited before it was ready; ${server.logFile}:\n${server.logTail()}`);
    }
    throw new Error(`${server.name} was not ready after ${timeoutMs / 1000} s; ${server.logFile}:\n${server.logTail()}`, { cause: error });
  }
}

class ServerExited extends Error {
  constructor(server: ManagedProcess) {
    super(`${server.name} exited`);
  }
}

/** True if a plain-HTTP GET answers 2xx (the body is drained so the connection is freed). */
export async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  await res.arrayBuffer();
  return res.ok;
}
