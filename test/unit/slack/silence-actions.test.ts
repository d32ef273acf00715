import { beforeEach, describe, expect, it } from 'vitest';
import { mergeNotification } from '../../../alerts/merge-group.ts';
import { groupRef, renderGroupMessage } from '../../../alerts/render.ts';
import type { Actor } from '../../../src/access/authorization.ts';
import type { KubeIdentity } from '../../../src/identity/resolve-identity.ts';
import type { AlertmanagerPort, NewSilence } from '../../../src/integrations/alertmanager.ts';
import { alertButtonHandler, alertModalHandler, modalCallbackId, pendingModalSchema, type AlertActionDeps, type AnyAlertAction } from '../../../src/slack/alert-actions.ts';
import type { ButtonClick } from '../../../src/slack/interaction-payloads.ts';
import { silenceActions } from '../../../src/slack/silence-actions.ts';
import { inProcessStore } from '../../../src/state/in-process-store.ts';
import { SqliteStore } from '../../../src/state/sqlite-store.ts';
import { FakeGate, RecordingAuditTrail } from '../../helpers/access-fakes.ts';
import { freshMetrics, payload, recordingLogger } from '../../helpers/fakes.ts';
import { RecordingInteractionSlack, storedInteractions } from '../../helpers/interaction-fakes.ts';

const alice: Actor = { slackUserId: 'U024BE7LH', slackUserName: 'alice' };
const aliceIdentity: KubeIdentity = { username: 'slack:alice', groups: [], derivation: [] };
const GROUP = '{}:{alertname="KubePodCrashLooping", namespace="shop"}';
const TS = '1700000000.000100';
const NOW = Date.parse('2026-03-01T12:00:00Z');

class FakeAlertmanager implements Pick<AlertmanagerPort, 'createSilence'> {
  readonly created: NewSilence[] = [];
  async createSilence(silence: NewSilence): Promise<string> {
    this.created.push(silence);
    return '8f0c1f9e-3b7a-4c1e-9a56-0f7c2d3e4b5a';
  }
}

