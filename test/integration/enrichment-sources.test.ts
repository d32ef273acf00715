import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultEnrichmentConfig } from '../../alerts/enrichers/enrichment-config.ts';
import { SourceUnavailable, type Enricher, type EnrichmentFact, type EnrichmentSource } from '../../alerts/enrichers/enrichment.ts';
import { createEnrichmentSources, type EnrichmentSources } from '../../alerts/enrichers/index.ts';
import type { TrackedAlert } from '../../alerts/group-state.ts';
import type { KubeHttp } from '../../src/kube/kube-http.ts';
import type { Metrics } from '../../src/metrics.ts';
import { freshMetrics, metricValue, payload } from '../helpers/fakes.ts';
import { createNamespace, writeStatus as writeObjectStatus } from '../support/kube-test-helpers.ts';
import { pushToLoki } from '../support/loki-test-helpers.ts';
import { kubeHttpFor } from '../support/servers/kubeconfigs.ts';
import { testServers } from '../support/servers/test-servers.ts';

/*
 * The enrichment sources against the real kube-apiserver (as Lookout's ServiceAccount, with the
 * read-only RBAC of manifests/base/rbac.yaml) and the real Loki. There is no kubelet or
 * controller: the admin creates a Deployment → ReplicaSet → Pods chain with owner references,
 * writes their status through /status as the controllers would, adds an HPA, a Node and Events,
 * and pushes log lines to Loki.
 */

const suffix = randomBytes(3).toString('hex');
const NS = `enrich-${suffix}`;
const NODE = `worker-${suffix}`;
const RS = 'cart-7d9f8c6b5';
const POD = `${RS}-x2x9q`;
/** Pods of the same ReplicaSet, for the storm. */
const SIBLINGS = ['a1b2c', 'd3e4f', 'g5h6i', 'j7k8l'].map((id) => `${RS}-${id}`);
const STARTED = Date.now() - 2 * 60_000;
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

let admin: KubeHttp;
let bot: KubeHttp;
let lokiUrl: string;

async function create(path: string, body: Record<string, unknown>): Promise<{ metadata: { uid: string } }> {
  return admin.request({ method: 'POST', path, body });
}

const writeStatus = (path: string, status: Record<string, unknown>) => writeObjectStatus(admin, path, status);

async function createPod(name: string, rsUid: string, status: Record<string, unknown>): Promise<void> {
  await create(`/api/v1/namespaces/${NS}/pods`, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      labels: { app: 'cart' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: RS, uid: rsUid, controller: true, blockOwnerDeletion: true }],
    },
    spec: { nodeName: NODE, containers: [{ name: 'app', image: 'registry.example.com/shop/cart:1.4.2' }] },
  });
  await writeStatus(`/api/v1/namespaces/${NS}/pods/${name}`, status);
}

function crashLoopStatus(restarts: number): Record<string, unknown> {
  return {
    phase: 'Running',
    startTime: iso(STARTED - 60 * 60_000),
    conditions: [{ type: 'Ready', status: 'False', reason: 'ContainersNotReady', lastTransitionTime: iso(STARTED) }],
    containerStatuses: [
      {
        name: 'app',
        image: 'registry.example.com/shop/cart:1.4.2',
        imageID: '',
        ready: false,
        started: false,
        restartCount: restarts,
        state: { waiting: { reason: 'CrashLoopBackOff', message: `back-off 5m0s restarting failed container=app pod=${POD}_${NS}` } },
        lastState: {
          terminated: { exitCode: 137, reason: 'OOMKilled', startedAt: iso(Date.now() - 4 * 60_000), finishedAt: iso(Date.now() - 3 * 60_000) },
        },
      },
    ],
  };
}

async function warningEvent(name: string, involved: { kind: string; name: string; uid?: string; apiVersion: string }, reason: string, message: string, count: number, lastMs: number, type = 'Warning'): Promise<void> {
  await create(`/api/v1/namespaces/${NS}/events`, {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name, namespace: NS },
    involvedObject: { ...involved, namespace: NS },
    reason,
    message,
    type,
    count,
    firstTimestamp: iso(lastMs - 30 * 60_000),
    lastTimestamp: iso(lastMs),
    source: { component: 'kubelet', host: NODE },
  });
}

