import { describe, expect, it } from 'vitest';
import { defaultEnrichmentConfig } from '../../../alerts/enrichers/enrichment-config.ts';
import type { AnyCommand } from '../../../commands/command.ts';
import { createLogsCommand, LOGS_REPLY_MAX, type LogsCommandOptions } from '../../../commands/logs.ts';
import type { KubeIdentity } from '../../../src/identity/resolve-identity.ts';
import type { LokiEntry, LokiRangeQuery } from '../../../src/integrations/loki.ts';
import { KubeApiError, type KubeRequest } from '../../../src/kube/kube-http.ts';
import { createSecretRedactor } from '../../../src/redact-secrets.ts';
import { createSlashCommandHandler } from '../../../src/slack/dispatcher.ts';
import { FakeGate, FakeKubeHttp, RecordingAuditTrail } from '../../helpers/access-fakes.ts';
import { freshMetrics, recordingLogger } from '../../helpers/fakes.ts';

const NOW = Date.parse('2026-12-02T10:00:00Z');
const alice: KubeIdentity = { username: 'slack:alice', groups: ['slack:sre'], derivation: [] };

const pod = (name: string, extra: { created?: string; ready?: boolean; containers?: string[]; annotations?: Record<string, string>; restarted?: boolean } = {}) => ({
  metadata: { name, namespace: 'shop', creationTimestamp: extra.created ?? '2026-12-01T00:00:00Z', ...(extra.annotations ? { annotations: extra.annotations } : {}) },
  spec: { containers: (extra.containers ?? ['app']).map((c) => ({ name: c, image: 'x' })) },
  status: {
    conditions: [{ type: 'Ready', status: extra.ready === false ? 'False' : 'True' }],
    containerStatuses: (extra.containers ?? ['app']).map((c) => ({
      name: c,
      restartCount: extra.restarted ? 1 : 0,
      lastState: extra.restarted ? { terminated: { startedAt: '2026-12-02T09:00:00Z', finishedAt: '2026-12-02T09:30:00Z', exitCode: 1 } } : {},
    })),
  },
});

const notFound = (path: string) => new KubeApiError('GET', path, 404, 'NotFound', 'not found');

interface Run {
  reply: string;
  kube: FakeKubeHttp;
  audit: RecordingAuditTrail;
  gate: FakeGate;
  lokiQueries: LokiRangeQuery[];
}

async function logs(text: string, answer: (request: KubeRequest) => unknown, options: { loki?: LokiEntry[]; grafanaUrl?: string; allow?: boolean } = {}): Promise<Run> {
  const kube = new FakeKubeHttp(answer);
  const lokiQueries: LokiRangeQuery[] = [];
  const config = { ...defaultEnrichmentConfig().loki, ...(options.grafanaUrl ? { grafanaUrl: options.grafanaUrl } : {}) };
  const commandOptions: LogsCommandOptions = {
    redactor: createSecretRedactor(),
    now: () => NOW,
    ...(options.loki ? { loki: { config, client: { queryRange: async (query) => (lokiQueries.push(query), options.loki ?? []) } } } : {}),
  };
  const commands: AnyCommand[] = [createLogsCommand(commandOptions)];
  const gate = new FakeGate({ identities: { UALICE: alice }, allow: () => options.allow ?? true });
  const audit = new RecordingAuditTrail();
  let reply = '';
  await createSlashCommandHandler({ commands, slashCommand: '/ops', log: recordingLogger().log, metrics: freshMetrics(), gate, audit, kube })({
    command: { command: '/ops', text, user_id: 'UALICE', user_name: 'alice', channel_id: 'C1' },
    ack: async () => {},
    respond: async (body) => void (reply = body.text),
  });
  return { reply, kube, audit, gate, lokiQueries };
}

