import { describe, expect, it } from 'vitest';
import { hasBearerToken } from '../../../src/http/bearer-token.ts';

describe('hasBearerToken', () => {
  const token = 'abcdefghijklmnop';
  it.each([
    [`Bearer ${token}`, true],
    [`bearer ${token}`, true],
    [`Bearer ${token}x`, false],
    [`Bearer ${token.slice(1)}`, false],
    [`Basic ${token}`, false],
    [token, false],
    ['Bearer ', false],
    ['', false],
    [undefined, false],
  ])('%s → %s', (header, expected) => {
    expect(hasBearerToken(header, token)).toBe(expected);
  });
});
