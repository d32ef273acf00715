import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { SqliteStore } from './sqlite-store.ts';
import { storeBatches } from './store-batches.ts';
import { errorFields, type FromWorker, type StoreWorkerData, type ToWorker } from './store-worker-protocol.ts';

/*
 * The store worker: the one thread that owns the SQLite connection (see worker-store.ts). It
 * runs the calls it is sent in batches, each committed once (store-batches.ts).
 */

const port = parentPort;
if (port === null) throw new Error('store-worker.ts runs as a worker thread (worker-store.ts starts it)');
const data = workerData as StoreWorkerData;
const send = (message: FromWorker): void => port.postMessage(message);

// Lines go to the main thread, which writes them through Lookout's logger (redaction included).
const log = pino(
  { level: data.logLevel, base: null, timestamp: false, formatters: { level: (label) => ({ level: label }) } },
  { write: (line: string) => send({ type: 'log', line }) },
);

let engine: SqliteStore | undefined;
try {
  engine = new SqliteStore(data.path, {
    log,
    checkIntervalMs: data.checkIntervalMs,
    onHealthChange: (problem) => send({ type: 'health', problem, ping: engine?.ping() }),
  });
} catch (error) {
  send({ type: 'failed', error: errorFields(error) });
}

if (engine !== undefined) serve(engine);

function serve(store: SqliteStore): void {
  store.onRecovered(() => send({ type: 'recovered', ping: store.ping() }));
  const batches = storeBatches({ store, fold: data.fold, log, send });
  port!.on('message', (message: ToWorker) => {
    if (message.type === 'close') {
      void batches.settled().then(() => {
        store.close();
        send({ type: 'closed' });
        port!.close();
      });
      return;
    }
    for (const request of message.requests) batches.add(request);
  });
  send({ type: 'ready', ping: store.ping(), commits: store.commitCount() });
}
