import { describe, expect, it } from 'vitest';
import { alertSilenceButton } from '../../../alerts/silence-control.ts';
import { createCommands } from '../../../commands/index.ts';
import { parseSilenceArgs } from '../../../commands/silence.ts';
import { checkDuration, formatDuration, parseDuration } from '../../../commands/silence-support.ts';
import type { KubeIdentity } from '../../../src/identity/resolve-identity.ts';
import { createSecretRedactor } from '../../../src/redact-secrets.ts';
import { AlertmanagerError, type AlertmanagerPort, type NewSilence, type Silence } from '../../../src/integrations/alertmanager.ts';
import { commandButtonActionId } from '../../../commands/command.ts';
import { createCommandButtons, createSlashCommandHandler } from '../../../src/slack/dispatcher.ts';
import { pendingConfirmationSchema } from '../../../src/slack/pending-confirmation.ts';
import { RecordingInteractionSlack, storedInteractions } from '../../helpers/interaction-fakes.ts';
import { FakeGate, RecordingAuditTrail } from '../../helpers/access-fakes.ts';
import { freshMetrics, recordingLogger } from '../../helpers/fakes.ts';

const DAY = 86_400_000;
const words = (text: string) => text.split(' ').filter(Boolean);

describe('durations', () => {
  it('reads amtool-style durations', () => {
    expect(parseDuration('2h')).toBe(2 * 3_600_000);
    expect(parseDuration('1h30m')).toBe(90 * 60_000);
    expect(parseDuration('1w')).toBe(7 * DAY);
    expect(parseDuration('2')).toBeUndefined();
    expect(parseDuration('h')).toBeUndefined();
    expect(parseDuration('-1h')).toBeUndefined();
    expect(formatDuration(90 * 60_000)).toBe('1h30m');
    expect(formatDuration(7 * DAY)).toBe('7d');
  });

  it('bounds a silence between 1m and the configured maximum', () => {
    expect(checkDuration('7d', 7 * DAY)).toBe(7 * DAY);
    expect(checkDuration('1m', 7 * DAY)).toBe(60_000);
    expect(checkDuration('30s', 7 * DAY)).toEqual({ error: 'a silence lasts at least 1m' });
    expect(checkDuration('7d1s', 7 * DAY)).toEqual({ error: expect.stringMatching(/at most 7d \(the `silences.maxDuration` setting\); 7d1s is longer/) });
    expect(checkDuration('5h', 4 * 3_600_000)).toEqual({ error: expect.stringContaining('at most 4h') });
  });
});

describe('parseSilenceArgs', () => {
  it('reads matchers, the duration and the comment after --', () => {
    expect(parseSilenceArgs(words('alertname=KubePodCrashLooping namespace=shop 2h -- fixing the config'), 7 * DAY)).toEqual({
      matchers: [
        { name: 'alertname', value: 'KubePodCrashLooping', isRegex: false, isEqual: true },
        { name: 'namespace', value: 'shop', isRegex: false, isEqual: true },
      ],
      durationMs: 2 * 3_600_000,
      comment: 'fixing the config',
    });
    expect(parseSilenceArgs(words('alertname=X 30m'), 7 * DAY)).not.toHaveProperty('comment');
  });

  const refused: Array<[string, RegExp]> = [
    ['', /needs matchers and a duration/],
    ['alertname=X', /needs a duration after the matchers/],
    ['alertname=X forever', /`forever` is not a duration/],
    ['alertname=X 8d', /at most 7d/],
    ['2h', /needs at least one matcher/],
    ['alertname=~".*" 2h', /would silence nearly every alert/],
    ['alertname!=Watchdog 2h', /would silence nearly every alert/],
    ['alertname 2h', /`alertname` is not a matcher/],
  ];
  it.each(refused)('refuses %j', (text, message) => {
    expect(parseSilenceArgs(words(text), 7 * DAY)).toEqual({ error: expect.stringMatching(message) });
  });
});

/** Alertmanager's silences in memory, recording what Lookout asked. */
class FakeAlertmanager implements AlertmanagerPort {
  readonly created: NewSilence[] = [];
  readonly expired: string[] = [];
  silences: Silence[] = [];
  failWith: Error | undefined;

