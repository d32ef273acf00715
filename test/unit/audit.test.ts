import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/access/authorization.ts';
import { createAuditTrail, scrubSecrets } from '../../src/audit.ts';
import type { KubeRequest } from '../../src/kube/kube-http.ts';
import { ManualClock, freshMetrics, metricValue, recordingLogger } from '../helpers/fakes.ts';

const allowed: AuditEntry = {
  action: 'acknowledge',
  actor: { slackUserId: 'U024BE7LH', slackUserName: 'alice' },
  identity: { username: 'slack:alice', groups: ['slack:oncall', 'slack:sre'], derivation: ['user slack:alice from the rule for Slack user U024BE7LH'] },
  attributes: { verb: 'acknowledge', group: 'lookout.dev', resource: 'alerts', namespace: 'shop', name: 'KubePodCrashLooping' },
  outcome: 'allowed',
  target: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'cart' },
  detail: 'acknowledged the alert group',
  reason: 'AlertAcknowledgedBySlackUser',
};

const denied: AuditEntry = {
  ...allowed,
  outcome: 'denied',
  detail: 'missing `acknowledge` on `alerts.lookout.dev` in namespace shop',
};

class FakeKube {
  readonly requests: KubeRequest[] = [];
  failWith: Error | undefined;

  async request<T>(req: KubeRequest): Promise<T> {
    if (this.failWith) throw this.failWith;
    this.requests.push(req);
    return {} as T;
  }
}

function setup(options: { auditChannel?: string | undefined; failNotices?: boolean } = {}) {
  const clock = new ManualClock(Date.parse('2026-03-01T10:20:30.456Z'));
  const logs = recordingLogger();
  const metrics = freshMetrics();
  const kube = new FakeKube();
  const notices: Array<{ channel: string; text: string; at: number }> = [];
  let wakes = 0;
  const store = {
    async addNotice(channel: string, text: string, at: number): Promise<number> {
      if (options.failNotices) throw new Error('database is locked');
      notices.push({ channel, text, at });
      return notices.length;
    },
  };
  const audit = createAuditTrail({
    log: logs.log,
    metrics,
    store,
    ...(options.auditChannel === undefined && 'auditChannel' in options ? {} : { auditChannel: options.auditChannel ?? 'C0AUDIT' }),
    onNotice: () => (wakes += 1),
    kube,
    reportingInstance: 'lookout-7d9f8b6c4-x2x9q',
    now: clock.now,
  });
  const auditLines = () => logs.lines().filter((line) => line.audit === true);
  return { audit, logs, metrics, kube, notices, auditLines, wakes: () => wakes };
}

