/**
 * Minimal stand-ins for External Secrets Operator's CRDs (external-secrets.io/v1): ExternalSecret,
 * SecretStore and ClusterSecretStore, written for these tests. The fields Lookout reads are typed
 * as ESO types them (names, required keys, the refreshPolicy values); everything else is kept as
 * sent, so tests can write realistic objects without ESO's very large schemas. No controller runs:
 * a test that needs a sync plays ESO's part itself (writes the target Secret).
 */
const storeRef = { type: 'object', properties: { name: { type: 'string' }, kind: { type: 'string', enum: ['SecretStore', 'ClusterSecretStore'] } } };

const externalSecretSpec = {
  type: 'object',
  'x-kubernetes-preserve-unknown-fields': true,
  properties: {
    refreshInterval: { type: 'string' },
    refreshPolicy: { type: 'string', enum: ['CreatedOnce', 'Periodic', 'OnChange'] },
    secretStoreRef: storeRef,
    target: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { name: { type: 'string' } } },
    data: {
      type: 'array',
      items: {
        type: 'object',
        required: ['secretKey', 'remoteRef'],
        properties: {
          secretKey: { type: 'string' },
          remoteRef: {
            type: 'object',
            required: ['key'],
            'x-kubernetes-preserve-unknown-fields': true,
            properties: { key: { type: 'string' }, property: { type: 'string' }, version: { type: 'string' } },
          },
          sourceRef: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { storeRef } },
        },
      },
    },
    dataFrom: {
      type: 'array',
      items: {
        type: 'object',
        'x-kubernetes-preserve-unknown-fields': true,
        properties: {
          extract: { type: 'object', required: ['key'], 'x-kubernetes-preserve-unknown-fields': true, properties: { key: { type: 'string' }, version: { type: 'string' } } },
          sourceRef: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { storeRef } },
        },
      },
    },
  },
};

const storeSpec = {
  type: 'object',
  'x-kubernetes-preserve-unknown-fields': true,
  properties: {
    provider: {
      type: 'object',
      'x-kubernetes-preserve-unknown-fields': true,
      properties: {
        vault: {
          type: 'object',
          'x-kubernetes-preserve-unknown-fields': true,
          properties: { server: { type: 'string' }, path: { type: 'string' }, version: { type: 'string', enum: ['v1', 'v2'] } },
        },
      },
    },
  },
};

function crd(kind: string, plural: string, scope: 'Namespaced' | 'Cluster', shortName: string, spec: object) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.external-secrets.io` },
    spec: {
      group: 'external-secrets.io',
      scope,
      names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase(), shortNames: [shortName], categories: ['external-secrets'] },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec,
                status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
              },
            },
          },
        },
      ],
    },
  } as const;
}

export const EXTERNAL_SECRETS_CRDS = [
  crd('ExternalSecret', 'externalsecrets', 'Namespaced', 'es', externalSecretSpec),
  crd('SecretStore', 'secretstores', 'Namespaced', 'ss', storeSpec),
  crd('ClusterSecretStore', 'clustersecretstores', 'Cluster', 'css', storeSpec),
];