  async createSilence(silence: NewSilence): Promise<string> {
    if (this.failWith) throw this.failWith;
    this.created.push(silence);
    const id = `00000000-0000-4000-8000-${String(this.created.length).padStart(12, '0')}`;
    this.silences.push({ id, matchers: [...silence.matchers], startsAt: silence.startsAt.toISOString(), endsAt: silence.endsAt.toISOString(), createdBy: silence.createdBy, comment: silence.comment, state: 'active' });
    return id;
  }

  async listSilences(): Promise<Silence[]> {
    if (this.failWith) throw this.failWith;
    return this.silences;
  }

  async getSilence(id: string): Promise<Silence | undefined> {
    if (this.failWith) throw this.failWith;
    return this.silences.find((silence) => silence.id === id);
  }

  async expireSilence(id: string): Promise<void> {
    this.expired.push(id);
    const silence = this.silences.find((candidate) => candidate.id === id);
    if (silence) silence.state = 'expired';
  }
}

describe('the silence commands through the dispatcher', () => {
  const alice: KubeIdentity = { username: 'slack:alice', groups: ['slack:sre'], derivation: [] };
  const NOW = Date.parse('2026-03-01T12:00:00Z');

  async function ops(text: string, { alertmanager = new FakeAlertmanager() as FakeAlertmanager | null, allow = (_attributes: { namespace?: string }): boolean => true } = {}) {
    const gate = new FakeGate({ identities: { UALICE: alice }, allow: (_identity, attributes) => allow(attributes) });
    const audit = new RecordingAuditTrail();
    const commands = createCommands({ silences: { alertmanager: alertmanager ?? undefined, maxDurationMs: 7 * DAY, now: () => NOW }, logs: { redactor: createSecretRedactor(), now: () => NOW } });
    let reply = '';
    await createSlashCommandHandler({ commands, slashCommand: '/ops', log: recordingLogger().log, metrics: freshMetrics(), gate, audit, kube: undefined })({
      command: { command: '/ops', text, user_id: 'UALICE', user_name: 'alice', channel_id: 'C1' },
      ack: async () => {},
      respond: async (body) => void (reply = body.text),
    });
    return { reply, gate, audit, alertmanager };
  }

  it('is listed by /ops help with its usage', async () => {
    const { reply } = await ops('help');
    expect(reply).toContain('`/ops silence <matcher>… <duration> [-- comment]`');
    expect(reply).toContain('`/ops silences [matcher…]`');
    expect(reply).toContain('`/ops unsilence <silence id>`');
  });

  it('creates the silence as the person: createdBy, default comment, end time; reviewed in the namespace', async () => {
    const alertmanager = new FakeAlertmanager();
    const { reply, gate, audit } = await ops('silence alertname=KubePodCrashLooping namespace=shop 2h', { alertmanager });
    expect(gate.reviews.map((review) => review.attributes)).toEqual([{ verb: 'create', group: 'lookout.dev', resource: 'silences', namespace: 'shop' }]);
    expect(alertmanager.created).toEqual([
      expect.objectContaining({ createdBy: 'slack:alice (Slack UALICE)', comment: 'silenced from Slack by alice', startsAt: new Date(NOW), endsAt: new Date(NOW + 2 * 3_600_000) }),
    ]);
    expect(reply).toMatch(/^🔕 Silenced `alertname="KubePodCrashLooping"` `namespace="shop"` for 2h, until <!date\^\d+\^/);
    expect(reply).toContain('`/ops unsilence 00000000-0000-4000-8000-000000000001`');
    expect(audit.entries).toEqual([expect.objectContaining({ action: 'silence', outcome: 'allowed', reason: 'AlertsSilencedBySlackUser', detail: expect.stringContaining('silence 00000000-0000-4000-8000-000000000001 until 2026-03-01T14:00:00.000Z') })]);
  });

  it('reviews a silence without an equality namespace matcher cluster-wide, and says why when refused', async () => {
    const alertmanager = new FakeAlertmanager();
    const { reply, gate, audit } = await ops('silence alertname=KubePodCrashLooping namespace=~"shop|cart" 1h', { alertmanager, allow: (attributes) => attributes.namespace !== undefined });
    expect(gate.reviews.map((review) => review.attributes)).toEqual([{ verb: 'create', group: 'lookout.dev', resource: 'silences' }]);
    expect(reply).toBe(
      "Not allowed: this needs `create` on `silences.lookout.dev` cluster-wide. A silence without an equality `namespace=` matcher can hide every team's alerts, so it needs this permission cluster-wide. To silence one namespace's alerts, add e.g. `namespace=shop`.",
    );
    expect(alertmanager.created).toEqual([]);
    expect(audit.entries).toEqual([expect.objectContaining({ action: 'silence', outcome: 'denied' })]);
  });

  it('refuses an over-broad silence before any review', async () => {
    const { reply, gate, alertmanager } = await ops('silence alertname=~".+" 1h');
    expect(reply).toContain('would silence nearly every alert');
    expect(gate.reviews).toEqual([]);
    expect(alertmanager?.created).toEqual([]);
  });

  it('says so when Alertmanager is down or not configured, and that nothing was silenced', async () => {
    const alertmanager = new FakeAlertmanager();
    alertmanager.failWith = new AlertmanagerError('timeout');
    expect((await ops('silence alertname=X namespace=shop 1h', { alertmanager })).reply).toBe('Alertmanager could not be reached (timeout). Nothing was silenced. Try again in a moment.');
    expect((await ops('silence alertname=X namespace=shop 1h', { alertmanager: null })).reply).toMatch(/not connected to Alertmanager \(ALERTMANAGER_URL is not set\)/);
  });

  it('lists active silences; reviewed in one namespace, it shows only silences confined to it', async () => {
    const alertmanager = new FakeAlertmanager();
    const silence = (id: string, matchers: string, state: Silence['state'] = 'active'): Silence => ({
      id,
      matchers: matchers.split(' ').map((text) => {
        const [name = '', value = ''] = text.split('=');
        return { name, value, isRegex: false, isEqual: true };
      }),
      startsAt: '2026-03-01T11:00:00Z',
      endsAt: '2026-03-01T13:00:00Z',
      createdBy: 'slack:bob (Slack UBOB)',
      comment: 'deploying',
      state,
    });
    alertmanager.silences = [silence('a', 'alertname=X namespace=shop'), silence('b', 'alertname=X'), silence('c', 'alertname=Y namespace=shop', 'expired')];
    const all = await ops('silences', { alertmanager });
    expect(all.gate.reviews.map((review) => review.attributes)).toEqual([{ verb: 'list', group: 'lookout.dev', resource: 'silences' }]);
    expect(all.reply).toMatch(/^\*2 active silences\*/);
    const shop = await ops('silences namespace=shop', { alertmanager });
    expect(shop.gate.reviews.map((review) => review.attributes)).toEqual([{ verb: 'list', group: 'lookout.dev', resource: 'silences', namespace: 'shop' }]);
    expect(shop.reply).toMatch(/^\*1 active silence matching `namespace="shop"`\*/);
    expect(shop.reply).toContain('`a` `alertname="X"` `namespace="shop"` until <!date^');
    expect(shop.reply).toContain('by slack:bob (Slack UBOB) — deploying');
    expect(shop.reply).not.toContain('`b`');
  });

  it('unsilence reads the silence first and reviews delete in its namespace', async () => {
    const alertmanager = new FakeAlertmanager();
    const { reply: created } = await ops('silence alertname=X namespace=shop 1h', { alertmanager });
    const id = /unsilence ([0-9a-f-]+)/.exec(created)?.[1] ?? '';
    const denied = await ops(`unsilence ${id}`, { alertmanager, allow: (attributes) => attributes.namespace !== 'shop' });
    expect(denied.gate.reviews.map((review) => review.attributes)).toEqual([{ verb: 'delete', group: 'lookout.dev', resource: 'silences', namespace: 'shop' }]);
    expect(denied.reply).toBe('Not allowed: this needs `delete` on `silences.lookout.dev` in namespace shop.');
    expect(alertmanager.expired).toEqual([]);

    const allowed = await ops(`unsilence ${id.toUpperCase()}`, { alertmanager });
    expect(allowed.reply).toBe(`🔔 Silence \`${id}\` (\`alertname="X"\` \`namespace="shop"\`) has ended: the alerts it hid notify again.`);
    expect(alertmanager.expired).toEqual([id]);
    expect(allowed.audit.entries).toEqual([expect.objectContaining({ action: 'unsilence', outcome: 'allowed', detail: `expired silence ${id} in shop` })]);

    expect((await ops(`unsilence ${id}`, { alertmanager })).reply).toBe(`Silence \`${id}\` has already ended.`);
    const unknown = await ops('unsilence 8f0c1f9e-3b7a-4c1e-9a56-0f7c2d3e4b5a', { alertmanager });
    expect(unknown.reply).toBe('Alertmanager has no silence `8f0c1f9e-3b7a-4c1e-9a56-0f7c2d3e4b5a`.');
    expect(unknown.gate.reviews).toEqual([]);
    expect((await ops('unsilence nope', { alertmanager })).reply).toMatch(/a silence id looks like/);
  });
});

