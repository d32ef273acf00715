import { describe, expect, it } from 'vitest';
import { isAbout, readWorkloadAlerts } from '../../../commands/status-alerts.ts';
import { AlertmanagerError } from '../../../src/integrations/alertmanager.ts';
import { messageLink, renderStatusCard, type StatusView } from '../../../commands/status-card.ts';
import { rolloutState } from '../../../commands/status.ts';
import { parseWorkloadTarget } from '../../../src/workloads/workload-words.ts';
import { defaultEnrichmentConfig } from '../../../alerts/enrichers/enrichment-config.ts';
import { createSecretRedactor } from '../../../src/redact-secrets.ts';
import { blockProblems } from '../../../src/slack/reply-limits.ts';
import { selectorQuery, unreadyPods, type PodItem } from '../../../src/workloads/workload-reads.ts';

const NOW = Date.parse('2026-12-02T12:00:00Z');
const redactor = createSecretRedactor();
const ref = { kind: 'Deployment' as const, namespace: 'shop', name: 'cart' };

function view(overrides: Partial<StatusView> = {}): StatusView {
  return {
    ref,
    images: [{ container: 'cart', image: 'registry.example/cart:1.4.2' }],
    rollout: { desired: 3, updated: 3, ready: 3, available: 3, complete: true },
    state: { state: 'complete' },
    hpa: { value: undefined },
    pods: { value: { total: 3, unready: [] } },
    warnings: { value: [] },
    alerts: { alerts: [], silences: { value: [] } },
    buttons: [],
    ...overrides,
  };
}

const sectionTexts = (reply: ReturnType<typeof renderStatusCard>): string[] =>
  (reply.blocks ?? []).flatMap((block) => (block.type === 'section' && block.text ? [block.text.text] : []));

