import { randomUUID } from 'node:crypto';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics.ts';

/** The part of `process` these handlers use; tests pass an EventEmitter with an `exit` spy. */
export interface ProcessEvents {
  on(event: 'unhandledRejection', listener: (reason: unknown) => void): unknown;
  on(event: 'uncaughtException', listener: (error: Error) => void): unknown;
  exit(code: number): void;
}

export interface ProcessErrorOptions {
  log: Logger;
  metrics: Pick<Metrics, 'unhandledRejections'>;
  newRef?: () => string;
}

/**
 * Last-resort handlers for errors that escaped every other handler.
 *
 * - An unhandled promise rejection ends a Node process by default. Here it is logged with a ref
 *   id and counted (`lookout_unhandled_rejections_total`), and Lookout keeps running: the
 *   rejected promise belonged to one request or one background pass, and everything else
 *   (alerts in the store, the outbox, other requests) is unaffected. One library's bug in reading
 *   a request must not stop alerts for everyone.
 * - An uncaught exception stays fatal: it may have left a synchronous operation half done, so
 *   the state of the process is unknown. It is logged with a ref id, then the process exits 1
 *   and the orchestrator restarts it; the store makes the restart lose nothing.
 */
export function handleProcessErrors(target: ProcessEvents, { log, metrics, newRef = () => randomUUID().slice(0, 8) }: ProcessErrorOptions): void {
  target.on('unhandledRejection', (reason) => {
    const ref = newRef();
    metrics.unhandledRejections.inc();
    log.error({ err: reason, ref }, `unhandled rejection (ref ${ref}): a bug; Lookout keeps running`);
  });
  target.on('uncaughtException', (error) => {
    const ref = newRef();
    try {
      log.fatal({ err: error, ref }, `uncaught exception (ref ${ref}): exiting`);
    } finally {
      target.exit(1);
    }
  });
}
