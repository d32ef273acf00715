import { describe, expect, it } from 'vitest';
import { findRule, matchesPattern, parseSecretPath, parseSecretPattern } from '../../../src/vault/secret-paths.ts';

const pattern = (text: string) => {
  const parsed = parseSecretPattern(text);
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed;
};
const path = (text: string) => {
  const parsed = parseSecretPath(text);
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed;
};

describe('Vault paths and the patterns of vault.secrets', () => {
  it('lets `*` stand for one or more segments, never none', () => {
    expect(matchesPattern(pattern('secret/payments/*'), path('secret/payments/db'))).toBe(true);
    expect(matchesPattern(pattern('secret/payments/*'), path('secret/payments/eu/db'))).toBe(true);
    expect(matchesPattern(pattern('secret/payments/*'), path('secret/payments'))).toBe(false);
    expect(matchesPattern(pattern('secret/*/db'), path('secret/a/b/db'))).toBe(true);
    expect(matchesPattern(pattern('secret/*/db'), path('secret/a/b/api'))).toBe(false);
    expect(matchesPattern(pattern('secret/payments/db'), path('secret/payments/db'))).toBe(true);
    expect(matchesPattern(pattern('secret/payments/db'), path('secret/payments/db2'))).toBe(false);
    expect(matchesPattern(pattern('secret/payments/*'), path('kv/payments/db'))).toBe(false);
  });

  it('takes the first matching rule, in the order of the config', () => {
    const rules = [{ path: 'secret/payments/special', namespace: 'a' }, { path: 'secret/payments/*', namespace: 'b' }];
    expect(findRule(rules, path('secret/payments/special'))?.namespace).toBe('a');
    expect(findRule(rules, path('secret/payments/db'))?.namespace).toBe('b');
    expect(findRule(rules, path('secret/shop/db'))).toBeUndefined();
  });

  it('refuses paths that could leave the secret: empty, dot and dot-dot segments, URL characters', () => {
    for (const bad of ['secret', 'secret//db', 'secret/../sys/seal', 'secret/./db', 'secret/db?version=1', 'secret/db%2f..', '/secret/db', 'secret/db/']) {
      expect(parseSecretPath(bad), bad).toHaveProperty('error');
    }
    expect(parseSecretPath('secret/payments/db_main-2.eu')).toEqual(['secret', 'payments', 'db_main-2.eu']);
  });

  it('refuses patterns without a mount or with partial wildcards', () => {
    expect(parseSecretPattern('*/db')).toHaveProperty('error');
    expect(parseSecretPattern('secret')).toHaveProperty('error');
    expect(parseSecretPattern('secret/pay*')).toHaveProperty('error');
    expect(parseSecretPattern('database/static-role/app')).toEqual(['database', 'static-role', 'app']);
  });
});
