import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { KubeCredentialsError, type KubeCredentials } from '../../../src/kube/kube-credentials.ts';
import { readKubeconfig } from '../../../src/kube/kube-credentials-kubeconfig.ts';
import { ManualClock } from '../../helpers/fakes.ts';

const b64 = (text: string): string => Buffer.from(text).toString('base64');

describe('readKubeconfig', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lookout-kubeconfig-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Writes a kubeconfig whose current context is `main`, with the given cluster and user fields. */
  function kubeconfig(cluster: Record<string, unknown>, user: Record<string, unknown>, extra: Record<string, unknown> = {}, file = join(dir, 'config')): string {
    const document = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: 'other', cluster: { server: 'https://other.example:6443' } },
        { name: 'prod', cluster: { server: 'https://prod.example:6443', ...cluster } },
      ],
      users: [
        { name: 'someone-else', user: { token: 'not-this-one' } },
        { name: 'bot', user },
      ],
      contexts: [
        { name: 'unused', context: { cluster: 'other', user: 'someone-else' } },
        { name: 'main', context: { cluster: 'prod', user: 'bot' } },
      ],
      'current-context': 'main',
      ...extra,
    };
    writeFileSync(file, stringify(document));
    return file;
  }

  function credentialsOf(file: string, clock = new ManualClock()): KubeCredentials {
    const read = readKubeconfig(file, { now: clock.now });
    if (read.kind !== 'credentials') throw new Error('expected credentials, got a plugin');
    return read.credentials;
  }

  async function applied(credentials: KubeCredentials): Promise<RequestOptions> {
    const options: RequestOptions = { headers: { accept: 'application/json' } };
    await credentials.apply(options);
    return options;
  }

  it('applies the current context: inline CA, client certificate and key, tls-server-name', async () => {
    const file = kubeconfig(
      { 'certificate-authority-data': b64('CA-PEM'), 'tls-server-name': 'kubernetes.default' },
      { 'client-certificate-data': b64('CERT-PEM'), 'client-key-data': b64('KEY-PEM') },
    );
    const credentials = credentialsOf(file);
    expect(credentials.server.href).toBe('https://prod.example:6443/');
    const options = await applied(credentials);
    expect(String(options.ca)).toBe('CA-PEM');
    expect(String(options.cert)).toBe('CERT-PEM');
    expect(String(options.key)).toBe('KEY-PEM');
    expect(options.servername).toBe('kubernetes.default');
    expect(options.rejectUnauthorized).toBeUndefined();
    expect(options.headers).toEqual({ accept: 'application/json' });
  });

  it('reads certificate files relative to the kubeconfig directory, not the working directory', async () => {
    mkdirSync(join(dir, 'pki'));
    writeFileSync(join(dir, 'pki', 'ca.crt'), 'CA-FROM-FILE');
    writeFileSync(join(dir, 'pki', 'bot.crt'), 'CERT-FROM-FILE');
    writeFileSync(join(dir, 'pki', 'bot.key'), 'KEY-FROM-FILE');
    const file = kubeconfig({ 'certificate-authority': 'pki/ca.crt' }, { 'client-certificate': './pki/bot.crt', 'client-key': join(dir, 'pki', 'bot.key') });
    const options = await applied(credentialsOf(file));
    expect(String(options.ca)).toBe('CA-FROM-FILE');
    expect(String(options.cert)).toBe('CERT-FROM-FILE');
    expect(String(options.key)).toBe('KEY-FROM-FILE');
  });

  it('prefers inline data over a file, as client-go does', async () => {
    const file = kubeconfig({ 'certificate-authority': 'missing-is-fine-when-data-wins.crt', 'certificate-authority-data': b64('CA-INLINE') }, { token: 't' });
    expect(String((await applied(credentialsOf(file))).ca)).toBe('CA-INLINE');
  });

  it('sends the token as a bearer token and honours insecure-skip-tls-verify', async () => {
    const file = kubeconfig({ 'insecure-skip-tls-verify': true }, { token: 'bot-token' });
    const options = await applied(credentialsOf(file));
    expect(options.headers).toEqual({ accept: 'application/json', authorization: 'Bearer bot-token' });
    expect(options.rejectUnauthorized).toBe(false);
    expect(options.ca).toBeUndefined();
  });

  it('reads a tokenFile (relative path, trailing newline dropped) and reads it again a minute later', async () => {
    writeFileSync(join(dir, 'token'), 'first-token\n');
    const clock = new ManualClock();
    const credentials = credentialsOf(kubeconfig({}, { tokenFile: 'token' }), clock);
    expect((await applied(credentials)).headers).toMatchObject({ authorization: 'Bearer first-token' });

    writeFileSync(join(dir, 'token'), 'second-token');
    clock.advance(59_000);
    expect((await applied(credentials)).headers).toMatchObject({ authorization: 'Bearer first-token' });
    clock.advance(1_000);
    expect((await applied(credentials)).headers).toMatchObject({ authorization: 'Bearer second-token' });
  });

  it('prefers token over tokenFile', async () => {
    const file = kubeconfig({}, { token: 'inline', tokenFile: 'does-not-exist' });
    expect((await applied(credentialsOf(file))).headers).toMatchObject({ authorization: 'Bearer inline' });
  });

  it.each([
    ['exec', { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'aws', args: ['eks', 'get-token'] } }],
    ['auth-provider', { 'auth-provider': { name: 'oidc', config: { 'id-token': 'x' } } }],
    ['basic auth', { username: 'admin', password: 'secret' }],
    ['impersonation', { token: 't', as: 'someone' }],
  ])('leaves a user with %s to the library', (_label, user) => {
    expect(readKubeconfig(kubeconfig({}, user)).kind).toBe('plugin');
  });

  describe('errors name the problem without echoing secrets', () => {
    function failure(file: string): KubeCredentialsError {
      try {
        readKubeconfig(file);
      } catch (error) {
        expect(error).toBeInstanceOf(KubeCredentialsError);
        const message = (error as Error).message;
        for (const secret of ['s3cret-token', 'S3CRET-KEY', b64('S3CRET-KEY')]) expect(message).not.toContain(secret);
        return error as KubeCredentialsError;
      }
      throw new Error('expected readKubeconfig to throw');
    }

    it('no current-context', () => {
      const file = kubeconfig({}, { token: 's3cret-token' }, { 'current-context': undefined });
      expect(failure(file).message).toBe(`kubeconfig ${file} has no current-context`);
    });

    it('a current-context that is not in the file', () => {
      const file = kubeconfig({}, { token: 's3cret-token' }, { 'current-context': 'staging' });
      expect(failure(file).message).toBe(`context "staging" is not in the contexts of kubeconfig ${file}`);
    });

    it('a file that is not YAML, without quoting it', () => {
      const file = join(dir, 'broken');
      writeFileSync(file, 'users:\n  - name: bot\n    user: { token: s3cret-token\n');
      expect(failure(file).message).toBe(`kubeconfig ${file} is not valid YAML`);
    });

    it('a missing certificate file, named by its field', () => {
      const file = kubeconfig({}, { 'client-certificate': 'nope.crt', 'client-key-data': b64('S3CRET-KEY') });
      expect(failure(file).message).toBe(`cannot read client-certificate of user "bot" in kubeconfig ${file}: ENOENT`);
    });

    it('a key without its certificate', () => {
      const file = kubeconfig({}, { 'client-key-data': b64('S3CRET-KEY') });
      expect(failure(file).message).toMatch(/user "bot" .* certificate without its key, or a key without its certificate/);
    });

    it('a cluster without a server', () => {
      const file = kubeconfig({ server: '' }, { token: 's3cret-token' });
      expect(failure(file).message).toBe(`cluster "prod" in kubeconfig ${file} has no server`);
    });

    it('a missing kubeconfig', () => {
      expect(failure(join(dir, 'absent')).message).toBe(`cannot read kubeconfig ${join(dir, 'absent')}: ENOENT`);
    });
  });
});
