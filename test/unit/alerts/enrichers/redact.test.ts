import { describe, expect, it } from 'vitest';
import { DEFAULT_REDACT_PATTERNS, enrichmentSchema } from '../../../../alerts/enrichers/enrichment-config.ts';
import { REDACT_LINE_MAX, createRedactor } from '../../../../alerts/enrichers/redact.ts';

const { redact } = createRedactor(DEFAULT_REDACT_PATTERNS);

describe('default redaction', () => {
  it.each([
    ['bearer tokens, keeping the scheme', 'GET /api 401 Authorization: Bearer abc123def456ghi789.jkl', 'GET /api 401 Authorization: Bearer [REDACTED]'],
    ['bearer tokens in any case and after =', 'token_type=bearer=Zm9vYmFyYmF6cXV4', 'token_type=bearer=[REDACTED]'],
    ['passwords in URLs, keeping user and host', 'connecting to postgres://shop:S3cr3t!@db.internal:5432/shop', 'connecting to postgres://shop:[REDACTED]@db.internal:5432/shop'],
    ['passwords in URLs without a user name', 'redis://:hunter2@redis:6379/0', 'redis://:[REDACTED]@redis:6379/0'],
    ['AWS access key ids', 'using credentials AKIAIOSFODNN7EXAMPLE from env', 'using credentials [REDACTED] from env'],
    ['temporary AWS access key ids', 'key=ASIAY34FZKBOKMUTVV7A', 'key=[REDACTED]'],
    ['aws_secret_access_key assignments', 'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'aws_secret_access_key = [REDACTED]'],
    ['aws_secret_access_key in JSON', '{"AWS_SECRET_ACCESS_KEY":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}', '{"AWS_SECRET_ACCESS_KEY":"[REDACTED]"}'],
    [
      'JWTs',
      'session eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U expired',
      'session [REDACTED] expired',
    ],
    [
      'PEM private keys on one line',
      'key=-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY----- loaded',
      'key=[REDACTED] loaded',
    ],
    ['EC private keys cut off before their END line', 'pem: -----BEGIN EC PRIVATE KEY----- MHcCAQEEIDe', 'pem: [REDACTED]'],
  ])('%s', (_name, input, expected) => {
    expect(redact(input)).toBe(expected);
  });

  it('redacts a PEM block spread over lines, line for line', () => {
    const text = ['a', '-----BEGIN OPENSSH PRIVATE KEY-----', 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmU', '-----END OPENSSH PRIVATE KEY-----', 'z'].join('\n');
    expect(redact(text)).toBe(['a', '[REDACTED]', '[REDACTED]', '[REDACTED]', 'z'].join('\n'));
  });

  it.each([
    'level=error msg="connection refused" addr=10.0.2.15:5432 retry=3',
    'GET https://api.example.com/v1/carts/42?page=2 200 15ms',
    'panic: runtime error: index out of range [3] with length 3',
    'user alice@example.com logged in from 203.0.113.7',
    'java.lang.OutOfMemoryError: Java heap space at com.shop.Cart.load(Cart.java:88)',
    'the bearer of bad news',
    'eyJ is how base64 JSON starts',
    '-----BEGIN CERTIFICATE----- MIIB (certificates are public)',
    'http://host:8080/path@v2 is not a password',
  ])('keeps ordinary text: %s', (line) => {
    expect(redact(line)).toBe(line);
  });

  // Any workload writes log lines, and Loki keeps lines of 256 KB: one crafted line must not hold
  // the event loop (webhooks, Slack acks) for minutes, as backtracking lookbehinds would.
  it.each([
    ['a run of spaces', `x${' '.repeat(300_000)}y`],
    ['a run of colons', `a${':'.repeat(300_000)}`],
    ['spaces after aws_secret_access_key', `aws_secret_access_key${' '.repeat(300_000)}`],
    ['repeated JWT starts', 'eyJ-'.repeat(75_000)],
  ])('redacts %s of 300 KB in one pass, cutting the line at a length nobody is shown', (_name, line) => {
    const out = redact(`${line}\nAuthorization: Bearer abcdefgh12345678`);
    const [first, second] = out.split('\n');
    expect(first!.length).toBeLessThanOrEqual(REDACT_LINE_MAX);
    expect(first!.endsWith('…')).toBe(true);
    expect(second).toBe('Authorization: Bearer [REDACTED]');
  });

  it('still finds a bearer token after a long run of spaces', () => {
    expect(redact(`Bearer${' '.repeat(1000)}abcdefgh12345678 ok`)).toBe(`Bearer${' '.repeat(1000)}[REDACTED] ok`);
  });

  it('applies configured patterns instead of the defaults, with (?i) for case-insensitive', () => {
    const config = enrichmentSchema.parse({ redact: ['(?i)x-api-key: *\\S+', 'sk_live_[0-9a-zA-Z]{8,}'] });
    const custom = createRedactor(config.redact);
    expect(custom.redact('X-API-KEY: 123456 and sk_live_abcdefgh1234 and Bearer keptbecausenotconfigured')).toBe(
      '[REDACTED] and [REDACTED] and Bearer keptbecausenotconfigured',
    );
  });
});