async function pushLogs(url: string): Promise<void> {
  const at = (offsetMs: number) => String(BigInt(STARTED + offsetMs) * 1_000_000n);
  const streams = [
    {
      stream: { namespace: NS, pod: POD, container: 'app' },
      values: [
        [at(-240_000), 'INFO starting cart service v1.4.2'],
        [at(-200_000), 'INFO connected to postgres://cart:Sup3rS3cret@db.shop:5432/cart'],
        [at(-60_000), 'ERROR loading price list: context deadline exceeded'],
        [at(-5_000), 'panic: runtime error: out of memory, token=Bearer abcdefghijklmnopqrstuvwxyz123456'],
        [at(-4_000), 'INFO shutting down'],
      ],
    },
    // Another pod's errors must not show up in this pod's excerpt.
    { stream: { namespace: NS, pod: SIBLINGS[0], container: 'app' }, values: [[at(-10_000), 'ERROR something about a sibling']] },
  ];
  await pushToLoki(url, streams, `{namespace="${NS}"}`, 6);
}

beforeAll(async () => {
  const servers = testServers();
  admin = kubeHttpFor(servers.kube.kubeconfigs.admin);
  bot = kubeHttpFor(servers.kube.kubeconfigs.bot);
  lokiUrl = servers.loki.url;

  await createNamespace(admin, NS);

  await create('/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: NODE, labels: { 'kubernetes.io/hostname': NODE } }, spec: { unschedulable: true } });
  await writeStatus(`/api/v1/nodes/${NODE}`, {
    conditions: [
      { type: 'MemoryPressure', status: 'True', reason: 'KubeletHasInsufficientMemory', message: 'kubelet has insufficient memory available', lastHeartbeatTime: iso(Date.now()), lastTransitionTime: iso(STARTED - 60_000) },
      { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', lastHeartbeatTime: iso(Date.now()), lastTransitionTime: iso(STARTED - 86_400_000) },
      { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: iso(Date.now()), lastTransitionTime: iso(STARTED - 86_400_000) },
    ],
  });

  const selector = { matchLabels: { app: 'cart' } };
  const template = { metadata: { labels: { app: 'cart' } }, spec: { containers: [{ name: 'app', image: 'registry.example.com/shop/cart:1.4.2' }] } };
  const deployment = await create(`/apis/apps/v1/namespaces/${NS}/deployments`, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'cart' },
    spec: { replicas: 3, selector, template },
  });
  await writeStatus(`/apis/apps/v1/namespaces/${NS}/deployments/cart`, {
    observedGeneration: 1,
    replicas: 3,
    updatedReplicas: 3,
    readyReplicas: 1,
    availableReplicas: 1,
    unavailableReplicas: 2,
    conditions: [
      { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.', lastUpdateTime: iso(STARTED), lastTransitionTime: iso(STARTED) },
      { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${RS}" has successfully progressed.`, lastUpdateTime: iso(STARTED), lastTransitionTime: iso(STARTED) },
    ],
  });

  const replicaSet = await create(`/apis/apps/v1/namespaces/${NS}/replicasets`, {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: RS,
      labels: { app: 'cart' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'cart', uid: deployment.metadata.uid, controller: true, blockOwnerDeletion: true }],
    },
    spec: { replicas: 3, selector, template },
  });
  await writeStatus(`/apis/apps/v1/namespaces/${NS}/replicasets/${RS}`, { replicas: 3, readyReplicas: 1, availableReplicas: 1, observedGeneration: 1 });

  await createPod(POD, replicaSet.metadata.uid, crashLoopStatus(14));
  for (const sibling of SIBLINGS) await createPod(sibling, replicaSet.metadata.uid, crashLoopStatus(3));

  await create(`/apis/autoscaling/v2/namespaces/${NS}/horizontalpodautoscalers`, {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'cart' },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'cart' },
      minReplicas: 2,
      maxReplicas: 3,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
    },
  });
  await writeStatus(`/apis/autoscaling/v2/namespaces/${NS}/horizontalpodautoscalers/cart`, {
    currentReplicas: 3,
    desiredReplicas: 3,
    conditions: [{ type: 'ScalingLimited', status: 'True', reason: 'TooManyReplicas', message: 'the desired replica count is more than the maximum replica count', lastTransitionTime: iso(STARTED) }],
  });

  const pod = { apiVersion: 'v1', kind: 'Pod', name: POD };
  const now = Date.now();
  await warningEvent(`${POD}.backoff-1`, pod, 'BackOff', 'Back-off restarting failed container app in pod', 9, now - 120_000);
  await warningEvent(`${POD}.backoff-2`, pod, 'BackOff', `Back-off restarting failed container app in pod ${POD}`, 5, now - 30_000);
  await warningEvent(`${POD}.unhealthy`, pod, 'Unhealthy', 'Liveness probe failed: Get "http://10.0.0.7:8080/healthz": connection refused', 3, now - 90_000);
  await warningEvent(`${POD}.pulled`, pod, 'Pulled', 'Container image already present on machine', 15, now - 30_000, 'Normal');
  await warningEvent(`${SIBLINGS[0]}.backoff`, { apiVersion: 'v1', kind: 'Pod', name: SIBLINGS[0] ?? '' }, 'FailedMount', 'not this pod', 1, now - 30_000);
  await warningEvent(`${RS}.failedcreate`, { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: RS }, 'FailedCreate', 'Error creating: pods "cart-7d9f8c6b5-zz" is forbidden: exceeded quota: compute', 2, now - 60_000);

  await pushLogs(lokiUrl);
});

