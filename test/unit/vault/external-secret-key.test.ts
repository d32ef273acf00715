import { describe, expect, it } from 'vitest';
import { externalSecretReadPath } from '../../../src/vault/external-secret-key.ts';

describe('externalSecretReadPath: the Vault path External Secrets reads for a key', () => {
  it.each([
    ['payments/db', { path: 'secret', version: 'v2' }, 'secret/data/payments/db'],
    ['secret/payments/db', { path: 'secret' }, 'secret/data/payments/db'],
    ['secret/data/payments/db', { path: 'secret' }, 'secret/data/payments/db'],
    ['secret/payments/db', {}, 'secret/data/payments/db'],
    ['secret/data/payments/db', {}, 'secret/data/payments/db'],
    ['payments/db', {}, 'payments/data/db'],
    ['team/payments/db', { path: 'kv/team' }, 'kv/team/data/team/payments/db'],
  ])('%s through %j → %s', (key, store, expected) => {
    expect(externalSecretReadPath(key, store)).toBe(expected);
  });

  it('nothing for a KV v1 store', () => {
    expect(externalSecretReadPath('secret/payments/db', { path: 'secret', version: 'v1' })).toBeUndefined();
  });
});
