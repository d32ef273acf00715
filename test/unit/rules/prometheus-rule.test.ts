import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PROMETHEUS_RULE_PATH, renderPrometheusRule } from '../../tools/prometheus-rule.ts';

describe('manifests/base/prometheusrule.yaml', () => {
  it('is the rule pack as it is now (run `npm run prometheus-rule` after changing alerts/rules)', () => {
    expect(readFileSync(PROMETHEUS_RULE_PATH, 'utf8'), 'manifests/base/prometheusrule.yaml is stale: run `npm run prometheus-rule`').toBe(renderPrometheusRule());
  });

  it('holds every rule of the pack in a PrometheusRule the kustomization applies', () => {
    const manifest = parse(readFileSync(PROMETHEUS_RULE_PATH, 'utf8')) as { kind: string; spec: { groups: Array<{ name: string; rules: Array<{ alert?: string }> }> } };
    expect(manifest.kind).toBe('PrometheusRule');
    expect(manifest.spec.groups.map((group) => group.name)).toEqual(['certificates', 'lookout', 'workloads']);
    expect(manifest.spec.groups.flatMap((group) => group.rules).filter((rule) => rule.alert !== undefined).length).toBeGreaterThanOrEqual(21);
    const kustomization = parse(readFileSync(new URL('../../../manifests/base/kustomization.yaml', import.meta.url), 'utf8')) as { resources: string[] };
    expect(kustomization.resources).toContain('prometheusrule.yaml');
  });
});
