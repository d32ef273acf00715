/**
 * A minimal stand-in for cert-manager's `Certificate` CRD (cert-manager.io/v1), written for
 * these tests: the fields Lookout reads are typed, everything else is kept as sent, so tests
 * can write realistic objects without the real (very large) schema. Status is a subresource,
 * as in cert-manager, so tests write it with PUT/PATCH …/status.
 */
export const CERTIFICATE_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'certificates.cert-manager.io' },
  spec: {
    group: 'cert-manager.io',
    scope: 'Namespaced',
    names: {
      kind: 'Certificate',
      listKind: 'CertificateList',
      plural: 'certificates',
      singular: 'certificate',
      shortNames: ['cert', 'certs'],
      categories: ['cert-manager'],
    },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
          { name: 'Secret', type: 'string', jsonPath: '.spec.secretName' },
          { name: 'Expires', type: 'date', jsonPath: '.status.notAfter' },
        ],
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              apiVersion: { type: 'string' },
              kind: { type: 'string' },
              metadata: { type: 'object' },
              spec: {
                type: 'object',
                required: ['secretName', 'issuerRef'],
                'x-kubernetes-preserve-unknown-fields': true,
                properties: {
                  secretName: { type: 'string', minLength: 1 },
                  commonName: { type: 'string' },
                  dnsNames: { type: 'array', items: { type: 'string' } },
                  duration: { type: 'string' },
                  renewBefore: { type: 'string' },
                  issuerRef: {
                    type: 'object',
                    required: ['name'],
                    properties: {
                      name: { type: 'string', minLength: 1 },
                      kind: { type: 'string' },
                      group: { type: 'string' },
                    },
                  },
                },
              },
              status: {
                type: 'object',
                'x-kubernetes-preserve-unknown-fields': true,
                properties: {
                  notBefore: { type: 'string', format: 'date-time' },
                  notAfter: { type: 'string', format: 'date-time' },
                  renewalTime: { type: 'string', format: 'date-time' },
                  revision: { type: 'integer' },
                  conditions: {
                    type: 'array',
                    'x-kubernetes-list-type': 'map',
                    'x-kubernetes-list-map-keys': ['type'],
                    items: {
                      type: 'object',
                      required: ['type', 'status'],
                      properties: {
                        type: { type: 'string' },
                        status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
                        reason: { type: 'string' },
                        message: { type: 'string' },
                        lastTransitionTime: { type: 'string', format: 'date-time' },
                        observedGeneration: { type: 'integer' },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    ],
  },
} as const;