describe('the status card', () => {
  it('stays within Slack limits whatever the workload holds', () => {
    const long = 'x'.repeat(10_000);
    const reply = renderStatusCard(
      view({
        images: Array.from({ length: 60 }, (_, i) => ({ container: `c${i}${long}`, image: `registry.example/${long}:${i}` })),
        pods: { value: { total: 2000, unready: Array.from({ length: 2000 }, (_, i) => ({ name: `cart-${i}`, reason: `cart: CrashLoopBackOff ${long}`, restarts: i })) } },
        warnings: { value: Array.from({ length: 500 }, (_, i) => ({ object: `Pod/cart-${i}`, reason: 'BackOff', message: long, count: 3, at: '2026-12-02T11:59:00Z' })) },
        alerts: {
          alerts: Array.from({ length: 300 }, (_, i) => ({
            alert: { fingerprint: `f${i}`, labels: { alertname: `Alert${i}${long}`, severity: 'critical' }, annotations: { summary: long }, startsAt: '2026-12-02T11:00:00Z', state: 'active' as const, silencedBy: [] },
            message: { fingerprint: `f${i}`, channel: 'C0ALERTS', messageTs: '1700000000.000100' },
          })),
          silences: { value: Array.from({ length: 40 }, (_, i) => ({ id: `id-${i}`, matchers: [{ name: 'namespace', value: long, isRegex: false, isEqual: true }], startsAt: '2026-12-02T11:00:00Z', endsAt: '2026-12-02T13:00:00Z', createdBy: 'alice', comment: long, state: 'active' as const })) },
        },
        buttons: [
          { label: 'Scale to 4', command: 'scale', value: 'shop/cart 4' },
          { label: 'Scale to 2', command: 'scale', value: 'shop/cart 2' },
          { label: 'Restart', command: 'restart', value: 'shop/cart' },
        ],
      }),
      redactor,
      NOW,
    );
    expect(blockProblems(reply.blocks ?? [])).toEqual([]);
    expect((reply.blocks ?? []).length).toBeLessThanOrEqual(50);
    for (const text of sectionTexts(reply)) expect(text.length).toBeLessThanOrEqual(3000);
    const pods = sectionTexts(reply).find((text) => text.startsWith('*Pods not ready*'));
    expect(pods).toContain('2000 of 2000');
    expect(pods).toContain('… and 1990 more');
    expect(sectionTexts(reply).find((text) => text.startsWith('*Warning events*'))).toContain('newest 5 of 500');
    // Two Scale buttons share an action_id: never in the same actions block.
    const rows = (reply.blocks ?? []).filter((block) => block.type === 'actions');
    for (const row of rows) {
      const ids = row.type === 'actions' ? row.elements.map((element) => ('action_id' in element ? element.action_id : '')) : [];
      expect(new Set(ids).size).toBe(ids.length);
    }
    expect(rows).toHaveLength(2);
    expect(rows.flatMap((row) => (row.type === 'actions' ? row.elements : [])).map((element) => ('value' in element ? element.value : '')).sort()).toEqual(['shop/cart', 'shop/cart 2', 'shop/cart 4']);
  });

  it('says what the person may not see, instead of an error', () => {
    const reply = renderStatusCard(view({ pods: { hidden: true }, warnings: { hidden: true }, hpa: { hidden: true }, alerts: { alerts: [{ alert: { fingerprint: 'f', labels: { alertname: 'A' }, annotations: {}, startsAt: '2026-12-02T11:00:00Z', state: 'suppressed', silencedBy: ['s'] } }], silences: { hidden: true } } }), redactor, NOW);
    expect(reply.text).toContain('*Pods* _not allowed to see pods_');
    expect(reply.text).toContain('*Warning events* _not allowed to see events_');
    expect(reply.text).toContain('*HPA* _not allowed to see HorizontalPodAutoscalers_');
    expect(reply.text).toContain('*Silences* _not allowed to see silences_');
    expect(reply.text).toContain('🔕 *A*');
  });

  it('escapes and redacts what Kubernetes and Alertmanager say', () => {
    const reply = renderStatusCard(
      view({
        warnings: { value: [{ object: 'Pod/cart-1', reason: 'Failed', message: '<!channel> connect failed password=hunter2secret', count: 1, at: '2026-12-02T11:59:00Z' }] },
        alerts: { alerts: [{ alert: { fingerprint: 'f', labels: { alertname: 'Down<@U1>' }, annotations: { summary: 'token password=hunter2secret' }, startsAt: '2026-12-02T11:00:00Z', state: 'active', silencedBy: [] } }], silences: { value: [] } },
      }),
      redactor,
      NOW,
    );
    expect(reply.text).not.toContain('hunter2secret');
    expect(reply.text).not.toContain('<!channel>');
    expect(reply.text).toContain('&lt;!channel&gt;');
    expect(reply.text).toContain('Down&lt;@U1&gt;');
  });

  it('links an alert to the message Lookout posted for it', () => {
    const reply = renderStatusCard(view({ alerts: { alerts: [{ alert: { fingerprint: 'f', labels: { alertname: 'A' }, annotations: {}, startsAt: '2026-12-02T11:00:00Z', state: 'active', silencedBy: [] }, message: { fingerprint: 'f', channel: 'C0ALERTS', messageTs: '1700000000.000100' } }], silences: { value: [] } } }), redactor, NOW);
    expect(reply.text).toContain('<https://slack.com/archives/C0ALERTS/p1700000000000100|message>');
    expect(messageLink('C1', '1.000002')).toBe('https://slack.com/archives/C1/p1000002');
    expect(messageLink('C1', '1.000002', 'https://acme.slack.com/')).toBe('https://acme.slack.com/archives/C1/p1000002');
    const linked = renderStatusCard(view({ workspaceUrl: 'https://acme.slack.com/', alerts: { alerts: [{ alert: { fingerprint: 'f', labels: { alertname: 'A' }, annotations: {}, startsAt: '2026-12-02T11:00:00Z', state: 'active', silencedBy: [] }, message: { fingerprint: 'f', channel: 'C0ALERTS', messageTs: '1700000000.000100' } }], silences: { value: [] } } }), redactor, NOW);
    expect(linked.text).toContain('<https://acme.slack.com/archives/C0ALERTS/p1700000000000100|message>');
  });

  it('names the rollout state: paused before stalled, stalled with the deadline', () => {
    expect(rolloutState(ref, { spec: { paused: true } }, false, 'ProgressDeadlineExceeded')).toEqual({ state: 'paused' });
    expect(rolloutState(ref, { spec: { progressDeadlineSeconds: 600 } }, false, 'ProgressDeadlineExceeded: too slow')).toEqual({ state: 'stalled', why: 'no progress in 600 s: ProgressDeadlineExceeded: too slow' });
    expect(rolloutState(ref, {}, true, undefined)).toEqual({ state: 'complete' });
    expect(rolloutState(ref, {}, false, undefined)).toEqual({ state: 'progressing' });
    // spec.paused means nothing on a StatefulSet.
    expect(rolloutState({ ...ref, kind: 'StatefulSet' }, { spec: { paused: true } }, true, undefined)).toEqual({ state: 'complete' });
  });
});

