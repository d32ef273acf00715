/*
 * Minimal stand-ins for the Prometheus Operator's ServiceMonitor and PrometheusRule CRDs
 * (monitoring.coreos.com/v1), written for test/integration/manifests.test.ts. They type the
 * fields Lookout's manifests use, with the operator's own constraints on them (required keys,
 * duration patterns, enums), and leave out the rest of the real (very large) schemas, so the API
 * server's strict field validation refuses a misspelt or misplaced key. A manifest that starts
 * using a real field these lack fails with "unknown field": add the field here, as the real CRD
 * types it.
 */

/** The operator's Duration pattern (monitoring.coreos.com/v1 `Duration`). */
const DURATION = '^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$';

const stringMap = { type: 'object', additionalProperties: { type: 'string' } } as const;

const labelSelector = {
  type: 'object',
  properties: {
    matchLabels: stringMap,
    matchExpressions: {
      type: 'array',
      items: {
        type: 'object',
        required: ['key', 'operator'],
        properties: { key: { type: 'string' }, operator: { type: 'string' }, values: { type: 'array', items: { type: 'string' } } },
      },
    },
  },
  'x-kubernetes-map-type': 'atomic',
} as const;

/** The CRD object for one kind of monitoring.coreos.com/v1 with the given spec schema. */
function monitoringCrd(kind: string, plural: string, spec: object) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.monitoring.coreos.com` },
    spec: {
      group: 'monitoring.coreos.com',
      scope: 'Namespaced',
      names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase() },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              required: ['spec'],
              properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' }, spec },
            },
          },
        },
      ],
    },
  };
}

export const SERVICE_MONITOR_CRD = monitoringCrd('ServiceMonitor', 'servicemonitors', {
  type: 'object',
  required: ['selector'],
  properties: {
    jobLabel: { type: 'string' },
    targetLabels: { type: 'array', items: { type: 'string' } },
    podTargetLabels: { type: 'array', items: { type: 'string' } },
    selector: labelSelector,
    namespaceSelector: { type: 'object', properties: { any: { type: 'boolean' }, matchNames: { type: 'array', items: { type: 'string' } } } },
    sampleLimit: { type: 'integer', format: 'int64' },
    endpoints: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          port: { type: 'string' },
          targetPort: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] },
          path: { type: 'string' },
          scheme: { type: 'string', enum: ['http', 'https', 'HTTP', 'HTTPS'] },
          params: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
          interval: { type: 'string', pattern: DURATION },
          scrapeTimeout: { type: 'string', pattern: DURATION },
          honorLabels: { type: 'boolean' },
          honorTimestamps: { type: 'boolean' },
          followRedirects: { type: 'boolean' },
          enableHttp2: { type: 'boolean' },
          // Their contents are the operator's large shared types, not Lookout's concern here.
          tlsConfig: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
          authorization: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
          relabelings: { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          metricRelabelings: { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      },
    },
  },
});

export const PROMETHEUS_RULE_CRD = monitoringCrd('PrometheusRule', 'prometheusrules', {
  type: 'object',
  properties: {
    groups: {
      type: 'array',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
      items: {
        type: 'object',
        required: ['name'],
        properties: {
          name: { type: 'string', minLength: 1 },
          interval: { type: 'string', pattern: DURATION },
          limit: { type: 'integer' },
          query_offset: { type: 'string', pattern: DURATION },
          partial_response_strategy: { type: 'string', pattern: '^(?i)(abort|warn)?$' },
          labels: stringMap,
          rules: {
            type: 'array',
            items: {
              type: 'object',
              required: ['expr'],
              properties: {
                record: { type: 'string' },
                alert: { type: 'string' },
                expr: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] },
                for: { type: 'string', pattern: DURATION },
                keep_firing_for: { type: 'string', minLength: 1, pattern: DURATION },
                labels: stringMap,
                annotations: stringMap,
              },
            },
          },
        },
      },
    },
  },
});
