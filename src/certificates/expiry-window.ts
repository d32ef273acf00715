/**
 * How soon an expiry counts as a warning, where no setting says otherwise: 21 days, the default of
 * `certificates.scan.warnWithin` (the scanner's digest and `/ops certs`' highlighting agree).
 */
export const DEFAULT_WARN_WITHIN_MS = 21 * 86_400_000;

/** Under a week left: urgent whatever the warning window. */
export const URGENT_WITHIN_MS = 7 * 86_400_000;

/** How an expiry stands at `now`. */
export type ExpiryLevel = 'expired' | 'urgent' | 'warning' | 'ok';

export function expiryLevel(notAfter: number, now: number, warnWithinMs: number): ExpiryLevel {
  const left = notAfter - now;
  if (left <= 0) return 'expired';
  if (left < URGENT_WITHIN_MS) return 'urgent';
  if (left < warnWithinMs) return 'warning';
  return 'ok';
}

/** "2026-11-30 10:00 UTC": to the minute, as the lists show times. */
export function utcMinute(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