describe('status reads', () => {
  it('tells why a pod is not ready, most telling reason first', () => {
    const pods: PodItem[] = [
      { metadata: { name: 'ready' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } },
      { metadata: { name: 'crash' }, status: { conditions: [{ type: 'Ready', status: 'False' }], containerStatuses: [{ name: 'app', ready: false, restartCount: 7, state: { waiting: { reason: 'CrashLoopBackOff' } } }] } },
      { metadata: { name: 'oom' }, status: { containerStatuses: [{ name: 'app', ready: false, state: {}, lastState: { terminated: { reason: 'OOMKilled', exitCode: 137 } } }] } },
      { metadata: { name: 'pending' }, status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] } },
      { metadata: { name: 'going', deletionTimestamp: '2026-12-02T11:00:00Z' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } },
    ];
    expect(unreadyPods(pods)).toEqual([
      { name: 'crash', reason: 'app: CrashLoopBackOff', restarts: 7 },
      { name: 'oom', reason: 'app: OOMKilled (exit 137)', restarts: 0 },
      { name: 'pending', reason: 'Unschedulable', restarts: 0 },
      { name: 'going', reason: 'Terminating', restarts: 0 },
    ]);
  });

  it('turns a selector into a labelSelector, and refuses an empty one', () => {
    expect(selectorQuery({ matchLabels: { app: 'cart' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['web', 'api'] }, { key: 'canary', operator: 'DoesNotExist' }] })).toBe('app=cart,tier in (web,api),!canary');
    expect(selectorQuery({})).toBeUndefined();
    expect(selectorQuery({ matchExpressions: [{ key: 'a', operator: 'Gt' }] })).toBeUndefined();
  });

  it('keeps the alerts that name the workload or one of its pods, in its namespace only', () => {
    const labels = defaultEnrichmentConfig().labels;
    const pods = new Set(['cart-7d9f-abcde']);
    expect(isAbout({ labels: { namespace: 'shop', deployment: 'cart' } }, ref, pods, labels)).toBe(true);
    expect(isAbout({ labels: { namespace: 'shop', pod: 'cart-7d9f-abcde' } }, ref, pods, labels)).toBe(true);
    expect(isAbout({ labels: { namespace: 'other', deployment: 'cart' } }, ref, pods, labels)).toBe(false);
    expect(isAbout({ labels: { namespace: 'shop', deployment: 'cart-api' } }, ref, pods, labels)).toBe(false);
    expect(isAbout({ labels: { namespace: 'shop', statefulset: 'cart' } }, ref, pods, labels)).toBe(false);
    // exported_namespace is the object's own namespace when both are present.
    expect(isAbout({ labels: { namespace: 'monitoring', exported_namespace: 'shop', deployment: 'cart' } }, ref, pods, labels)).toBe(true);
  });

  it('parses the workload forms of /ops restart, and says what is wrong', () => {
    expect(parseWorkloadTarget(['shop/cart'])).toEqual({ target: ref });
    expect(parseWorkloadTarget(['shop/sts/db'])).toEqual({ target: { kind: 'StatefulSet', namespace: 'shop', name: 'db' } });
    expect(parseWorkloadTarget(['-n', 'shop', 'daemonset/agent'])).toEqual({ target: { kind: 'DaemonSet', namespace: 'shop', name: 'agent' } });
    expect(parseWorkloadTarget([])).toEqual({ error: 'needs a workload, e.g. `shop/cart`' });
    expect(parseWorkloadTarget(['shop/cart', 'extra'])).toEqual({ error: 'unexpected `extra`' });
    expect(parseWorkloadTarget(['shop/job/x'])).toMatchObject({ error: expect.stringContaining('is not a kind') });
  });
});

describe('the workload alerts read', () => {
  const labels = defaultEnrichmentConfig().labels;
  const alert = (fingerprint: string, extra: Record<string, string>, silencedBy: string[] = []) => ({ fingerprint, labels: { alertname: fingerprint, ...extra }, annotations: {}, startsAt: '2026-12-02T11:00:00Z', state: silencedBy.length > 0 ? ('suppressed' as const) : ('active' as const), silencedBy });

  it('asks once per namespace label, keeps each alert of the workload once, and reads silences only for who may list them', async () => {
    const asked: string[][] = [];
    const silence = { id: 's1', matchers: [], startsAt: '', endsAt: '2026-12-02T13:00:00Z', createdBy: 'x', comment: '', state: 'active' as const };
    const sources = {
      labels,
      store: { alertMessages: async (fingerprints: readonly string[]) => fingerprints.filter((f) => f === 'a').map((fingerprint) => ({ fingerprint, channel: 'C1', messageTs: '1.2' })) },
      alertmanager: {
        listAlerts: async (filter: readonly string[]) => {
          asked.push([...filter]);
          return [alert('a', { namespace: 'shop', deployment: 'cart' }), alert('b', { namespace: 'shop', deployment: 'cart' }, ['s1']), alert('c', { namespace: 'shop', deployment: 'other' })];
        },
        getSilence: async (id: string) => (id === 's1' ? silence : undefined),
      },
    };
    const allowed = await readWorkloadAlerts(sources, ref, new Set(), async () => true);
    expect(asked).toEqual([['exported_namespace="shop"'], ['namespace="shop"']]);
    expect(allowed).toMatchObject({ alerts: [{ alert: { fingerprint: 'a' }, message: { channel: 'C1', messageTs: '1.2' } }, { alert: { fingerprint: 'b' } }], silences: { value: [silence] } });
    expect(await readWorkloadAlerts(sources, ref, new Set(), async () => false)).toMatchObject({ silences: { hidden: true } });
  });

  it('turns an Alertmanager failure into a line of the card, and no Alertmanager into another', async () => {
    const failing = { labels, store: { alertMessages: async () => [] }, alertmanager: { listAlerts: async () => Promise.reject(new AlertmanagerError('timeout')), getSilence: async () => undefined } };
    expect(await readWorkloadAlerts(failing, ref, new Set(), async () => true)).toEqual({ failed: 'timeout' });
    expect(await readWorkloadAlerts(undefined, ref, new Set(), async () => true)).toEqual({ unconfigured: true });
    expect(renderStatusCard(view({ alerts: { failed: 'timeout' } }), redactor, NOW).text).toContain('*Alerts* _Alertmanager did not answer (timeout)_');
  });
});
