/*
 * Default redactions. Lookbehinds keep the context ("Bearer ", "aws_secret_access_key=",
 * "user:") so a reader still sees what was there; only the secret itself is replaced. A
 * lookahead for the secret's first character comes first, so the lookbehind only runs where a
 * secret could start: run at every position of a long run of spaces or colons, it would
 * backtrack over the whole run each time (quadratic; seconds for one long log line).
 */
export const DEFAULT_REDACT_PATTERNS: readonly string[] = [
  // Authorization headers and tokens in any case: "Bearer abc.def", "bearer=abc".
  String.raw`(?=[A-Za-z0-9\-._~+/])(?<=\b(?i:bearer)[\s=:]+)[A-Za-z0-9\-._~+/]{8,}=*`,
  // scheme://user:password@host — the password only.
  String.raw`(?<=\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*:)[^\s@/]+(?=@)`,
  // AWS access key ids (long-term AKIA…, temporary ASIA…).
  String.raw`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`,
  // aws_secret_access_key = …, in env, INI, JSON or YAML spelling.
  String.raw`(?=[A-Za-z0-9/+=])(?<=(?i:aws_secret_access_key)["']?\s*[:=]\s*["']?)[A-Za-z0-9/+=]{16,}`,
  // JSON Web Tokens: base64url header (always starts {"  → eyJ), payload and signature. Only
  // where a base64url run starts: "eyJ-eyJ-…" must not start a scan at every eyJ.
  String.raw`(?<![A-Za-z0-9_\-])eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*`,
  // PEM private keys, through the END line — or to the end of the text when it was cut off.
  String.raw`-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)`,
];

/**
 * Compiles one redaction pattern (global). A leading `(?i)` — Go and PCRE spelling, familiar
 * from Prometheus and Loki — becomes the `i` flag; `(?i:…)` groups work as JavaScript has them.
 */
export function compilePattern(source: string): RegExp {
  return source.startsWith('(?i)') ? new RegExp(source.slice(4), 'gi') : new RegExp(source, 'g');
}
