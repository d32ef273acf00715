import { afterEach, describe, expect, it } from 'vitest';
import { inProcessStore } from '../../../src/state/in-process-store.ts';
import { SqliteStore } from '../../../src/state/sqlite-store.ts';
import type { Store } from '../../../src/state/store.ts';
import { createDeliveryFilter, deliveryKeys, DELIVERY_MEMORY_MS, ENVELOPE_ID_CONTEXT_KEY, UNRECORDED_REPLY } from '../../../src/slack/socket-deliveries.ts';
import { freshMetrics, metricValue, recordingLogger } from '../../helpers/fakes.ts';

const slashCommand = { command: '/ops', text: 'scale shop/web 3', user_id: 'U1', trigger_id: '1234.5678.abc' };
const click = { type: 'block_actions', user: { id: 'U1' }, trigger_id: 't-1', actions: [{ action_id: 'scale', action_ts: '1700000000.000100' }] };

describe('deliveryKeys', () => {
  it('names a request by its envelope and by what it carries', () => {
    expect(deliveryKeys({ envelopeId: 'e-1', body: slashCommand })).toEqual(['envelope:e-1', 'trigger:1234.5678.abc']);
    expect(deliveryKeys({ envelopeId: 'e-2', body: click })).toEqual(['envelope:e-2', 'action:U1:1700000000.000100']);
    expect(deliveryKeys({ envelopeId: 'e-3', body: { type: 'event_callback', event_id: 'Ev1', event: { type: 'app_mention' } } })).toEqual(['envelope:e-3', 'event:Ev1']);
  });

  it('skips what is missing or not a string, and cuts long values', () => {
    expect(deliveryKeys({ envelopeId: undefined, body: null })).toEqual([]);
    expect(deliveryKeys({ envelopeId: '', body: { type: 'block_actions', user: 'U1', actions: 'x' } })).toEqual([]);
    expect(deliveryKeys({ envelopeId: 'e', body: { trigger_id: 42 } })).toEqual(['envelope:e']);
    expect(deliveryKeys({ envelopeId: 'x'.repeat(10_000), body: {} })[0]).toHaveLength(200);
  });
});

describe('claimSlackDelivery and the delivery filter', () => {
  const engines: SqliteStore[] = [];
  afterEach(() => {
    for (const engine of engines.splice(0)) engine.close();
  });
  const openStore = (): Store => {
    const engine = new SqliteStore(':memory:');
    engines.push(engine);
    return inProcessStore(engine);
  };

  it('claims a delivery once; any shared key makes a later one a duplicate', async () => {
    const store = openStore();
    const claim = (keys: string[], at = 1000) => store.claimSlackDelivery({ keys, at, forgetBefore: at - DELIVERY_MEMORY_MS });
    expect(await claim(['envelope:e-1', 'trigger:t-1'])).toBe(true);
    expect(await claim(['envelope:e-1', 'trigger:t-1'])).toBe(false);
    // A redelivery under a new envelope id is still the same command.
    expect(await claim(['envelope:e-2', 'trigger:t-1'])).toBe(false);
    // …and the failed claim recorded nothing: e-2 alone is new.
    expect(await claim(['envelope:e-2'])).toBe(true);
    expect(await claim(['envelope:e-3', 'envelope:e-3'])).toBe(true);
  });

  it('forgets deliveries older than the memory', async () => {
    const store = openStore();
    const claim = (at: number) => store.claimSlackDelivery({ keys: ['envelope:e-1'], at, forgetBefore: at - DELIVERY_MEMORY_MS });
    expect(await claim(0)).toBe(true);
    expect(await claim(DELIVERY_MEMORY_MS)).toBe(false);
    expect(await claim(DELIVERY_MEMORY_MS + 1)).toBe(true);
  });

  it('runs the first delivery, acks and drops a duplicate, and runs nothing the store cannot record', async () => {
    const metrics = freshMetrics();
    const { log, lines } = recordingLogger();
    let failing = false;
    const engineStore = openStore();
    const store = { claimSlackDelivery: (claim: Parameters<Store['claimSlackDelivery']>[0]) => (failing ? Promise.reject(new Error('SQLITE_FULL')) : engineStore.claimSlackDelivery(claim)) };
    const filter = createDeliveryFilter({ store, metrics, log, now: () => 5000 });
    const deliver = async (envelopeId: string) => {
      const acks: unknown[] = [];
      let ran = false;
      const args = {
        body: slashCommand,
        context: { [ENVELOPE_ID_CONTEXT_KEY]: envelopeId, retryNum: 1 },
        ack: async (response?: unknown) => void acks.push(response ?? 'empty'),
        next: async () => void (ran = true),
      };
      await filter(args as unknown as Parameters<typeof filter>[0]);
      return { ran, acks };
    };
    expect(await deliver('e-1')).toEqual({ ran: true, acks: [] });
    expect(await deliver('e-1')).toEqual({ ran: false, acks: ['empty'] });
    failing = true;
    expect(await deliver('e-9')).toEqual({ ran: false, acks: [{ response_type: 'ephemeral', text: UNRECORDED_REPLY }] });
    expect(await metricValue(metrics, 'lookout_slack_socket_deliveries_total', { outcome: 'first' })).toBe(1);
    expect(await metricValue(metrics, 'lookout_slack_socket_deliveries_total', { outcome: 'duplicate' })).toBe(1);
    expect(await metricValue(metrics, 'lookout_slack_socket_deliveries_total', { outcome: 'unrecorded' })).toBe(1);
    // The trigger_id (it opens modals) is never logged.
    expect(JSON.stringify(lines())).not.toContain(slashCommand.trigger_id);
  });
});
