import { describe, expect, it } from 'vitest';
import { REDACT_LINE_MAX } from '../../alerts/enrichers/redact.ts';
import { BUILT_IN_REDACT_PATTERNS, cleanText, createSecretRedactor, stripInvisible } from '../../src/redact-secrets.ts';

const redactor = createSecretRedactor();
const { redact } = redactor;

describe('createSecretRedactor', () => {
  it.each([
    ['password=…', 'login failed: password=hunter2 user=shop', 'login failed: password=[REDACTED] user=shop'],
    ['PGPASSWORD: …', 'env PGPASSWORD: s3cr3t!', 'env PGPASSWORD: [REDACTED]'],
    ['a quoted password with spaces and commas', '{"password": "p@ss, word"} ok', '{"password": "[REDACTED]"} ok'],
    ["a single-quoted password", "passwd='a b c' next", "passwd='[REDACTED]' next"],
    ['a password in a JSON-escaped string (a log line)', String.raw`{"msg":"password=\"hunter2\" x"}`, String.raw`{"msg":"password=\"[REDACTED]\" x"}`],
    ['a password in a code span, keeping the span whole', 'Unknown command `password=hunter2`.', 'Unknown command `password=[REDACTED]`.'],
    ['bearer tokens', 'Authorization: Bearer abc123def456ghi789', 'Authorization: Bearer [REDACTED]'],
    ['URL credentials', 'postgres://shop:S3cr3t@db:5432/shop', 'postgres://shop:[REDACTED]@db:5432/shop'],
    ['AWS access key ids', 'AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE', 'AWS_ACCESS_KEY_ID=[REDACTED]'],
    ['AWS secret keys', 'aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'aws_secret_access_key=[REDACTED]'],
    ['Slack tokens', 'token xoxb-1234-5678-abcdef and xapp-1-A0-123-abc', 'token [REDACTED] and [REDACTED]'],
    ['Vault tokens', 'VAULT_TOKEN=hvs.CAESIJlongtokenvalue1234567890', 'VAULT_TOKEN=[REDACTED]'],
    ['Slack response URLs', '"response_url":"https://hooks.slack.com/commands/T0LOOKOUT/1000000000001/fakeResponseUrlSecret"', '"response_url":"https://hooks.slack.com/[REDACTED]"'],
    ['Slack response URLs, JSON-escaped', 'https:\\/\\/hooks.slack.com\\/actions\\/T0\\/1\\/s3cret', 'https:\\/\\/hooks.slack.com\\/[REDACTED]'],
  ])('redacts %s', (_name, input, expected) => {
    expect(redact(input)).toBe(expected);
  });

  it.each([
    'password reset for alice requested',
    'password=',
    'the pwd is /var/lib',
    'passwords: rotated 3 days ago',
    'scaled shop/cart from 2 to 5 replicas',
    'details.abcdefghijklmnopqrstuvwxyz is not a Vault token',
  ])('keeps ordinary text: %s', (text) => {
    expect(redact(text)).toBe(text);
  });

  it('is idempotent: redacting twice changes nothing more (renderers and the Slack boundary both run it)', () => {
    const text = 'password=hunter2 Bearer abc123def456ghi789 https://u:pw@h xoxb-1-2-3 "password": "a b"';
    expect(redact(redact(text))).toBe(redact(text));
  });

  it('keeps every character of a long line that is not a secret (unlike the enrichment redactor, which cuts)', () => {
    const line = `${'word '.repeat(20_000)}password=hunter2 ${'tail '.repeat(1000)}`;
    const out = redact(line);
    expect(out).toBe(line.replace('password=hunter2', 'password=[REDACTED]'));
    expect(line.length).toBeGreaterThan(REDACT_LINE_MAX * 20);
  });

  // Alertmanager accepts annotations of any size and a webhook may be 1 MB: each pattern must run
  // in one pass over its worst input, or one alert could hold the event loop for minutes.
  it.each([
    ['a run of spaces after password=', `password=${' '.repeat(300_000)}x`],
    ['a run of = after password', `password${'='.repeat(300_000)}`],
    ['a run of ": " after password', `password${': '.repeat(150_000)}`],
    ['an unclosed quoted password', `password="${'a'.repeat(300_000)}`],
    ['repeated xoxb- starts', 'xoxb-'.repeat(60_000)],
    ['repeated s. starts', ' s.a'.repeat(75_000)],
    ['repeated JWT starts', 'eyJ-'.repeat(75_000)],
    ['a run of colons', `a${':'.repeat(300_000)}`],
    ['one long word', 'x'.repeat(300_000)],
  ])('redacts %s of 300 KB in one pass', (_name, text) => {
    const out = redact(`${text}\nAuthorization: Bearer abcdefgh12345678`);
    expect(out.split('\n').at(-1)).toBe('Authorization: Bearer [REDACTED]');
  });

  it('stays right past its memo of short texts (emptied when full)', () => {
    const own = createSecretRedactor();
    for (let round = 0; round < 2; round += 1) {
      for (let index = 0; index < 12_000; index += 1) expect(own.redact(`pod-${index} password=p${index}`)).toBe(`pod-${index} password=[REDACTED]`);
    }
  });

  it('has built-in patterns that match no empty string (they would loop on every position)', () => {
    for (const source of BUILT_IN_REDACT_PATTERNS) expect(new RegExp(source).test('')).toBe(false);
  });
});

describe('stripInvisible and cleanText', () => {
  it('removes C0/C1 controls (not tab or newline), DEL, bidi overrides, isolates and marks', () => {
    const text = 'a\u0000b\u0007c\u001b[31m\td\ne\r\u007f\u0085f\u202aA\u202bB\u202cC\u202dD\u202eE\u2066F\u2067G\u2068H\u2069I\u200eJ\u200fK\u061cL';
    expect(stripInvisible(text)).toBe('abc[31m\td\nefABCDEFGHIJKL');
  });

  it('keeps emoji, accents and zero-width joiners', () => {
    const text = '🔥 café 👩‍💻 日本';
    expect(stripInvisible(text)).toBe(text);
  });

  it('strips a 300 KB run of overrides in one pass', () => {
    expect(stripInvisible('\u202e'.repeat(300_000))).toBe('');
  });

  it('cleanText redacts and strips', () => {
    expect(cleanText('\u202epassword=hunter2', redactor)).toBe('password=[REDACTED]');
  });
});
