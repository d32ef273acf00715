// `npm run prometheus-rule`: writes manifests/base/prometheusrule.yaml, the rule pack (alerts/rules/*.yaml,
// without the promtool tests) as one Prometheus Operator PrometheusRule. The pack is the source;
// test/unit/rules/prometheus-rule.test.ts fails when the manifest no longer matches it.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

const REPO = new URL('../../', import.meta.url).pathname;
const RULES_DIR = join(REPO, 'alerts/rules');
export const PROMETHEUS_RULE_PATH = join(REPO, 'manifests/base/prometheusrule.yaml');

const HEADER = `# Generated from alerts/rules/*.yaml by \`npm run prometheus-rule\`: edit the rule files, not this.
# Needs the Prometheus Operator CRDs (as servicemonitor.yaml does). A Prometheus that selects rules
# by label (kube-prometheus-stack: release=<its release>) needs that label added, e.g. in an overlay.
`;

/** The PrometheusRule manifest for the rule files in alerts/rules, in file-name order. */
export function renderPrometheusRule(): string {
  const ruleFiles = readdirSync(RULES_DIR)
    .filter((file) => file.endsWith('.yaml') && !file.endsWith('.test.yaml'))
    .sort();
  const groups = ruleFiles.flatMap((file) => (parse(readFileSync(join(RULES_DIR, file), 'utf8')) as { groups: unknown[] }).groups);
  const manifest = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'lookout', labels: { 'app.kubernetes.io/name': 'lookout' } },
    spec: { groups },
  };
  return HEADER + stringify(manifest, { lineWidth: 0 });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(PROMETHEUS_RULE_PATH, renderPrometheusRule());
  console.log(`wrote ${PROMETHEUS_RULE_PATH}`);
}