function alertFor(labels: Record<string, string>, fingerprint = 'a1'): TrackedAlert {
  const alert = payload('{}:{alertname="KubePodCrashLooping"}', [{ name: 'KubePodCrashLooping', fingerprint, startsAt: iso(STARTED), labels }]).alerts[0];
  if (!alert) throw new Error('no alert');
  return alert;
}

function sources(kube: KubeHttp, metrics: Metrics): EnrichmentSources {
  return createEnrichmentSources({ kube, lokiUrl, config: defaultEnrichmentConfig(), metrics, now: Date.now });
}

async function enrichAll(built: EnrichmentSources, alert: TrackedAlert): Promise<Partial<Record<EnrichmentSource, EnrichmentFact>>> {
  const signal = AbortSignal.timeout(10_000);
  const target = await built.resolveTarget(alert, signal);
  const facts: Partial<Record<EnrichmentSource, EnrichmentFact>> = {};
  await Promise.all(
    built.enrichers.map(async (enricher: Enricher) => {
      const fact = await enricher.enrich(alert, target, signal);
      if (fact) facts[enricher.source] = fact;
    }),
  );
  return facts;
}

describe('enrichment sources against the real kube-apiserver and Loki, as the bot', () => {
  it('describes a crash-looping pod, its Deployment and HPA, its Warning events and its logs', async () => {
    const metrics = freshMetrics();
    const built = sources(bot, metrics);
    const facts = await enrichAll(built, alertFor({ namespace: NS, pod: POD, container: 'app', job: 'kube-state-metrics' }));

    expect(facts.pod?.summary).toMatch(new RegExp(`^\`${POD}\` · CrashLoopBackOff · 14 restarts · last OOMKilled <!date\\^\\d+\\^\\{ago\\}\\|3m ago> · \`${NODE}\`$`));
    expect(facts.pod?.detail).toContain('`registry.example.com/shop/cart:1.4.2` · waiting: CrashLoopBackOff · not ready · 14 restarts');

    expect(facts.workload?.summary).toBe('Deployment `cart` · ready 1/3 · updated 3 · available 1 · rollout in progress · HPA 2–3 *at max* (3)');
    expect(facts.workload?.detail).toContain(`Pod \`${POD}\` → ReplicaSet \`${RS}\` → Deployment \`cart\``);
    expect(facts.workload?.detail).toContain('• ScalingLimited=True (TooManyReplicas)');

    // Server-side filtered to this pod and its ReplicaSet, Warning only; BackOff counted over both events.
    expect(facts.events?.summary).toBe('⚠️ BackOff ×14, FailedCreate ×2, Unhealthy ×3');
    expect(facts.events?.detail).not.toContain('Pulled');
    expect(facts.events?.detail).not.toContain('FailedMount');

    // A pod alert carrying no node label: the node source stays out.
    expect(facts.node).toBeUndefined();

    // Cold, one alert: pod, ReplicaSet, Deployment, HPA list, and the events of pod and ReplicaSet.
    expect(await metricValue(metrics, 'lookout_kube_requests_total', { outcome: 'ok' })).toBe(6);
    expect(await metricValue(metrics, 'lookout_kube_requests_total', { resource: 'pods' })).toBe(1);
  });

  it('takes the error-like lines of that pod from Loki, redacted', async () => {
    const metrics = freshMetrics();
    const facts = await enrichAll(sources(bot, metrics), alertFor({ namespace: NS, pod: POD, container: 'app' }));
    expect(facts.logs?.summary).toBe('📜 2 error lines, last: `panic: runtime error: out of memory, token=Bearer [REDACTED]`');
    const detail = facts.logs?.detail ?? '';
    expect(detail).toContain('2 error-like lines');
    expect(detail).toMatch(/\d\d:\d\d:\d\d ERROR loading price list: context deadline exceeded\n\d\d:\d\d:\d\d panic: runtime error/);
    expect(detail).not.toContain('abcdefghijklmnopqrstuvwxyz');
    expect(detail).not.toContain('sibling');
    expect(detail).not.toContain('INFO');
    expect(await metricValue(metrics, 'lookout_loki_requests_total', { outcome: 'ok' })).toBe(1);
  });

  it('falls back to the newest lines when the window has no error-like ones, redacting a URL password', async () => {
    const metrics = freshMetrics();
    const config = defaultEnrichmentConfig();
    const built = createEnrichmentSources({ lokiUrl, config: { ...config, loki: { ...config.loki, windowBeforeMs: 300_000, windowAfterMs: 0 } }, metrics, now: () => STARTED - 150_000 });
    const facts = await enrichAll(built, alertFor({ namespace: NS, pod: POD, container: 'app' }));
    expect(facts.logs?.summary).toBe('');
    expect(facts.logs?.detail).toContain('none error-like');
    expect(facts.logs?.detail).toContain('INFO connected to postgres://cart:[REDACTED]@db.shop:5432/cart');
    expect(facts.logs?.detail).not.toContain('Sup3rS3cret');
    expect(await metricValue(metrics, 'lookout_loki_requests_total', { outcome: 'ok' })).toBe(2);
  });

  it('stays within 3 Kubernetes requests per alert in a storm over one workload', async () => {
    const metrics = freshMetrics();
    const built = sources(bot, metrics);
    const pods = [POD, ...SIBLINGS];
    // 50 alerts (say, two rules firing for each pod, notified five times) over five pods of one ReplicaSet.
    const alerts = Array.from({ length: 50 }, (_, index) => alertFor({ namespace: NS, pod: pods[index % pods.length] ?? POD, container: 'app' }, `storm-${index}`));
    const kubeSources = built.enrichers.filter((enricher) => enricher.source !== 'logs');
    await Promise.all(
      alerts.map(async (alert) => {
        const target = await built.resolveTarget(alert, AbortSignal.timeout(10_000));
        await Promise.all(kubeSources.map((enricher) => enricher.enrich(alert, target, AbortSignal.timeout(10_000))));
      }),
    );
    const requests = await metricValue(metrics, 'lookout_kube_requests_total');
    // 5 pods + 5 pod event lists + ReplicaSet + Deployment + HPA list + ReplicaSet events = 14.
    expect(requests).toBe(14);
    expect(requests / alerts.length).toBeLessThanOrEqual(3);
  });

  it('describes a node under memory pressure for a node alert', async () => {
    const facts = await enrichAll(sources(bot, freshMetrics()), alertFor({ alertname: 'KubeNodeMemoryPressure', node: NODE }));
    expect(facts.node?.summary).toMatch(new RegExp(`^\`${NODE}\` · Ready · MemoryPressure <!date\\^\\d+\\^\\{ago\\}\\|\\d+m ago> · cordoned$`));
    expect(facts.node?.detail).toContain('• ⚠️ MemoryPressure=True (KubeletHasInsufficientMemory)');
    expect(facts.pod).toBeUndefined();
  });

  it('reports a missing pod as news, and an identity without read access as "forbidden"', async () => {
    const facts = await enrichAll(sources(bot, freshMetrics()), alertFor({ namespace: NS, pod: 'cart-gone-12345', container: 'app' }));
    expect(facts.pod?.summary).toBe('`cart-gone-12345` no longer exists');

    // alice has no bindings: the same reads fail with a short, safe reason.
    const alice = kubeHttpFor(testServers().kube.kubeconfigs.alice);
    const pod = sources(alice, freshMetrics()).enrichers.find((enricher) => enricher.source === 'pod');
    const failure = await pod?.enrich(alertFor({ namespace: NS, pod: POD }), { namespace: NS, pod: POD }, AbortSignal.timeout(10_000)).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SourceUnavailable);
    expect((failure as SourceUnavailable).reason).toBe('forbidden');
  });
});