describe('/ops logs from pods/log', () => {
  it('reads the default container of a named pod as the person, redacted, oldest first', async () => {
    const { reply, kube, audit, gate } = await logs('logs shop/pod/cart-1 --since 15m', (request) => {
      if (request.path === '/api/v1/namespaces/shop/pods/cart-1') return pod('cart-1', { containers: ['sidecar', 'app'], annotations: { 'kubectl.kubernetes.io/default-container': 'app' } });
      if (request.path === '/api/v1/namespaces/shop/pods/cart-1/log') return '2026-12-02T09:59:01.5Z starting\n2026-12-02T09:59:02Z db password=hunter2 ok\n';
      throw new Error(`unexpected ${request.path}`);
    });
    expect(gate.reviews.map((review) => review.attributes)).toEqual([{ verb: 'get', group: '', resource: 'pods', subresource: 'log', namespace: 'shop', name: 'cart-1' }]);
    const logRequest = kube.requests[1];
    expect(logRequest).toMatchObject({
      method: 'GET',
      responseType: 'text',
      impersonate: { username: 'slack:alice', groups: ['slack:sre'] },
      query: { container: 'app', timestamps: 'true', tailLines: '500', sinceSeconds: '900' },
    });
    expect(kube.requests.every((request) => request.impersonate?.username === 'slack:alice')).toBe(true);
    expect(reply).toBe(
      [
        '*Logs* `shop/cart-1/app` from pods/log · since 15m · 2 lines',
        '_Container `app` of `sidecar`, `app`; choose with `-c`._',
        '```',
        '09:59:01 starting',
        '09:59:02 db password=[REDACTED] ok',
        '```',
      ].join('\n'),
    );
    expect(audit.entries).toMatchObject([{ action: 'logs', outcome: 'allowed', reason: 'LogsReadBySlackUser', target: { kind: 'Pod', name: 'cart-1' }, detail: 'read 2 log lines of shop/cart-1/app from pods/log' }]);
  });

  it('finds a Deployment by name when no pod has it, and reads its newest Ready pod', async () => {
    const { reply, kube, audit } = await logs('logs shop/cart', (request) => {
      if (request.path === '/api/v1/namespaces/shop/pods/cart') throw notFound(request.path);
      if (request.path === '/apis/apps/v1/namespaces/shop/deployments/cart') return { spec: { selector: { matchLabels: { app: 'cart' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['web', 'api'] }] } } };
      if (request.path === '/api/v1/namespaces/shop/pods') {
        return { items: [pod('cart-old', { created: '2026-12-01T00:00:00Z' }), pod('cart-new', { created: '2026-12-02T00:00:00Z', ready: false }), pod('cart-mid', { created: '2026-12-01T12:00:00Z' })] };
      }
      if (request.path === '/api/v1/namespaces/shop/pods/cart-mid/log') return '2026-12-02T09:59:01Z hello\n';
      throw new Error(`unexpected ${request.path}`);
    });
    expect(kube.requests.find((request) => request.path === '/api/v1/namespaces/shop/pods')?.query).toEqual({ labelSelector: 'app=cart,tier in (web,api)', limit: '500' });
    expect(reply).toContain('*Logs* `shop/cart-mid/app` from pods/log · 1 line');
    expect(reply).toContain('_Deployment `cart`: pod `cart-mid`, its newest Ready pod of 3 (2 Ready); name another with `shop/pod/<name>`._');
    expect(audit.entries[0]).toMatchObject({ outcome: 'allowed', target: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'cart' } });
    // The review could not name a pod: namespace-wide.
    expect(audit.entries[0]?.attributes).toEqual({ verb: 'get', group: '', resource: 'pods', subresource: 'log', namespace: 'shop' });
  });

  it('filters --grep in Lookout over more lines, and keeps the newest that fit, saying how many were cut', async () => {
    const lines = Array.from({ length: 300 }, (_, i) => `2026-12-02T09:00:00Z ${i % 2 === 0 ? 'ERROR' : 'info'} request ${i} ${'x'.repeat(60)}`);
    const { reply, kube } = await logs('logs shop/pod/cart-1 --grep ERROR', (request) => (request.path.endsWith('/log') ? `${lines.join('\n')}\n` : pod('cart-1')));
    expect(kube.requests[1]?.query).toMatchObject({ tailLines: '5000' });
    expect(reply.length).toBeLessThanOrEqual(LOGS_REPLY_MAX);
    expect(reply).toContain('lines containing `ERROR` · 150 lines');
    expect(reply).not.toContain(' info ');
    expect(reply).toMatch(/… \d+ older lines not shown/);
    // The newest line is always there.
    expect(reply).toContain('ERROR request 298 ');
  });

  it('names the missing permission when the person may not read the pod', async () => {
    const { reply, audit } = await logs('logs shop/pod/cart-1', (request) => {
      throw new KubeApiError('GET', request.path, 403, 'Forbidden', 'pods "cart-1" is forbidden: User "slack:alice" cannot get resource');
    });
    expect(reply).toBe('Not allowed: this needs `get` on `pods` named cart-1 in namespace shop.');
    expect(audit.entries).toMatchObject([{ outcome: 'failed' }]);
  });

  it('is refused by the gate before any read', async () => {
    const { reply, kube, audit } = await logs('logs shop/cart', () => ({}), { allow: false });
    expect(reply).toBe('Not allowed: this needs `get` on `pods/log` in namespace shop.');
    expect(kube.requests).toEqual([]);
    expect(audit.entries).toMatchObject([{ outcome: 'denied' }]);
  });

  it('says so when --previous has no previous instance, without asking for the log', async () => {
    const { reply, kube } = await logs('logs shop/pod/cart-1 --previous', () => pod('cart-1'));
    expect(reply).toBe('Container `app` of pod `cart-1` has no previous instance (it has not restarted).');
    expect(kube.requests).toHaveLength(1);
  });

  it('says the kubelet has no log (never the server message) when pods/log answers 404', async () => {
    const { reply } = await logs('logs shop/pod/cart-1', (request) => {
      if (request.path.endsWith('/log')) throw new KubeApiError('GET', request.path, 404, 'NotFound', 'the server could not find the requested resource ( pods/log cart-1)');
      return pod('cart-1');
    });
    expect(reply).toBe('Kubernetes has no log for container `app` of pod `cart-1`: it may not have started yet, or the pod is gone.');
  });

  it('reports a missing pod and deployment plainly', async () => {
    const { reply } = await logs('logs shop/nothing', (request) => {
      throw notFound(request.path);
    });
    expect(reply).toBe('There is no pod or deployment `nothing` in namespace `shop`.');
  });
});

