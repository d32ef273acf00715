import { createServer } from 'node:net';
import { freePort } from '../free-port.ts';

export { freePort };

/**
 * A port P such that P and P + 1 are both free on 127.0.0.1 right now (the OpenBao dev server
 * also listens on P + 1 for its cluster address).
 */
export async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freePort();
    if (port < 65535 && (await isFree(port + 1))) return port;
  }
  throw new Error('found no two adjacent free ports on 127.0.0.1');
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
