import { describe, expect, it } from 'vitest';
import { createOutboxHarness } from './outbox-harness.ts';

describe('Outbox and the store\'s health', () => {
  it('makes no Slack call while the store cannot record its result, and delivers once it can', async () => {
    const { store, slack, outbox, addGroup } = createOutboxHarness();
    addGroup('g', 'C1');
    let problem: string | undefined = 'state store cannot write (SQLITE_FULL (13): database or disk is full); retrying';
    store.ping = () => problem;

    expect(await outbox.deliverDue()).toBeNull();
    expect(slack.calls).toEqual([]);

    problem = undefined;
    await outbox.deliverDue();
    expect(slack.calls.map((call) => call.method)).toEqual(['chat.postMessage']);
  });
});
