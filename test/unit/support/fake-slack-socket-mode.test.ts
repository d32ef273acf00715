import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startFakeSlack, type FakeSlack } from '../../support/fake-slack.ts';

/** The fake Slack's Socket Mode, driven by a plain WebSocket client as an app would. */
describe('fake Slack: Socket Mode', () => {
  let fake: FakeSlack | undefined;
  const sockets: WebSocket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.terminate();
    await fake?.close();
    fake = undefined;
  });

  const call = async (method: string, token?: string): Promise<Record<string, unknown>> => {
    const res = await fetch(`${fake!.url}${method}`, { method: 'POST', headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
    return (await res.json()) as Record<string, unknown>;
  };

  /** Opens a connection; resolves with it and the messages it receives, once `hello` arrived. */
  const connect = async (url: string) => {
    const socket = new WebSocket(url);
    sockets.push(socket);
    const messages: Array<Record<string, unknown>> = [];
    socket.on('message', (data) => messages.push(JSON.parse(data.toString()) as Record<string, unknown>));
    await new Promise<void>((resolve, reject) => {
      socket.once('message', () => resolve());
      socket.once('error', reject);
    });
    return { socket, messages };
  };
  const until = async (check: () => boolean, ms = 5000): Promise<void> => {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  it('apps.connections.open takes only the app-level token, with Slack\'s error names', async () => {
    fake = await startFakeSlack();
    expect(await call('apps.connections.open')).toEqual({ ok: false, error: 'not_authed' });
    expect(await call('apps.connections.open', fake.token)).toEqual({ ok: false, error: 'not_allowed_token_type' });
    expect(await call('apps.connections.open', 'xapp-1-A0OTHER-1-nope')).toEqual({ ok: false, error: 'invalid_auth' });
    expect(await call('auth.test', fake.appToken)).toEqual({ ok: false, error: 'not_allowed_token_type' });
    const opened = await call('apps.connections.open', fake.appToken);
    expect(opened).toMatchObject({ ok: true, url: expect.stringMatching(/^ws:\/\/127\.0\.0\.1:\d+\/link\/\?ticket=[0-9a-f]{32}&app_id=A0LOOKOUT$/) });
  });

  it('greets with hello, and a URL opens one connection only', async () => {
    fake = await startFakeSlack();
    const { url } = (await call('apps.connections.open', fake.appToken)) as { url: string };
    const first = await connect(url);
    expect(first.messages[0]).toEqual({
      type: 'hello',
      num_connections: 1,
      connection_info: { app_id: 'A0LOOKOUT' },
      debug_info: { host: 'applink-fake-1', build_number: 1, approximate_connection_time: 18_060 },
    });
    await expect(connect(url)).rejects.toThrow(/401/);
    const second = await connect(((await call('apps.connections.open', fake.appToken)) as { url: string }).url);
    expect(second.messages[0]).toMatchObject({ type: 'hello', num_connections: 2 });
  });

  it('retries an envelope nobody acknowledged after 3 s, on another connection, until acknowledged', async () => {
    fake = await startFakeSlack();
    const a = await connect(((await call('apps.connections.open', fake.appToken)) as { url: string }).url);
    const b = await connect(((await call('apps.connections.open', fake.appToken)) as { url: string }).url);
    const [first, second] = fake.socketMode.connections();
    const id = fake.socketMode.send('events_api', { type: 'event_callback', event_id: 'Ev1', event: { type: 'app_mention' } }, { connectionId: first!.id });
    await until(() => a.messages.length === 2);
    expect(a.messages[1]).toEqual({ envelope_id: id, type: 'events_api', payload: { type: 'event_callback', event_id: 'Ev1', event: { type: 'app_mention' } }, accepts_response_payload: false, retry_attempt: 0, retry_reason: '' });
    const sentAt = Date.now();
    await until(() => b.messages.length === 2, 5000);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(2900);
    expect(b.messages[1]).toMatchObject({ envelope_id: id, retry_attempt: 1, retry_reason: 'timeout' });
    b.socket.send(JSON.stringify({ envelope_id: id, payload: { text: 'ok' } }));
    const ack = await fake.socketMode.ackOf(id);
    expect(ack).toMatchObject({ envelopeId: id, payload: { text: 'ok' }, connectionId: second!.id });
    expect(fake.socketMode.deliveries.map((delivery) => delivery.retryAttempt)).toEqual([0, 1]);
  }, 10_000);

  it('sends disconnect with its reason and closes the socket if the app does not; anything but an ack is kept as unexpected', async () => {
    fake = await startFakeSlack();
    const app = await connect(((await call('apps.connections.open', fake.appToken)) as { url: string }).url);
    const [connection] = fake.socketMode.connections();
    app.socket.send('{"not":"an ack"}');
    await until(() => (fake!.socketMode.connections()[0]?.unexpected.length ?? 0) === 1);
    const closed = new Promise<number>((resolve) => app.socket.once('close', (code) => resolve(code)));
    fake.socketMode.disconnect(connection!.id, 'refresh_requested', { closeAfterMs: 100 });
    expect(await closed).toBe(1000);
    expect(app.messages.at(-1)).toEqual({ type: 'disconnect', reason: 'refresh_requested', debug_info: { host: 'applink-fake-1' } });
    await until(() => fake!.socketMode.connections().length === 0);
  });
});
