import { beforeEach, describe, expect, it } from 'vitest';
import { alertButtons, LOGS_ACTION_ID } from '../../../alerts/alert-buttons.ts';
import type { AlertTarget } from '../../../alerts/enrichers/enrichment.ts';
import { mergeNotification } from '../../../alerts/merge-group.ts';
import { groupRef } from '../../../alerts/render.ts';
import type { Actor } from '../../../src/access/authorization.ts';
import type { KubeIdentity } from '../../../src/identity/resolve-identity.ts';
import type { KubeRequest } from '../../../src/kube/kube-http.ts';
import { createSecretRedactor } from '../../../src/redact-secrets.ts';
import { alertButtonHandler, NOT_THIS_MESSAGE, pendingModalSchema, type AlertActionDeps } from '../../../src/slack/alert-actions.ts';
import type { ButtonClick } from '../../../src/slack/interaction-payloads.ts';
import { logsActions, NO_LOG_TARGET } from '../../../src/slack/logs-action.ts';
import { inProcessStore } from '../../../src/state/in-process-store.ts';
import { SqliteStore } from '../../../src/state/sqlite-store.ts';
import { FakeGate, FakeKubeHttp, RecordingAuditTrail } from '../../helpers/access-fakes.ts';
import { freshMetrics, payload, recordingLogger } from '../../helpers/fakes.ts';
import { RecordingInteractionSlack, storedInteractions } from '../../helpers/interaction-fakes.ts';

const alice: Actor = { slackUserId: 'U024BE7LH', slackUserName: 'alice' };
const aliceIdentity: KubeIdentity = { username: 'slack:alice', groups: ['slack:sre'], derivation: [] };
const GROUP = '{}:{alertname="KubePodCrashLooping"}';
const TS = '1700000000.000100';

describe('the Show logs button', () => {
  let store: SqliteStore;
  let groupId: number;
  let gate: FakeGate;
  let kube: FakeKubeHttp;
  let slack: RecordingInteractionSlack;
  let audit: RecordingAuditTrail;
  let deps: AlertActionDeps;

  const enrich = (target: AlertTarget) =>
    store.saveEnrichment(groupId, { enrichment: { a: { target, facts: [], failures: [], complete: true } }, handled: {}, releaseFirstPost: true, messageChanged: true, detailChanged: false });

  beforeEach(() => {
    store = new SqliteStore(':memory:');
    // The labels name another pod: the button must read what enrichment stored, not the labels.
    const { state } = mergeNotification(undefined, payload(GROUP, [{ fingerprint: 'a' }], { commonLabels: { alertname: 'KubePodCrashLooping', namespace: 'shop', pod: 'label-pod' } }));
    groupId = store.addGroup(GROUP, 'C0ALERTS', state, 0);
    store.markMessageDelivered(groupId, TS, 1);
    gate = new FakeGate({ identities: { [alice.slackUserId]: aliceIdentity } });
    kube = new FakeKubeHttp((request: KubeRequest) => {
      if (request.path === '/api/v1/namespaces/shop/pods/cart-1') return { metadata: { name: 'cart-1' }, spec: { containers: [{ name: 'app' }] } };
      if (request.path === '/api/v1/namespaces/shop/pods/cart-1/log') return '2026-12-02T09:59:01Z panic: token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln\n';
      throw new Error(`unexpected ${request.path}`);
    });
    slack = new RecordingInteractionSlack();
    audit = new RecordingAuditTrail();
    deps = {
      store: inProcessStore(store),
      gate,
      audit,
      kube,
      slack,
      modals: storedInteractions('modal', pendingModalSchema).interactions,
      log: recordingLogger().log,
      metrics: freshMetrics(),
      followUpIntervalMs: 0,
      signal: new AbortController().signal,
    };
  });

  const [action] = logsActions({ redactor: createSecretRedactor(), now: () => Date.parse('2026-12-02T10:00:00Z') });
  const click = (overrides: Partial<ButtonClick> = {}): ButtonClick => ({
    actor: alice,
    actionId: LOGS_ACTION_ID,
    value: groupRef(GROUP),
    channelId: 'C0ALERTS',
    messageTs: TS,
    ephemeral: false,
    triggerId: '12345.98765.abcd2358fdea',
    responseUrl: undefined,
    ...overrides,
  });

  it('is rendered only when enrichment found one pod or workload', () => {
    const record = () => store.groupByMessage('C0ALERTS', TS)!;
    const has = () => alertButtons({ state: record().state, enrichment: record().enrichment, workload: undefined, ref: 'r' }).some((button) => button.action_id === LOGS_ACTION_ID);
    expect(has()).toBe(false);
    enrich({ namespace: 'shop', node: 'n1' });
    expect(has()).toBe(false);
    enrich({ namespace: 'shop', pod: 'cart-1' });
    expect(has()).toBe(true);
  });

  it('shows the enriched pod’s log to the clicker alone, as them, after the pods/log review, and audits it', async () => {
    enrich({ namespace: 'shop', pod: 'cart-1', workload: { kind: 'Deployment', name: 'cart' } });
    await alertButtonHandler(action, deps).handle(click());
    expect(gate.reviews.map((review) => review.attributes)).toEqual([{ verb: 'get', group: '', resource: 'pods', subresource: 'log', namespace: 'shop', name: 'cart-1' }]);
    expect(kube.requests.map((request) => [request.path, request.impersonate?.username])).toEqual([
      ['/api/v1/namespaces/shop/pods/cart-1', 'slack:alice'],
      ['/api/v1/namespaces/shop/pods/cart-1/log', 'slack:alice'],
    ]);
    expect(slack.ephemerals).toHaveLength(1);
    expect(slack.ephemerals[0]).toMatchObject({ channel: 'C0ALERTS', user: alice.slackUserId });
    expect(slack.ephemerals[0]?.text).toContain('*Logs* `shop/cart-1/app` from pods/log · 1 line');
    expect(slack.ephemerals[0]?.text).toContain('09:59:01 panic: token=[REDACTED]');
    expect(audit.entries).toMatchObject([{ action: 'logs', outcome: 'allowed', reason: 'LogsReadBySlackUser', target: { kind: 'Pod', namespace: 'shop', name: 'cart-1' } }]);
  });

  it('names the missing permission and reads nothing when refused', async () => {
    enrich({ namespace: 'shop', pod: 'cart-1' });
    gate.allow = () => false;
    await alertButtonHandler(action, deps).handle(click());
    expect(slack.ephemerals.map((message) => message.text)).toEqual(['Not allowed: this needs `get` on `pods/log` named cart-1 in namespace shop.']);
    expect(kube.requests).toEqual([]);
    expect(audit.entries).toMatchObject([{ outcome: 'denied' }]);
  });

  it('refuses a forged value or a group without a log target, with no read', async () => {
    enrich({ namespace: 'shop', pod: 'cart-1' });
    await alertButtonHandler(action, deps).handle(click({ value: groupRef('{}:{alertname="Other"}') }));
    store.saveEnrichment(groupId, { enrichment: {}, handled: {}, releaseFirstPost: true, messageChanged: true, detailChanged: false });
    await alertButtonHandler(action, deps).handle(click());
    expect(slack.ephemerals.map((message) => message.text)).toEqual([NOT_THIS_MESSAGE, NO_LOG_TARGET]);
    expect(gate.reviews).toEqual([]);
    expect(kube.requests).toEqual([]);
  });
});
