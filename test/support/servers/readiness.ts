import type { ManagedProcess } from './processes.ts';

/**
 * Polls `check` every 100 ms until it returns true. Fails at once (with the log's tail) if the
 * server exits, and with the log's tail if it is not ready within `timeoutMs`.
 */
export async function waitUntilReady(server: ManagedProcess, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    if (!server.running()) {
      throw new Error(`${server.name} exited (${await server.exited}) before it was ready; ${server.logFile}:\n${server.logTail()}`);
    }
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`${server.name} was not ready after ${timeoutMs / 1000} s; ${server.logFile}:\n${server.logTail()}`, { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** True if a plain-HTTP GET answers 2xx (the body is drained so the connection is freed). */
export async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  await res.arrayBuffer();
  return res.ok;
}
