import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeHttp } from '../../src/kube/kube-http.ts';
import type { FakeSlack, FakeSlackMessage } from '../support/fake-slack.ts';
import { waitFor } from '../support/free-port.ts';
import { startLookout, type LookoutProcess } from '../support/lookout-process.ts';
import { startLookoutTestBed, type LookoutTestBed } from '../support/lookout-test-bed.ts';
import { createNamespace, writeStatus as writeObjectStatus } from '../support/kube-test-helpers.ts';
import { pushToLoki } from '../support/loki-test-helpers.ts';
import { kubeHttpFor } from '../support/servers/kubeconfigs.ts';
import { testServers } from '../support/servers/test-servers.ts';

/*
 * The whole enrichment path: Lookout as a process with its own ServiceAccount kubeconfig (the RBAC
 * of manifests/base/rbac.yaml) against the real kube-apiserver, LOKI_URL on the real Loki, and the
 * fake Slack. The admin writes a Deployment → ReplicaSet → Pod chain with a crash-looping status
 * (no controllers run), a Warning event, and pushes log lines; an alert about the pod must come
 * out as one message with the facts under the alert and one thread detail message.
 */

const WEBHOOK_TOKEN = 'integration-webhook-token-0123';
const CHANNEL = 'C0ALERTS';
const suffix = randomBytes(3).toString('hex');
const NS = `pipeline-${suffix}`;
const RS = 'checkout-6f7d8c9b4';
const POD = `${RS}-k2p9z`;
const STARTED = Date.now() - 2 * 60_000;
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

let admin: KubeHttp;
let lokiUrl: string;
let bed: LookoutTestBed | undefined;
let slack: FakeSlack;
let lookout: LookoutProcess | undefined;

async function create(path: string, body: Record<string, unknown>): Promise<{ metadata: { uid: string } }> {
  return admin.request({ method: 'POST', path, body });
}

const writeStatus = (path: string, status: Record<string, unknown>) => writeObjectStatus(admin, path, status);

async function pushLogs(url: string): Promise<void> {
  const at = (offsetMs: number) => String(BigInt(STARTED + offsetMs) * 1_000_000n);
  const streams = [
    {
      stream: { namespace: NS, pod: POD, container: 'app' },
      values: [
        [at(-120_000), 'INFO checkout ready on :8080'],
        [at(-30_000), 'ERROR charge failed: connect to https://payments:hunter2@psp.example.com refused'],
        [at(-10_000), 'INFO retrying'],
      ],
    },
  ];
  await pushToLoki(url, streams, `{namespace="${NS}"}`, 3);
}

