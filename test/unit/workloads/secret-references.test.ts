import { describe, expect, it } from 'vitest';
import { secretReferences } from '../../../src/workloads/secret-references.ts';

describe('secretReferences: the Secrets a pod spec uses', () => {
  it('finds volumes, projected sources, env, envFrom, and init containers, and not image pull secrets', () => {
    const uses = secretReferences({
      volumes: [
        { name: 'creds', secret: { secretName: 'a' } },
        { name: 'all', projected: { sources: [{ secret: { name: 'b' } }, { configMap: { name: 'a' } } as never] } },
        { name: 'cfg', configMap: { name: 'c' } } as never,
      ],
      initContainers: [{ name: 'migrate', env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'c' } } }] }],
      containers: [{ name: 'api', envFrom: [{ secretRef: { name: 'd' } }, { configMapRef: { name: 'e' } } as never] }],
      imagePullSecrets: [{ name: 'registry' }],
    } as never);
    expect(Object.fromEntries(uses)).toEqual({
      a: ['secret volume creds'],
      b: ['projected volume all'],
      c: ['init container migrate: env DB_PASSWORD'],
      d: ['container api: envFrom'],
    });
  });
});
