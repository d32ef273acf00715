import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { CHARSETS, generateSecret } from '../../../src/vault/generate-secret.ts';

describe('generateSecret', () => {
  it('draws exactly `length` characters, all from the charset', () => {
    for (const charset of Object.keys(CHARSETS) as Array<keyof typeof CHARSETS>) {
      const value = generateSecret(40, charset);
      expect(value).toHaveLength(40);
      expect([...value].every((char) => CHARSETS[charset].includes(char)), charset).toBe(true);
    }
  });

  it('is uniform over the charset: no character favoured (a modulo of random bytes would be)', () => {
    // 62 characters: a byte % 62 makes the first 8 about 25 % more likely than the rest.
    const alphabet = CHARSETS.alphanumeric;
    const counts = new Map<string, number>();
    const draws = 200_000;
    for (const char of generateSecret(draws, 'alphanumeric')) counts.set(char, (counts.get(char) ?? 0) + 1);
    const expected = draws / alphabet.length;
    const chiSquare = [...alphabet].reduce((sum, char) => sum + ((counts.get(char) ?? 0) - expected) ** 2 / expected, 0);
    // 61 degrees of freedom: mean 61, and 200 is beyond any chance of a fair draw (p < 1e-15);
    // the modulo bias above gives a chi-square in the thousands at this size.
    expect(chiSquare).toBeLessThan(200);
  });

  it('`symbols` keeps its promise: no quoting in a URL\'s userinfo or as a plain YAML value, whatever character comes first', () => {
    // RFC 3986 userinfo: unreserved and sub-delims. Go's url.Parse refuses anything else
    // ("invalid userinfo"), e.g. `^`, in a DATABASE_URL built by concatenation.
    const userinfo = /^[A-Za-z0-9\-._~!$&'()*+,;=]+$/;
    for (const char of CHARSETS.symbols) {
      const value = `${char}${generateSecret(20, 'alphanumeric')}`;
      expect(userinfo.test(value), `${char} in a URL's userinfo`).toBe(true);
      // A value starting with `!` would be read as a YAML tag, not as the password.
      expect((parseYaml(`password: ${value}`) as { password: unknown }).password, `${char} first in plain YAML`).toBe(value);
    }
  });

  it('never repeats a value', () => {
    const values = new Set(Array.from({ length: 1000 }, () => generateSecret(16, 'hex')));
    expect(values.size).toBe(1000);
  });
});