describe('the Expire buttons of /ops silences', () => {
  const alice: KubeIdentity = { username: 'slack:alice', groups: [], derivation: [] };
  const bob: KubeIdentity = { username: 'slack:bob', groups: [], derivation: [] };
  const ID = '00000000-0000-4000-8000-000000000001';

  function setUp() {
    const alertmanager = new FakeAlertmanager();
    alertmanager.silences = [{ id: ID, matchers: [{ name: 'namespace', value: 'shop', isRegex: false, isEqual: true }, { name: 'alertname', value: 'X', isRegex: false, isEqual: true }], startsAt: '2026-03-01T11:00:00Z', endsAt: '2026-03-01T13:00:00Z', createdBy: 'slack:alice (Slack UALICE)', comment: '', state: 'active' }];
    const expired: string[] = [];
    const gate = new FakeGate({ identities: { UALICE: alice, UBOB: bob }, allow: (identity) => identity.username === 'slack:alice' });
    const audit = new RecordingAuditTrail();
    const slack = new RecordingInteractionSlack();
    const commands = createCommands({ silences: { alertmanager, maxDurationMs: 7 * DAY, now: () => Date.parse('2026-03-01T12:00:00Z'), onExpired: (id) => void expired.push(id) }, logs: { redactor: createSecretRedactor(), now: Date.now } });
    const deps = { commands, slashCommand: '/ops', log: recordingLogger().log, metrics: freshMetrics(), gate, audit, kube: undefined, interactive: { pending: storedInteractions('confirmation', pendingConfirmationSchema).interactions, slack, followUpIntervalMs: 0, signal: new AbortController().signal } };
    const [button] = createCommandButtons(deps, ['unsilence']);
    const click = (user: string, value: string) =>
      button!.handle({ actor: { slackUserId: user, slackUserName: user.toLowerCase() }, actionId: commandButtonActionId('unsilence'), value, channelId: 'C1', messageTs: '1.2', ephemeral: true, triggerId: undefined, responseUrl: 'https://hooks.slack.test/r/1' });
    return { alertmanager, expired, slack, audit, click, deps };
  }

  it('lists each silence with an Expire button carrying its id, behind a confirm dialog', async () => {
    const { deps } = setUp();
    let blocks: unknown;
    await createSlashCommandHandler(deps)({ command: { command: '/ops', text: 'silences namespace=shop', user_id: 'UALICE', user_name: 'alice', channel_id: 'C1' }, ack: async () => {}, respond: async (body) => void (blocks = body.blocks) });
    const expire = (blocks as Array<{ accessory?: { action_id: string; value: string; confirm?: object } }>).find((block) => block.accessory !== undefined)?.accessory;
    expect(expire).toMatchObject({ action_id: 'command:run:unsilence', value: ID, confirm: expect.any(Object) });
  });

  it('expires as if the clicker typed /ops unsilence <id>: reviewed in the silence’s namespace, audited', async () => {
    const { alertmanager, expired, slack, audit, click } = setUp();
    await click('UBOB', ID);
    expect(alertmanager.expired).toEqual([]);
    expect(slack.responses.at(-1)?.body).toMatchObject({ replace_original: false, text: 'Not allowed: this needs `delete` on `silences.lookout.dev` in namespace shop.' });
    await click('UALICE', ID);
    expect(alertmanager.expired).toEqual([ID]);
    expect(expired).toEqual([ID]);
    expect(slack.responses.at(-1)?.body).toMatchObject({ text: expect.stringMatching(/^🔔 Silence `0.*has ended/) });
    expect(audit.entries.map((entry) => [entry.action, entry.outcome])).toEqual([
      ['unsilence', 'denied'],
      ['unsilence', 'allowed'],
    ]);
    // A forged value is just another id to look up, as typing it would be.
    await click('UALICE', 'not-an-id');
    expect(slack.responses.at(-1)?.body).toMatchObject({ text: expect.stringMatching(/a silence id looks like/) });
  });
});

describe('"Silence this alert 1h" in the thread detail', () => {
  it('runs /ops silence with exactly the alert’s labels for the clicker, reviewed in its namespace', async () => {
    const labels = { alertname: 'KubePodCrashLooping', namespace: 'shop', pod: 'cart-1', team: 'web shop', msg: 'say "hi"' };
    const button = alertSilenceButton(labels);
    expect(button?.action_id).toBe('command:run:silence');
    const alertmanager = new FakeAlertmanager();
    const gate = new FakeGate({ identities: { UALICE: { username: 'slack:alice', groups: [], derivation: [] } }, allow: (_identity, attributes) => attributes.namespace === 'shop' });
    const slack = new RecordingInteractionSlack();
    const commands = createCommands({ silences: { alertmanager, maxDurationMs: 7 * DAY, now: () => Date.parse('2026-03-01T12:00:00Z') }, logs: { redactor: createSecretRedactor(), now: Date.now } });
    const deps = { commands, slashCommand: '/ops', log: recordingLogger().log, metrics: freshMetrics(), gate, audit: new RecordingAuditTrail(), kube: undefined, interactive: { pending: storedInteractions('confirmation', pendingConfirmationSchema).interactions, slack, followUpIntervalMs: 0, signal: new AbortController().signal } };
    const [handler] = createCommandButtons(deps, ['silence']);
    await handler!.handle({ actor: { slackUserId: 'UALICE', slackUserName: 'alice' }, actionId: 'command:run:silence', value: button?.value, channelId: 'C1', messageTs: '1.3', ephemeral: false, triggerId: undefined, responseUrl: 'https://hooks.slack.test/r/2' });
    expect(gate.reviews.map((review) => review.attributes)).toEqual([{ verb: 'create', group: 'lookout.dev', resource: 'silences', namespace: 'shop' }]);
    expect(alertmanager.created.map((silence) => Object.fromEntries(silence.matchers.map((m) => [m.name, m.value])))).toEqual([labels]);
    expect(alertmanager.created[0]?.matchers.every((m) => m.isEqual && !m.isRegex)).toBe(true);
    expect(alertmanager.created[0]?.endsAt).toEqual(new Date(Date.parse('2026-03-01T13:00:00Z')));
    expect(slack.responses.at(-1)?.body).toMatchObject({ text: expect.stringMatching(/^🔕 Silenced /) });
  });

  it('is offered only when the labels name what to silence and fit a button', () => {
    expect(alertSilenceButton({ alertname: 'X' })).toBeDefined();
    expect(alertSilenceButton({})).toBeUndefined();
    expect(alertSilenceButton({ alertname: 'X', big: 'x'.repeat(2000) })).toBeUndefined();
  });

  it('is left out when a label value would not come back the same through the typed command (it would silence something else)', () => {
    for (const value of ["it's 'quoted' here", 'two  spaces', 'tab\there', 'a -- b']) {
      expect(alertSilenceButton({ alertname: 'X', note: value }), value).toBeUndefined();
    }
    expect(alertSilenceButton({ alertname: 'X', note: "it's fine", team: 'web shop' })).toBeDefined();
  });
});
