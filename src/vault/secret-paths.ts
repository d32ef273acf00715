/**
 * Vault paths as people write them (`secret/payments/db`: the mount, then the secret's path in
 * it) and the config's patterns of them (`secret/payments/*`). Both are checked strictly, since a
 * path ends up in a Vault URL: no empty, `.` or `..` segments, no characters that URL-encode.
 */

const SEGMENT = /^[A-Za-z0-9_.-]{1,128}$/;
const MAX_SEGMENTS = 32;

/** A pattern from `vault.secrets[].path`, split into segments; `*` stands for one or more segments. */
export type SecretPattern = readonly string[];

/** A typed path, or why it is not one. */
export function parseSecretPath(text: string): string[] | { error: string } {
  const segments = text.split('/');
  if (segments.length < 2) return { error: `\`${text}\` is not a Vault path: write \`<mount>/<path>\`, e.g. \`secret/payments/db\`` };
  if (segments.length > MAX_SEGMENTS) return { error: `a Vault path has at most ${MAX_SEGMENTS} segments` };
  const bad = segments.find((segment) => !validSegment(segment));
  if (bad !== undefined) return { error: `\`${text}\` is not a Vault path: each segment is letters, digits, \`.\`, \`_\` or \`-\` (not \`${bad}\`)` };
  return segments;
}

/** A configured pattern, or why it is not one (reported by the config loader). */
export function parseSecretPattern(text: string): SecretPattern | { error: string } {
  const segments = text.split('/');
  if (segments.length < 2) return { error: 'must be `<mount>/<path>`, e.g. secret/payments/*' };
  if (segments[0] === '*') return { error: 'must start with the mount, not `*`' };
  if (segments.length > MAX_SEGMENTS) return { error: `has more than ${MAX_SEGMENTS} segments` };
  if (segments.some((segment) => segment !== '*' && !validSegment(segment))) return { error: 'each segment must be `*` or letters, digits, `.`, `_` or `-`' };
  return segments;
}

/** Whether `path` matches `pattern`: segments equal, each `*` standing for one or more segments. */
export function matchesPattern(pattern: SecretPattern, path: readonly string[]): boolean {
  const match = (p: number, s: number): boolean => {
    if (p === pattern.length) return s === path.length;
    if (pattern[p] === '*') {
      for (let end = s + 1; end <= path.length; end++) if (match(p + 1, end)) return true;
      return false;
    }
    return s < path.length && pattern[p] === path[s] && match(p + 1, s + 1);
  };
  return match(0, 0);
}

/** The first rule whose pattern matches the path (rules are tried in the config's order). */
export function findRule<Rule extends { path: string }>(rules: readonly Rule[], path: readonly string[]): Rule | undefined {
  return rules.find((rule) => {
    const pattern = parseSecretPattern(rule.path);
    return !('error' in pattern) && matchesPattern(pattern, path);
  });
}

function validSegment(segment: string): boolean {
  return SEGMENT.test(segment) && segment !== '.' && segment !== '..';
}