describe('the Silence buttons on alert messages', () => {
  let store: SqliteStore;
  let gate: FakeGate;
  let slack: RecordingInteractionSlack;
  let audit: RecordingAuditTrail;
  let alertmanager: FakeAlertmanager;
  let deps: AlertActionDeps;
  let actions: Map<string, AnyAlertAction>;
  let silenced: number[];
  let groupId: number;

  function setUp(groupLabels: Record<string, string>, maxDurationMs = 7 * 86_400_000) {
    store = new SqliteStore(':memory:');
    const { state } = mergeNotification(undefined, payload(GROUP, [{ fingerprint: 'a', name: 'KubePodCrashLooping', labels: { namespace: 'shop' } }], { groupLabels, commonLabels: { ...groupLabels, severity: 'warning' } }));
    groupId = store.addGroup(GROUP, 'C0ALERTS', state, 0);
    store.markMessageDelivered(groupId, TS, 1);
    gate = new FakeGate({ identities: { [alice.slackUserId]: aliceIdentity }, allow: (_identity, attributes) => attributes.namespace === 'shop' });
    slack = new RecordingInteractionSlack();
    audit = new RecordingAuditTrail();
    alertmanager = new FakeAlertmanager();
    silenced = [];
    deps = { store: inProcessStore(store), gate, audit, kube: undefined, slack, modals: storedInteractions('modal', pendingModalSchema).interactions, log: recordingLogger().log, metrics: freshMetrics(), followUpIntervalMs: 0, signal: new AbortController().signal };
    const built = silenceActions({ alertmanager: alertmanager as unknown as AlertmanagerPort, maxDurationMs, now: () => NOW, store: inProcessStore(store), onSilenced: (id) => void silenced.push(id) });
    actions = new Map(built.map((action) => [action.actionId, action]));
  }

  beforeEach(() => setUp({ alertname: 'KubePodCrashLooping', namespace: 'shop' }));

  const click = (actionId: string, overrides: Partial<ButtonClick> = {}): ButtonClick => ({
    actor: alice,
    actionId,
    value: groupRef(GROUP),
    channelId: 'C0ALERTS',
    messageTs: TS,
    ephemeral: false,
    triggerId: '12345.98765.abcd2358fdea',
    responseUrl: undefined,
    ...overrides,
  });
  const press = (actionId: string, overrides: Partial<ButtonClick> = {}) => alertButtonHandler(actions.get(actionId)!, deps).handle(click(actionId, overrides));

  it('silences exactly the group for 4h as the clicker, marks the message, and says so in the thread', async () => {
    await press('silence-4h');
    expect(gate.reviews.map((review) => review.attributes)).toEqual([{ verb: 'create', group: 'lookout.dev', resource: 'silences', namespace: 'shop' }]);
    expect(alertmanager.created).toEqual([
      {
        matchers: [
          { name: 'alertname', value: 'KubePodCrashLooping', isRegex: false, isEqual: true },
          { name: 'namespace', value: 'shop', isRegex: false, isEqual: true },
        ],
        startsAt: new Date(NOW),
        endsAt: new Date(NOW + 4 * 3_600_000),
        createdBy: 'slack:alice (Slack U024BE7LH)',
        comment: 'silenced from Slack by alice',
      },
    ]);
    const group = store.groupById(groupId)!;
    expect(group.state.silenced).toEqual({ by: alice.slackUserId, until: '2026-03-01T16:00:00.000Z', silenceId: '8f0c1f9e-3b7a-4c1e-9a56-0f7c2d3e4b5a' });
    expect(group.version).toBe(2);
    expect(silenced).toEqual([groupId]);
    expect(slack.posts.map((post) => [post.threadTs, post.text])).toEqual([[TS, expect.stringMatching(/^🔕 <@U024BE7LH> silenced this group for 4h, until <!date\^\d+\^/)]]);
    expect(audit.entries).toEqual([expect.objectContaining({ action: 'silence', outcome: 'allowed', reason: 'AlertsSilencedBySlackUser' })]);
    // The re-rendered message says who silenced it until when, and offers no Silence button any more.
    const rendered = JSON.stringify(renderGroupMessage(group.state));
    expect(rendered).toContain('🔕 Silenced by <@U024BE7LH> until <!date^');
    expect(rendered).not.toContain('"silence-1h"');

    await press('silence-1h');
    expect(alertmanager.created).toHaveLength(1);
    expect(slack.ephemerals.at(-1)?.text).toMatch(/^Already silenced by <@U024BE7LH> until/);
  });

  it('refuses a forged value or a click on another message, with no silence', async () => {
    await press('silence-1h', { value: groupRef('{}:{alertname="Other"}') });
    await press('silence-1h', { messageTs: '1700000000.999999' });
    expect(alertmanager.created).toEqual([]);
    expect(slack.ephemerals.map((e) => e.text)).toEqual(['This button does not belong to this message, so Lookout did nothing.', 'This button does not belong to this message, so Lookout did nothing.']);
    expect(store.groupById(groupId)!.state.silenced).toBeUndefined();
  });

  it('reviews a group without a namespace label cluster-wide, and the refusal says why', async () => {
    setUp({ alertname: 'KubePodCrashLooping' });
    await press('silence-1h');
    expect(gate.reviews.map((review) => review.attributes)).toEqual([{ verb: 'create', group: 'lookout.dev', resource: 'silences' }]);
    expect(alertmanager.created).toEqual([]);
    expect(slack.ephemerals.at(-1)?.text).toBe(
      "Not allowed: this needs `create` on `silences.lookout.dev` cluster-wide. A silence without an equality `namespace=` matcher can hide every team's alerts, so it needs this permission cluster-wide. To silence one namespace's alerts, add e.g. `namespace=shop`.",
    );
  });

  it('asks for any duration and a comment in a modal, bounded by silences.maxDuration', async () => {
    await press('silence-custom');
    expect(slack.order).toEqual(['views.open']);
    const view = slack.views[0]!.view;
    expect(view.callback_id).toBe(modalCallbackId('silence-custom'));
    const submit = (duration: string, comment: string) =>
      alertModalHandler(actions.get('silence-custom')!, deps).submit({
        actor: alice,
        callbackId: view.callback_id ?? '',
        privateMetadata: view.private_metadata ?? '',
        values: { 'silence-duration': { value: { type: 'plain_text_input', value: duration } }, 'silence-comment': { value: { type: 'plain_text_input', value: comment } } },
      });
    expect((await submit('8d', '')).answer).toEqual({ errors: { 'silence-duration': 'a silence from Slack lasts at most 7d (the silences.maxDuration setting); 8d is longer' } });
    const accepted = await submit('90m', 'deploying the fix');
    expect(accepted.answer).toBeUndefined();
    await accepted.after?.();
    expect(alertmanager.created).toEqual([expect.objectContaining({ endsAt: new Date(NOW + 90 * 60_000), comment: 'deploying the fix' })]);
  });

  it('keeps the quick buttons within silences.maxDuration: Silence 24h is refused when the limit is 4h', async () => {
    setUp({ alertname: 'KubePodCrashLooping', namespace: 'shop' }, 4 * 3_600_000);
    await press('silence-24h');
    expect(alertmanager.created).toEqual([]);
    expect(store.groupById(groupId)!.state.silenced).toBeUndefined();
    expect(slack.ephemerals.at(-1)?.text).toBe('A silence from Slack lasts at most 4h (the `silences.maxDuration` setting); 1d is longer. Nothing was silenced; use Silence for… to choose a shorter time.');
    expect(audit.entries).toEqual([expect.objectContaining({ action: 'silence', outcome: 'failed' })]);
    await press('silence-4h');
    expect(alertmanager.created).toEqual([expect.objectContaining({ endsAt: new Date(NOW + 4 * 3_600_000) })]);
  });
});
