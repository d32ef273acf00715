import { describe, expect, it } from 'vitest';
import { InteractionRegistry } from '../../../src/slack/interaction-registry.ts';
import { recordingLogger } from '../../helpers/fakes.ts';

type Listener = (args: { ack: (answer?: unknown) => Promise<void>; body: unknown }) => Promise<void>;

/** Stands in for Bolt's App: keeps the listeners so a test can call them as Bolt would. */
function fakeApp() {
  const actions = new Map<string, Listener>();
  const views = new Map<string, Listener>();
  return {
    actions,
    views,
    app: {
      action: (id: string, listener: Listener) => void actions.set(id, listener),
      view: (id: string, listener: Listener) => void views.set(id, listener),
    } as never,
  };
}

const click = {
  type: 'block_actions',
  user: { id: 'U024BE7LH', username: 'alice' },
  container: { type: 'message', message_ts: '1700000000.000100', channel_id: 'C0ALERTS' },
  actions: [{ action_id: 'scale', value: 'g1:abc' }],
};

describe('InteractionRegistry', () => {
  it('acknowledges a click before its handler starts', async () => {
    const order: string[] = [];
    const registry = new InteractionRegistry().button({ actionId: 'scale', handle: async (parsed) => void order.push(`handled ${parsed.value}`) });
    const { app, actions } = fakeApp();
    registry.register(app, recordingLogger().log);
    await actions.get('scale')!({ ack: async () => void order.push('ack'), body: click });
    expect(order).toEqual(['ack', 'handled g1:abc']);
  });

  it('acknowledges and ignores a payload it cannot read', async () => {
    let handled = false;
    const registry = new InteractionRegistry().button({ actionId: 'scale', handle: async () => void (handled = true) });
    const { app, actions } = fakeApp();
    registry.register(app, recordingLogger().log);
    let acked = false;
    await actions.get('scale')!({ ack: async () => void (acked = true), body: { ...click, user: { id: 'nope' } } });
    expect([acked, handled]).toEqual([true, false]);
  });

  it('answers a modal with its errors, or closes it and then runs the rest of the work', async () => {
    const order: string[] = [];
    const registry = new InteractionRegistry().view({
      callbackId: 'alert-action:scale',
      submit: async (submission) =>
        submission.values.replicas?.value?.value === 'x'
          ? { answer: { errors: { replicas: 'a number' } } }
          : { answer: undefined, after: async () => void order.push('work') },
    });
    const { app, views } = fakeApp();
    registry.register(app, recordingLogger().log);
    const body = (value: string) => ({
      type: 'view_submission',
      user: { id: 'U024BE7LH' },
      view: { callback_id: 'alert-action:scale', private_metadata: 'id', state: { values: { replicas: { value: { type: 'plain_text_input', value } } } } },
    });
    await views.get('alert-action:scale')!({ ack: async (answer) => void order.push(JSON.stringify(answer ?? null)), body: body('x') });
    await views.get('alert-action:scale')!({ ack: async (answer) => void order.push(JSON.stringify(answer ?? null)), body: body('5') });
    expect(order).toEqual(['{"response_action":"errors","errors":{"replicas":"a number"}}', 'null', 'work']);
  });

  it('refuses two handlers for one action_id', () => {
    const registry = new InteractionRegistry().button({ actionId: 'ack', handle: async () => undefined });
    expect(() => registry.button({ actionId: 'ack', handle: async () => undefined })).toThrow(/two handlers/);
  });
});
