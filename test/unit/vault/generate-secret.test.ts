import { describe, expect, it } from 'vitest';
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

  it('never repeats a value', () => {
    const values = new Set(Array.from({ length: 1000 }, () => generateSecret(16, 'hex')));
    expect(values.size).toBe(1000);
  });
});
