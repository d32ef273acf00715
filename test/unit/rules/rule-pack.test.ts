import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Alert } from '../../../alerts/payload.ts';
import type { AlertTarget } from '../../../alerts/enrichers/enrichment.ts';
import { defaultEnrichmentConfig } from '../../../alerts/enrichers/enrichment-config.ts';
import { createEnrichmentSources } from '../../../alerts/enrichers/index.ts';
import { freshMetrics } from '../../helpers/fakes.ts';

/*
 * The rule pack's contract with Lookout (issue 15): every rule has a severity, a summary, a
 * description and a runbook_url whose page exists in docs/runbooks/, and every alert that the
 * promtool tests beside the rules expect, with exactly the labels promtool computed, resolves in
 * Lookout's own enrichment to the object the alert is about. promtool itself runs in
 * test/integration/rule-pack.test.ts.
 */

const REPO = new URL('../../../', import.meta.url).pathname;
const RULES_DIR = join(REPO, 'alerts/rules');
const RUNBOOK_URL = /^https:\/\/lookout\.dev\/docs\/runbooks\/([a-z0-9-]+)$/;

interface Rule {
  alert?: string;
  record?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleTestFile {
  tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts: Array<{ exp_labels?: Record<string, string> }> }> }>;
}

const files = readdirSync(RULES_DIR).filter((file) => file.endsWith('.yaml'));
const rules: Rule[] = files
  .filter((file) => !file.endsWith('.test.yaml'))
  .flatMap((file) => (parse(readFileSync(join(RULES_DIR, file), 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((group) => group.rules));
const alertRules = rules.filter((rule): rule is Rule & { alert: string } => rule.alert !== undefined);
const expectedAlerts = files
  .filter((file) => file.endsWith('.test.yaml'))
  .flatMap((file) => (parse(readFileSync(join(RULES_DIR, file), 'utf8')) as RuleTestFile).tests)
  .flatMap((test) => test.alert_rule_test ?? [])
  .flatMap((check) => check.exp_alerts.map((alert) => ({ alertname: check.alertname, labels: alert.exp_labels ?? {} })));

/**
 * The object each alert is about, from its labels: what an on-call engineer expects the message
 * to describe. Every alert rule must have an entry, so a new rule states what it targets.
 */
const TARGET_OF: Record<string, (labels: Record<string, string>) => object> = {
  KubePodCrashLooping: ({ namespace, pod, container }) => ({ namespace, pod, container }),
  KubeContainerOOMKilled: ({ namespace, pod, container }) => ({ namespace, pod, container }),
  KubePodNotReady: ({ namespace, pod }) => ({ namespace, pod }),
  KubeDeploymentReplicasMismatch: ({ namespace, deployment }) => ({ namespace, workload: { kind: 'Deployment', name: deployment! } }),
  KubeStatefulSetReplicasMismatch: ({ namespace, statefulset }) => ({ namespace, workload: { kind: 'StatefulSet', name: statefulset! } }),
  KubeDeploymentRolloutStuck: ({ namespace, deployment }) => ({ namespace, workload: { kind: 'Deployment', name: deployment! } }),
  KubeHpaMaxedOut: ({ namespace, horizontalpodautoscaler }) => ({ namespace, horizontalPodAutoscaler: horizontalpodautoscaler }),
  KubeJobFailed: ({ namespace, job_name }) => ({ namespace, workload: { kind: 'Job', name: job_name! } }),
  KubePersistentVolumeFillingUp: ({ namespace, persistentvolumeclaim }) => ({ namespace, persistentVolumeClaim: persistentvolumeclaim }),
  KubeNodeNotReady: ({ node }) => ({ node }),
  CertificateExpiringSoon: ({ namespace, name }) => ({ namespace, certificate: { kind: 'Secret', name: name! } }),
  CertManagerCertificateExpiringSoon: ({ namespace, name }) => ({ namespace, certificate: { kind: 'Certificate', name: name! } }),
  // About no Kubernetes object Lookout could look up: Lookout itself is down.
  LookoutDown: () => ({}),
  // The rest are about the Lookout pod that exports the metric.
  LookoutWebhookFailing: ({ namespace, pod }) => ({ namespace, pod }),
  LookoutWebhookRefused: ({ namespace, pod }) => ({ namespace, pod }),
  LookoutSlackDeliveriesPaused: ({ namespace, pod }) => ({ namespace, pod }),
  LookoutSlackDeliveriesFailing: ({ namespace, pod }) => ({ namespace, pod }),
  LookoutSlackDeliveriesGivenUp: ({ namespace, pod }) => ({ namespace, pod }),
  LookoutOutboxBacklogGrowing: ({ namespace, pod }) => ({ namespace, pod }),
  LookoutOutboxMessageTooOld: ({ namespace, pod }) => ({ namespace, pod }),
  LookoutEnrichmentFailing: ({ namespace, pod }) => ({ namespace, pod }),
  LookoutNotificationsQuarantined: ({ namespace, pod }) => ({ namespace, pod }),
};

/** Lookout's own target resolution, as the enrichment pipeline runs it (without Kubernetes lookups). */
async function resolveAsLookout(labels: Record<string, string>): Promise<AlertTarget> {
  const sources = createEnrichmentSources({ config: defaultEnrichmentConfig(), metrics: freshMetrics(), now: () => Date.now() });
  const alert = { status: 'firing', labels, annotations: {}, startsAt: '2026-12-02T10:00:00Z', endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: 'f' } as Alert;
  return await sources.resolveTarget(alert, new AbortController().signal);
}

describe('the rule pack (alerts/rules)', () => {
  it('has workload, certificate and Lookout rules, each alert once', () => {
    const names = alertRules.map((rule) => rule.alert);
    expect(new Set(names).size).toBe(names.length);
    for (const name of ['KubePodCrashLooping', 'KubeNodeNotReady', 'CertManagerCertificateExpiringSoon', 'LookoutDown', 'LookoutOutboxMessageTooOld']) expect(names).toContain(name);
  });

  it.each(alertRules.map((rule) => [rule.alert, rule] as const))('%s has a severity, a summary, a description and a runbook page that exists', (_name, rule) => {
    expect(['critical', 'warning', 'info']).toContain(rule.labels?.severity);
    expect(rule.annotations?.summary?.length).toBeGreaterThan(10);
    expect(rule.annotations?.description?.length).toBeGreaterThan(40);
    const page = RUNBOOK_URL.exec(rule.annotations?.runbook_url ?? '')?.[1];
    expect(page, `runbook_url ${rule.annotations?.runbook_url}`).toBeDefined();
    expect(existsSync(join(REPO, 'docs/runbooks', `${page}.md`)), `docs/runbooks/${page}.md`).toBe(true);
    expect(readFileSync(join(REPO, 'docs/runbooks', `${page}.md`), 'utf8')).toContain(rule.alert!);
  });

  it('every alert rule has a promtool test that expects it to fire, and states its target here', () => {
    for (const rule of alertRules) {
      expect(expectedAlerts.some((alert) => alert.alertname === rule.alert), `a firing test for ${rule.alert}`).toBe(true);
      expect(TARGET_OF[rule.alert], `TARGET_OF.${rule.alert}`).toBeDefined();
    }
  });

  it.each(expectedAlerts.map((alert) => [alert.alertname, alert.labels] as const))('%s %j resolves to the object it is about', async (alertname, labels) => {
    const expected = TARGET_OF[alertname]!(labels);
    expect(await resolveAsLookout({ alertname, ...labels })).toEqual(expected);
  });
});
