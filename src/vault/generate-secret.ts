import { randomInt } from 'node:crypto';

/** The characters a generated value is drawn from, by the name `vault.secrets[].generate.charset` uses. */
export const CHARSETS = {
  alphanumeric: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',
  hex: '0123456789abcdef',
  /** base64url's alphabet: safe in URLs, file names and connection strings. */
  urlsafe: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
  /**
   * Alphanumerics and symbols that need no quoting in a shell, YAML, a URL's userinfo or a DSN.
   * Not `^` (Go's url.Parse refuses it in userinfo) nor `!` (a YAML value starting with it is a tag).
   */
  symbols: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~+=',
} as const;

export type Charset = keyof typeof CHARSETS;

/**
 * A new secret value: each character drawn independently and uniformly from the charset by
 * `crypto.randomInt`, which rejects out-of-range draws instead of taking a modulo, so no
 * character is more likely than another. The value lives only in memory until it is written.
 */
export function generateSecret(length: number, charset: Charset): string {
  const alphabet = CHARSETS[charset];
  let value = '';
  for (let i = 0; i < length; i++) value += alphabet[randomInt(alphabet.length)];
  return value;
}
