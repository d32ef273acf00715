import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { handleProcessErrors } from '../../src/handle-process-errors.ts';
import { freshMetrics, metricValue, recordingLogger } from '../helpers/fakes.ts';

function fakeProcess() {
  const emitter = new EventEmitter();
  const exits: number[] = [];
  return { emitter, exits, target: { on: emitter.on.bind(emitter), exit: (code: number) => void exits.push(code) } };
}

describe('handleProcessErrors', () => {
  it('logs an unhandled rejection with a ref and counts it, and does not exit', async () => {
    const { emitter, exits, target } = fakeProcess();
    const { log, lines } = recordingLogger();
    const metrics = freshMetrics();
    handleProcessErrors(target, { log, metrics, newRef: () => 'ref12345' });

    emitter.emit('unhandledRejection', new TypeError("Cannot read properties of null (reading 'ssl_check')"));

    expect(exits).toEqual([]);
    expect(await metricValue(metrics, 'lookout_unhandled_rejections_total')).toBe(1);
    expect(lines()).toEqual([
      expect.objectContaining({
        level: 'error',
        ref: 'ref12345',
        err: expect.objectContaining({ type: 'TypeError', message: "Cannot read properties of null (reading 'ssl_check')", stack: expect.any(String) }),
        msg: 'unhandled rejection (ref ref12345): a bug; Lookout keeps running',
      }),
    ]);
  });

  it('logs a rejection with a non-Error reason too', async () => {
    const { emitter, target } = fakeProcess();
    const { log, lines } = recordingLogger();
    const metrics = freshMetrics();
    handleProcessErrors(target, { log, metrics, newRef: () => 'r' });
    emitter.emit('unhandledRejection', undefined);
    emitter.emit('unhandledRejection', 'a string');
    expect(await metricValue(metrics, 'lookout_unhandled_rejections_total')).toBe(2);
    expect(lines().map((line) => line['msg'])).toEqual(['unhandled rejection (ref r): a bug; Lookout keeps running', 'unhandled rejection (ref r): a bug; Lookout keeps running']);
  });

  it('keeps an uncaught exception fatal: logged with a ref, then exit 1', () => {
    const { emitter, exits, target } = fakeProcess();
    const { log, lines } = recordingLogger();
    handleProcessErrors(target, { log, metrics: freshMetrics(), newRef: () => 'deadbeef' });

    emitter.emit('uncaughtException', new RangeError('boom'));

    expect(exits).toEqual([1]);
    expect(lines()).toEqual([
      expect.objectContaining({ level: 'fatal', ref: 'deadbeef', err: expect.objectContaining({ message: 'boom' }), msg: 'uncaught exception (ref deadbeef): exiting' }),
    ]);
  });
});
