import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KubeCredentials } from '../../../src/kube/kube-credentials.ts';
import { inClusterCredentials } from '../../../src/kube/kube-credentials-in-cluster.ts';
import { ManualClock } from '../../helpers/fakes.ts';

describe('inClusterCredentials', () => {
  let serviceAccountDir: string;
  beforeEach(() => {
    serviceAccountDir = mkdtempSync(join(tmpdir(), 'lookout-sa-'));
    writeFileSync(join(serviceAccountDir, 'ca.crt'), 'CLUSTER-CA');
    writeFileSync(join(serviceAccountDir, 'token'), 'token-1');
  });
  afterEach(() => rmSync(serviceAccountDir, { recursive: true, force: true }));

  const env = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };

  async function authorization(credentials: KubeCredentials): Promise<unknown> {
    const options: RequestOptions = {};
    await credentials.apply(options);
    return (options.headers as Record<string, unknown>).authorization;
  }

  it('talks to the service host over HTTPS with the mounted CA and token', async () => {
    const credentials = inClusterCredentials({ env, serviceAccountDir });
    expect(credentials.server.href).toBe('https://10.96.0.1/');
    const options: RequestOptions = {};
    await credentials.apply(options);
    expect(String(options.ca)).toBe('CLUSTER-CA');
    expect(options.headers).toEqual({ authorization: 'Bearer token-1' });
  });

  it('brackets an IPv6 service host', () => {
    expect(inClusterCredentials({ env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' }, serviceAccountDir }).server.host).toBe('[fd00::1]:6443');
  });

  it('reads the rotated token once the last read is a minute old, not before', async () => {
    const clock = new ManualClock();
    const credentials = inClusterCredentials({ env, serviceAccountDir, now: clock.now });
    expect(await authorization(credentials)).toBe('Bearer token-1');

    writeFileSync(join(serviceAccountDir, 'token'), 'token-2');
    clock.advance(30_000);
    expect(await authorization(credentials)).toBe('Bearer token-1');
    clock.advance(30_000);
    expect(await authorization(credentials)).toBe('Bearer token-2');

    // The minute restarts at the re-read: the next rotation waits for it.
    writeFileSync(join(serviceAccountDir, 'token'), 'token-3');
    clock.advance(59_999);
    expect(await authorization(credentials)).toBe('Bearer token-2');
    clock.advance(1);
    expect(await authorization(credentials)).toBe('Bearer token-3');
  });

  it('fails at start, naming the file, when no token is mounted', () => {
    rmSync(join(serviceAccountDir, 'token'));
    expect(() => inClusterCredentials({ env, serviceAccountDir })).toThrow(`cannot read the service account's token ${join(serviceAccountDir, 'token')}: ENOENT`);
  });
});
