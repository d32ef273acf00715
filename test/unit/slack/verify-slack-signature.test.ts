import { describe, expect, it } from 'vitest';
import { verifySlackSignature } from '../../../src/slack/verify-slack-signature.ts';
import type { SlackSignatureInput } from '../../../src/slack/verify-slack-signature.ts';
import { signSlackRequest } from '../../support/sign-slack-request.ts';

// Slack's documented example ("Verifying requests from Slack").
const DOC_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const DOC_TIMESTAMP = '1531420618';
const DOC_BODY =
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V' +
  '&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=' +
  '&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN' +
  '&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
const DOC_SIGNATURE = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';

const SECRET = 'lookout-test-signing-secret';
const NOW_S = 1_700_000_000;
const BODY = 'command=%2Fops&text=whoami';

function signed(overrides: Partial<SlackSignatureInput> = {}): SlackSignatureInput {
  const headers = signSlackRequest(SECRET, BODY, NOW_S);
  return {
    signingSecret: SECRET,
    rawBody: BODY,
    timestampHeader: headers['x-slack-request-timestamp'],
    signatureHeader: headers['x-slack-signature'],
    nowMs: NOW_S * 1000,
    ...overrides,
  };
}

describe('verifySlackSignature', () => {
  it("accepts Slack's documented example", () => {
    const result = verifySlackSignature({
      signingSecret: DOC_SECRET,
      rawBody: DOC_BODY,
      timestampHeader: DOC_TIMESTAMP,
      signatureHeader: DOC_SIGNATURE,
      nowMs: Number(DOC_TIMESTAMP) * 1000 + 30_000,
    });
    expect(result).toEqual({ ok: true });
  });

  it('accepts a good signature, over a string or a byte body', () => {
    expect(verifySlackSignature(signed())).toEqual({ ok: true });
    expect(verifySlackSignature(signed({ rawBody: Buffer.from(BODY) }))).toEqual({ ok: true });
  });

  it('rejects a tampered body', () => {
    expect(verifySlackSignature(signed({ rawBody: BODY.replace('whoami', 'scale') }))).toEqual({ ok: false, reason: 'signature mismatch' });
  });

  it('rejects a signature made with another secret', () => {
    expect(verifySlackSignature(signed({ signingSecret: `${SECRET}x` }))).toEqual({ ok: false, reason: 'signature mismatch' });
  });

  it('rejects a re-signed timestamp that does not match the signature', () => {
    expect(verifySlackSignature(signed({ timestampHeader: String(NOW_S - 1) }))).toEqual({ ok: false, reason: 'signature mismatch' });
  });

  it('rejects timestamps more than five minutes old, and accepts exactly five', () => {
    expect(verifySlackSignature(signed({ nowMs: (NOW_S + 301) * 1000 }))).toEqual({ ok: false, reason: 'stale timestamp' });
    expect(verifySlackSignature(signed({ nowMs: (NOW_S + 300) * 1000 }))).toEqual({ ok: true });
  });

  it('rejects timestamps more than five minutes in the future', () => {
    expect(verifySlackSignature(signed({ nowMs: (NOW_S - 301) * 1000 }))).toEqual({ ok: false, reason: 'timestamp in the future' });
    expect(verifySlackSignature(signed({ nowMs: (NOW_S - 300) * 1000 }))).toEqual({ ok: true });
  });

  it('honours a custom skew', () => {
    expect(verifySlackSignature(signed({ nowMs: (NOW_S + 61) * 1000, maxSkewSeconds: 60 }))).toEqual({ ok: false, reason: 'stale timestamp' });
  });

  it.each([
    ['missing', undefined, 'missing timestamp'],
    ['empty', '', 'missing timestamp'],
    ['non-numeric', 'yesterday', 'malformed timestamp'],
    ['decimal', `${NOW_S}.5`, 'malformed timestamp'],
    ['signed', `+${NOW_S}`, 'malformed timestamp'],
    ['exponent', '1.7e9', 'malformed timestamp'],
    ['duplicated', [String(NOW_S), String(NOW_S)], 'malformed timestamp'],
  ] as const)('rejects a %s timestamp header', (_label, timestampHeader, reason) => {
    expect(verifySlackSignature(signed({ timestampHeader }))).toEqual({ ok: false, reason });
  });

  it.each([
    ['missing', undefined, 'missing signature'],
    ['empty', '', 'missing signature'],
    ['truncated', 'v0=abc', 'signature mismatch'],
    ['unprefixed', signSlackRequest(SECRET, BODY, NOW_S)['x-slack-signature'].slice(3), 'signature mismatch'],
    ['upper-cased', signSlackRequest(SECRET, BODY, NOW_S)['x-slack-signature'].toUpperCase(), 'signature mismatch'],
    // Same byte length as a real signature, different string length: must not throw in timingSafeEqual.
    ['multi-byte', `v0=${'é'.repeat(32)}`, 'signature mismatch'],
    ['duplicated', ['v0=a', 'v0=b'], 'signature mismatch'],
  ] as const)('rejects a %s signature header without throwing', (_label, signatureHeader, reason) => {
    expect(verifySlackSignature(signed({ signatureHeader }))).toEqual({ ok: false, reason });
  });

  it('refuses to verify with an empty signing secret, even against a matching signature', () => {
    const headers = signSlackRequest('', BODY, NOW_S);
    const result = verifySlackSignature(
      signed({ signingSecret: '', timestampHeader: headers['x-slack-request-timestamp'], signatureHeader: headers['x-slack-signature'] }),
    );
    expect(result).toEqual({ ok: false, reason: 'no signing secret configured' });
  });

  it('checks the timestamp before the signature, so replays are named as such', () => {
    expect(verifySlackSignature(signed({ signatureHeader: 'v0=bad', nowMs: (NOW_S + 3600) * 1000 }))).toEqual({
      ok: false,
      reason: 'stale timestamp',
    });
  });

  it('never puts the secret or the expected signature in the reason', () => {
    const expected = signSlackRequest(SECRET, BODY.replace('whoami', 'scale'), NOW_S)['x-slack-signature'];
    const result = verifySlackSignature(signed({ rawBody: BODY.replace('whoami', 'scale') }));
    const text = JSON.stringify(result);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(expected.slice(3));
  });
});
