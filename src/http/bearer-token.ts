import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Whether an Authorization header carries exactly `Bearer <expected>`. Both sides are hashed
 * first so the comparison takes the same time whatever the lengths, leaking nothing about
 * the token.
 */
export function hasBearerToken(header: string | undefined, expected: string): boolean {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? '');
  const presented = match?.[1] ?? '';
  return timingSafeEqual(digest(presented), digest(expected)) && presented.length > 0;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
