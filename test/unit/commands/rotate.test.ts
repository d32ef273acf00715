import { describe, expect, it } from 'vitest';
import { createRotateCommand, parseRotate } from '../../../commands/rotate.ts';
import { InvalidInput, Unavailable } from '../../../src/errors.ts';
import type { VaultApi } from '../../../src/vault/vault-api.ts';

const rules = [{ path: 'secret/payments/*', namespace: 'payments', generate: { length: 32, charset: 'alphanumeric' as const } }];
const vault: VaultApi = {
  request: () => {
    throw new Error('Vault must not be asked');
  },
};

describe('/ops rotate arguments', () => {
  it('reads the path, keys, consumers and a roll back', () => {
    expect(parseRotate(['secret/payments/db', '--key', 'password,api_key', '--restart=deployment/api,sts/db,worker'])).toEqual({
      written: 'secret/payments/db',
      segments: ['secret', 'payments', 'db'],
      keys: ['password', 'api_key'],
      restart: ['deployment/api', 'sts/db', 'worker'],
    });
    expect(parseRotate(['secret/payments/db', '--rollback', '8'])).toMatchObject({ rollback: 8, restart: [] });
    expect(parseRotate(['database/static-role/app', '--restart', 'deployment/api'])).toMatchObject({ segments: ['database', 'static-role', 'app'] });
  });

  it('says what is wrong', () => {
    expect(parseRotate([])).toEqual({ error: 'needs a Vault path, e.g. `secret/payments/db`' });
    expect(parseRotate(['secret/../sys/seal'])).toHaveProperty('error', expect.stringContaining('is not a Vault path'));
    expect(parseRotate(['secret/payments/db', 'extra'])).toEqual({ error: 'unexpected `extra`' });
    expect(parseRotate(['secret/payments/db', '--restart', 'job/x'])).toHaveProperty('error', expect.stringMatching(/^`--restart`: `job` is not a kind this command acts on/));
    expect(parseRotate(['secret/payments/db', '--rollback', '1'])).toHaveProperty('error', expect.stringContaining('the version to undo'));
    expect(parseRotate(['secret/payments/db', '--rollback', '3', '--key', 'a'])).toHaveProperty('error', expect.stringContaining('leave out `--key`'));
    expect(parseRotate(['database/static-role/app', '--key', 'a'])).toHaveProperty('error', expect.stringContaining('static role has no keys'));
    expect(parseRotate(['secret/payments/db', '--key', 'a b'])).toHaveProperty('error', expect.stringContaining('`--key` takes key names'));
    expect(parseRotate(['secret/payments/db', '--force'])).toEqual({ error: 'unknown option `--force`' });
  });
});

describe('/ops rotate access', () => {
  const args = (path: string) => {
    const parsed = parseRotate([path]);
    if ('error' in parsed) throw new Error(parsed.error);
    return parsed;
  };

  it('is `rotate vaultsecrets.lookout.dev` named by the path as typed, in the mapped namespace', () => {
    const command = createRotateCommand({ vault, rules });
    expect(command.access?.(args('secret/payments/eu/db'), {})).toEqual({ verb: 'rotate', group: 'lookout.dev', resource: 'vaultsecrets', namespace: 'payments', name: 'secret/payments/eu/db' });
    expect(command.target?.(args('secret/payments/db'))).toEqual({ apiVersion: 'lookout.dev/v1', kind: 'VaultSecret', namespace: 'payments', name: 'secret/payments/db' });
  });

  it('refuses an unlisted path, and a missing Vault, before any review or Vault request', () => {
    const command = createRotateCommand({ vault, rules });
    expect(() => command.access?.(args('secret/shop/db'), {})).toThrow(InvalidInput);
    expect(() => command.access?.(args('secret/shop/db'), {})).toThrow('`secret/shop/db` is not a path Lookout may rotate (config `vault.secrets`), so Vault was not asked.');
    expect(() => createRotateCommand({ rules }).access?.(args('secret/payments/db'), {})).toThrow(Unavailable);
  });
});
