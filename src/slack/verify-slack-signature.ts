import { createHmac, timingSafeEqual } from 'node:crypto';

/** What {@link verifySlackSignature} needs: the secret, the untouched body and the two headers. */
export interface SlackSignatureInput {
  /** The app's signing secret (Slack app settings → Basic Information). */
  readonly signingSecret: string;
  /** The request body exactly as received; parsing first changes the bytes and breaks the signature. */
  readonly rawBody: string | Uint8Array;
  /** `X-Slack-Request-Timestamp`; Node hands duplicated headers over as an array, which is rejected. */
  readonly timestampHeader: string | readonly string[] | undefined;
  /** `X-Slack-Signature`, `v0=<hex HMAC-SHA256>`. */
  readonly signatureHeader: string | readonly string[] | undefined;
  /** The current time in milliseconds; passed in so the check is pure and testable. */
  readonly nowMs: number;
  /** How far the timestamp may be from `nowMs`, in either direction. Slack recommends five minutes. */
  readonly maxSkewSeconds?: number;
}

/** Why a request was refused. Short on purpose: never the secret, never the expected signature. */
export type SlackSignatureFailure =
  | 'no signing secret configured'
  | 'missing timestamp'
  | 'malformed timestamp'
  | 'stale timestamp'
  | 'timestamp in the future'
  | 'missing signature'
  | 'signature mismatch';

/** The verdict: a failure carries a reason for logs and metrics, not for the caller's response body. */
export type SlackSignatureResult = { readonly ok: true } | { readonly ok: false; readonly reason: SlackSignatureFailure };

/** Slack's recommended replay window, in seconds. */
export const DEFAULT_MAX_SKEW_SECONDS = 300;

// Unix seconds, digits only: rejects signs, decimals, exponents and hex that Number() would accept.
const TIMESTAMP = /^\d{1,15}$/;

/**
 * Checks a request against Slack's v0 signing scheme: HMAC-SHA256 over `v0:<timestamp>:<body>`,
 * keyed with the signing secret, sent as `v0=<hex>`. The timestamp is checked first, in both
 * directions (Bolt's check, which Lookout turns off, lets future timestamps through, which stretches the replay window),
 * and the signatures are compared in constant time.
 */
export function verifySlackSignature(input: SlackSignatureInput): SlackSignatureResult {
  const { signingSecret, rawBody, timestampHeader, signatureHeader, nowMs } = input;
  const maxSkewSeconds = input.maxSkewSeconds ?? DEFAULT_MAX_SKEW_SECONDS;

  // An empty key still yields an HMAC, one anybody can compute: refuse rather than accept it.
  if (signingSecret === '') return fail('no signing secret configured');

  if (timestampHeader === undefined || timestampHeader === '') return fail('missing timestamp');
  if (typeof timestampHeader !== 'string' || !TIMESTAMP.test(timestampHeader)) return fail('malformed timestamp');
  const skewSeconds = nowMs / 1000 - Number(timestampHeader);
  if (skewSeconds > maxSkewSeconds) return fail('stale timestamp');
  if (skewSeconds < -maxSkewSeconds) return fail('timestamp in the future');

  if (signatureHeader === undefined || signatureHeader === '') return fail('missing signature');
  if (typeof signatureHeader !== 'string') return fail('signature mismatch');

  const expected = Buffer.from(`v0=${slackSignatureHex(signingSecret, timestampHeader, rawBody)}`);
  const received = Buffer.from(signatureHeader);
  // timingSafeEqual throws on unequal lengths; a signature of the wrong length is simply wrong.
  if (received.length !== expected.length || !timingSafeEqual(received, expected)) return fail('signature mismatch');
  return { ok: true };
}

// The test signer (test/support/sign-slack-request.ts) computes this on its own, on purpose: a
// shared helper would let one mistake sign and verify consistently and still be wrong.
function slackSignatureHex(signingSecret: string, timestamp: string, rawBody: string | Uint8Array): string {
  return createHmac('sha256', signingSecret).update(`v0:${timestamp}:`).update(rawBody).digest('hex');
}

function fail(reason: SlackSignatureFailure): SlackSignatureResult {
  return { ok: false, reason };
}