describe('/ops logs from Loki', () => {
  const entry = (iso: string, line: string, container = 'app'): LokiEntry => ({ timestampNs: `${BigInt(Date.parse(iso)) * 1_000_000n}`, line, labels: { namespace: 'shop', pod: 'cart-1', container } });

  it('asks Loki for the pod and container with the grep as a line filter, over --since, with an Explore link', async () => {
    const { reply, lokiQueries, kube } = await logs(
      'logs shop/pod/cart-1 --since 30m --grep "time out"',
      () => pod('cart-1'),
      { loki: [entry('2026-12-02T09:59:00Z', 'second time out Bearer abcdefghijklmnop'), entry('2026-12-02T09:58:00Z', 'first time out')], grafanaUrl: 'https://grafana.example' },
    );
    expect(lokiQueries).toEqual([
      { query: '{namespace="shop", pod="cart-1", container="app"} |= "time out"', startNs: BigInt(NOW - 1_800_000) * 1_000_000n, endNs: BigInt(NOW) * 1_000_000n, limit: 500, direction: 'backward' },
    ]);
    // Only the pod was read from Kubernetes (as the person); the log came from Loki.
    expect(kube.requests.map((request) => request.path)).toEqual(['/api/v1/namespaces/shop/pods/cart-1']);
    expect(reply).toMatch(/^\*Logs\* `shop\/cart-1\/app` from Loki · since 30m · lines containing `time out` · 2 lines · <https:\/\/grafana\.example\/explore\?[^|]+\|Open in Grafana>\n```\n09:58:00 first time out\n09:59:00 second time out Bearer \[REDACTED\]\n```$/);
  });

  it('reads a pod that is gone from Kubernetes, every container, marked', async () => {
    const { reply, lokiQueries } = await logs('logs shop/pod/cart-1', (request) => {
      throw notFound(request.path);
    }, { loki: [entry('2026-12-02T09:59:00Z', 'b', 'sidecar'), entry('2026-12-02T09:58:00Z', 'a')] });
    expect(lokiQueries[0]?.query).toBe('{namespace="shop", pod="cart-1"}');
    expect(reply).toContain('_Pod `cart-1` is not in Kubernetes now; these are the lines Loki kept._');
    expect(reply).toContain('09:58:00 app | a\n09:59:00 sidecar | b');
  });

  it('reads the previous instance as the window it ran in', async () => {
    const { lokiQueries } = await logs('logs shop/pod/cart-1 -p', () => pod('cart-1', { restarted: true }), { loki: [] });
    expect(lokiQueries[0]).toMatchObject({ startNs: BigInt(Date.parse('2026-12-02T09:00:00Z')) * 1_000_000n, endNs: BigInt(Date.parse('2026-12-02T09:30:01Z')) * 1_000_000n });
  });
});