describe('audit trail', () => {
  it('writes a structured log line with who, as whom, what and on which object', async () => {
    const { audit, auditLines } = setup();
    await audit.record(allowed);
    await audit.record(denied);

    const [first, second] = auditLines();
    expect(first).toMatchObject({
      level: 'info',
      audit: true,
      action: 'acknowledge',
      outcome: 'allowed',
      reason: 'AlertAcknowledgedBySlackUser',
      slackUserId: 'U024BE7LH',
      slackUserName: 'alice',
      kubeUsername: 'slack:alice',
      kubeGroups: ['slack:oncall', 'slack:sre'],
      verb: 'acknowledge',
      group: 'lookout.dev',
      resource: 'alerts',
      namespace: 'shop',
      name: 'KubePodCrashLooping',
      target: { kind: 'Deployment', namespace: 'shop', name: 'cart' },
      detail: 'acknowledged the alert group',
    });
    expect(second).toMatchObject({ level: 'warn', outcome: 'denied' });
  });

  it('queues one line in the audit channel through the notices lane and wakes the outbox', async () => {
    const { audit, notices, wakes } = setup();
    await audit.record(denied);

    expect(notices).toHaveLength(1);
    expect(notices[0]!.channel).toBe('C0AUDIT');
    expect(notices[0]!.text).toContain('<@U024BE7LH>');
    expect(notices[0]!.text).toContain('`slack:alice`');
    expect(notices[0]!.text).toContain('denied');
    expect(notices[0]!.text).toContain('Deployment shop/cart');
    expect(wakes()).toBe(1);
  });

  it('escapes what people control, so a name cannot mention a channel', async () => {
    const { audit, notices } = setup();
    await audit.record({ ...allowed, actor: { slackUserId: 'U024BE7LH', slackUserName: '<!channel>' }, detail: '<https://evil|click>' });
    expect(notices[0]!.text).not.toContain('<!channel>');
    expect(notices[0]!.text).not.toContain('<https://evil');
  });

  it('has no channel sink when no audit channel is configured', async () => {
    const { audit, notices, auditLines } = setup({ auditChannel: undefined });
    await audit.record(allowed);
    expect(notices).toHaveLength(0);
    expect(auditLines()).toHaveLength(1);
  });

  it('creates an events.k8s.io/v1 Event on the target naming the Slack user and the Kubernetes identity', async () => {
    const { audit, kube } = setup();
    await audit.record(allowed);
    await audit.record(denied);

    expect(kube.requests).toHaveLength(2);
    const [ok, refused] = kube.requests;
    expect(ok).toMatchObject({ method: 'POST', path: '/apis/events.k8s.io/v1/namespaces/shop/events' });
    expect(ok!.impersonate).toBeUndefined(); // the bot's own credentials
    const body = ok!.body as Record<string, unknown>;
    expect(body).toMatchObject({
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { namespace: 'shop' },
      eventTime: '2026-03-01T10:20:30.456000Z',
      reportingController: 'lookout',
      reportingInstance: 'lookout-7d9f8b6c4-x2x9q',
      action: 'Acknowledge',
      reason: 'AlertAcknowledgedBySlackUser',
      type: 'Normal',
      regarding: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'cart' },
    });
    expect(String((body.metadata as { name: string }).name)).toMatch(/^cart\.[0-9a-f]+$/);
    const note = String(body.note);
    expect(note).toContain('U024BE7LH');
    expect(note).toContain('alice');
    expect(note).toContain('slack:alice');
    expect(note).toContain('slack:sre');

    expect(refused!.body).toMatchObject({ type: 'Warning', reason: 'AcknowledgeDeniedForSlackUser' });
  });

  it('puts Events about cluster-scoped objects in namespace default, and none without a target', async () => {
    const { audit, kube } = setup();
    await audit.record({ ...allowed, target: { apiVersion: 'v1', kind: 'Node', name: 'node-1' } });
    const { target: _target, ...withoutTarget } = allowed;
    await audit.record(withoutTarget);

    expect(kube.requests).toHaveLength(1);
    expect(kube.requests[0]!.path).toBe('/apis/events.k8s.io/v1/namespaces/default/events');
    expect((kube.requests[0]!.body as { regarding: Record<string, unknown> }).regarding).toEqual({ apiVersion: 'v1', kind: 'Node', name: 'node-1' });
  });

  it('names the Event validly for a virtual object named by a Vault path, keeping the path in regarding', async () => {
    const { audit, kube } = setup();
    const target = { apiVersion: 'lookout.dev/v1', kind: 'VaultSecret', namespace: 'payments', name: 'secret/Payments/db_main' };
    await audit.record({ ...allowed, target });
    const body = kube.requests[0]!.body as { metadata: { name: string }; regarding: Record<string, unknown> };
    expect(body.metadata.name).toMatch(/^secret-payments-db-main\.[0-9a-f]+$/);
    expect(body.regarding).toEqual(target);
  });

  it('names the Event validly even when the cut object name ends in a hyphen or dot', async () => {
    const { audit, kube } = setup();
    // A valid 253-character name whose 200th character is a hyphen.
    const name = `${'a'.repeat(199)}-${'b'.repeat(53)}`;
    await audit.record({ ...allowed, target: { apiVersion: 'v1', kind: 'Pod', namespace: 'shop', name } });
    const eventName = (kube.requests[0]!.body as { metadata: { name: string } }).metadata.name;
    // RFC 1123 subdomain, as the API server validates Event names.
    expect(eventName).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/);
    expect(eventName.length).toBeLessThanOrEqual(253);
  });

  it('keeps the note within the 1 kB Kubernetes allows', async () => {
    const { audit, kube } = setup();
    await audit.record({ ...allowed, detail: 'é'.repeat(2000) });
    expect(Buffer.byteLength(String((kube.requests[0]!.body as { note: string }).note))).toBeLessThanOrEqual(1024);
  });

  it('a failing Event sink is logged and counted, and the log and channel still record', async () => {
    const { audit, kube, notices, auditLines, logs, metrics } = setup();
    kube.failWith = new Error('POST /apis/events.k8s.io/v1/namespaces/shop/events: 403 Forbidden');
    await expect(audit.record(allowed)).resolves.toBeUndefined();

    expect(auditLines()).toHaveLength(1);
    expect(notices).toHaveLength(1);
    expect(await metricValue(metrics, 'lookout_audit_failures_total', { sink: 'event' })).toBe(1);
    expect(logs.lines().some((line) => line.level === 'error' && line.sink === 'event')).toBe(true);
  });

  it('a failing channel sink does not stop the Event', async () => {
    const { audit, kube, metrics } = setup({ failNotices: true });
    await audit.record(allowed);
    expect(kube.requests).toHaveLength(1);
    expect(await metricValue(metrics, 'lookout_audit_failures_total', { sink: 'channel' })).toBe(1);
    expect(await metricValue(metrics, 'lookout_audit_failures_total', { sink: 'event' })).toBe(0);
  });

  it('writes no secret to any sink, even one passed in by mistake', async () => {
    const { audit, kube, notices, logs } = setup();
    const secrets = [
      'xoxb-1234567890-abcdefghijkl',
      'Bearer sha256~AbCdEfGhIjKlMnOp',
      'hvs.CAESIJxyzxyzxyzxyzxyzxyzxyz',
      'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJl',
    ];
    await audit.record({ ...denied, detail: `rotate failed: ${secrets.join(' ')}`, actor: { slackUserId: 'U024BE7LH', slackUserName: secrets[0]! } });

    const everything = [JSON.stringify(logs.lines()), JSON.stringify(notices), JSON.stringify(kube.requests)].join('\n');
    for (const secret of secrets) expect(everything).not.toContain(secret.split(/\s/).at(-1));
    expect(everything).toContain('[REDACTED]'); // Lookout's one redactor (src/redact-secrets.ts) and its marker
  });
});

describe('scrubSecrets', () => {
  it('leaves ordinary text alone', () => {
    expect(scrubSecrets('scaled shop/cart from 2 to 5 replicas')).toBe('scaled shop/cart from 2 to 5 replicas');
  });
});