beforeAll(async () => {
  const servers = testServers();
  admin = kubeHttpFor(servers.kube.kubeconfigs.admin);
  lokiUrl = servers.loki.url;

  await createNamespace(admin, NS);
  const selector = { matchLabels: { app: 'checkout' } };
  const template = { metadata: { labels: { app: 'checkout' } }, spec: { containers: [{ name: 'app', image: 'registry.example.com/shop/checkout:2.0.1' }] } };
  const deployment = await create(`/apis/apps/v1/namespaces/${NS}/deployments`, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'checkout' },
    spec: { replicas: 2, selector, template },
  });
  await writeStatus(`/apis/apps/v1/namespaces/${NS}/deployments/checkout`, { observedGeneration: 1, replicas: 2, updatedReplicas: 2, readyReplicas: 1, availableReplicas: 1, unavailableReplicas: 1 });
  const replicaSet = await create(`/apis/apps/v1/namespaces/${NS}/replicasets`, {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: RS,
      labels: { app: 'checkout' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'checkout', uid: deployment.metadata.uid, controller: true, blockOwnerDeletion: true }],
    },
    spec: { replicas: 2, selector, template },
  });
  await create(`/api/v1/namespaces/${NS}/pods`, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: POD,
      labels: { app: 'checkout' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: RS, uid: replicaSet.metadata.uid, controller: true, blockOwnerDeletion: true }],
    },
    spec: { containers: [{ name: 'app', image: 'registry.example.com/shop/checkout:2.0.1' }] },
  });
  await writeStatus(`/api/v1/namespaces/${NS}/pods/${POD}`, {
    phase: 'Running',
    startTime: iso(STARTED - 60 * 60_000),
    containerStatuses: [
      {
        name: 'app',
        image: 'registry.example.com/shop/checkout:2.0.1',
        imageID: '',
        ready: false,
        started: false,
        restartCount: 6,
        state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 2m40s restarting failed container' } },
        lastState: { terminated: { exitCode: 137, reason: 'OOMKilled', startedAt: iso(Date.now() - 4 * 60_000), finishedAt: iso(Date.now() - 3 * 60_000) } },
      },
    ],
  });
  await create(`/api/v1/namespaces/${NS}/events`, {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${POD}.backoff`, namespace: NS },
    involvedObject: { apiVersion: 'v1', kind: 'Pod', name: POD, namespace: NS },
    reason: 'BackOff',
    message: `Back-off restarting failed container app in pod ${POD}`,
    type: 'Warning',
    count: 11,
    firstTimestamp: iso(Date.now() - 30 * 60_000),
    lastTimestamp: iso(Date.now() - 20_000),
    source: { component: 'kubelet' },
  });
  await pushLogs(lokiUrl);

  bed = await startLookoutTestBed({
    webhookToken: WEBHOOK_TOKEN,
    channel: CHANNEL,
    extraEnv: { KUBECONFIG: servers.kube.kubeconfigs.bot, LOKI_URL: lokiUrl },
  });
  slack = bed.slack;
  lookout = await startLookout(bed.env);
});

afterAll(async () => {
  await lookout?.stop();
  await bed?.close();
});

function notification(status: 'firing' | 'resolved'): string {
  const labels = { alertname: 'KubePodCrashLooping', namespace: NS, pod: POD, container: 'app', severity: 'warning' };
  return JSON.stringify({
    version: '4',
    groupKey: `{}:{alertname="KubePodCrashLooping",namespace="${NS}"}`,
    status,
    receiver: 'lookout',
    groupLabels: { alertname: 'KubePodCrashLooping', namespace: NS },
    commonLabels: labels,
    commonAnnotations: { summary: 'Pod is crash looping.' },
    externalURL: 'http://alertmanager.invalid',
    alerts: [
      {
        status,
        labels,
        annotations: { summary: 'Pod is crash looping.' },
        startsAt: iso(STARTED),
        endsAt: status === 'resolved' ? iso(Date.now()) : '0001-01-01T00:00:00Z',
        generatorURL: '',
        fingerprint: `crash-${suffix}`,
      },
    ],
  });
}

async function send(body: string): Promise<void> {
  const res = await fetch(`${lookout!.url}/alertmanager`, { method: 'POST', headers: { authorization: `Bearer ${WEBHOOK_TOKEN}` }, body });
  expect(res.status).toBe(200);
}

const content = (message: FakeSlackMessage): string => `${message.text}\n${JSON.stringify(message.blocks)}`;

describe('enrichment end to end (real kube-apiserver and Loki, Lookout process, fake Slack)', () => {
  it('posts the alert once with the pod, workload and log facts under it, and the detail in one thread message', async () => {
    const sentAt = Date.now();
    await send(notification('firing'));
    const message = await waitFor('the alert message', () => slack.messages(CHANNEL)[0], 15_000);
    const postedAfter = slack.callsTo('chat.postMessage').find((call) => call.status === 200)!.at - sentAt;

    const text = content(message);
    // Everything answered within the budget, so the FIRST post already has it (no note, no edit needed).
    expect(text).toContain('CrashLoopBackOff');
    expect(text).toContain('OOMKilled');
    expect(text).toMatch(/checkout/);
    expect(text).not.toContain('unavailable');
    expect(text).toContain('charge failed');

    const detail = await waitFor('the detail message in the thread', () => slack.replies(CHANNEL, message.ts)[0], 10_000);
    const detailText = content(detail);
    expect(detailText).toContain('Back-off restarting failed container');
    expect(detailText).toContain('```');
    expect(detailText).toContain('ERROR charge failed');
    expect(detailText).not.toContain('hunter2'); // the URL password is redacted
    const metrics = await (await fetch(`${lookout!.url}/metrics`)).text();
    const kubeRequests = [...metrics.matchAll(/^lookout_kube_requests_total\{[^}]*\} (\d+)/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
    console.log(`[enrichment-pipeline] first post ${postedAfter} ms after the webhook, already enriched; ${kubeRequests} Kubernetes requests for the alert`);
    expect(kubeRequests).toBeGreaterThan(0);
  });

  it('edits the message when the alert resolves, without looking anything up again or a second detail message', async () => {
    const metricsBefore = await (await fetch(`${lookout!.url}/metrics`)).text();
    const calls = (text: string) => [...text.matchAll(/^lookout_enrichment_duration_seconds_count\{[^}]*\} (\d+)/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
    await send(notification('resolved'));
    await waitFor('the message to show RESOLVED', () => (/RESOLVED/.test(slack.messages(CHANNEL)[0]?.text ?? '') ? true : undefined), 15_000);
    await new Promise((resolve) => setTimeout(resolve, 1500));

    const metricsAfter = await (await fetch(`${lookout!.url}/metrics`)).text();
    expect(calls(metricsAfter)).toBe(calls(metricsBefore));
    expect(slack.messages(CHANNEL)).toHaveLength(1);
    const [parent] = slack.messages(CHANNEL);
    const details = slack.replies(CHANNEL, parent!.ts).filter((reply) => content(reply).includes('Back-off restarting'));
    expect(details).toHaveLength(1);
  });
});
