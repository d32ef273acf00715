import { describe, expect, it } from 'vitest';
import { parseQueuedWork, queuedWorkPayload } from '../../../src/state/postgres-change-listener.ts';

describe('cross-replica wake-up payloads', () => {
  it('carry what was queued to every other store', () => {
    expect(parseQueuedWork(queuedWorkPayload('b1', ['slack', 'enrichment']), 'a1')).toEqual(['slack', 'enrichment']);
    expect(parseQueuedWork(queuedWorkPayload('b1', ['enrichment']), 'a1')).toEqual(['enrichment']);
  });

  it('are ignored by the store that sent them (it woke its own outbox already)', () => {
    expect(parseQueuedWork(queuedWorkPayload('a1', ['slack']), 'a1')).toEqual([]);
  });

  it('name only the kinds this Lookout knows: a newer replica may send more, a stranger anything', () => {
    expect(parseQueuedWork('b1:slack,reports', 'a1')).toEqual(['slack']);
    expect(parseQueuedWork('slack', 'a1')).toEqual([]);
    expect(parseQueuedWork('', 'a1')).toEqual([]);
    expect(parseQueuedWork('b1:', 'a1')).toEqual([]);
  });
});
