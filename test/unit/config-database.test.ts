import { describe, expect, it } from 'vitest';
import { checkConfig } from '../../src/check-config.ts';
import { loadConfig } from '../../src/config.ts';
import { ConfigError } from '../../src/errors.ts';
import { redactDatabaseUrl } from '../../src/state/postgres-connection.ts';

const PASSWORD = 's3cret-Pa55word';
const base = { LOOKOUT_WEBHOOK_TOKEN: 'a-webhook-token-of-some-length' };
const files: Record<string, string> = { '/run/secrets/db-password': `${PASSWORD}\n`, '/run/secrets/empty': '  \n' };
const readFile = (path: string): string => {
  const content = files[path];
  if (content === undefined) throw Object.assign(new Error(`ENOENT: no such file, open '${path}'`), { code: 'ENOENT' });
  return content;
};
const load = (env: Record<string, string>) => loadConfig({ ...base, ...env }, readFile);

function problemsOf(env: Record<string, string>): string {
  try {
    load(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems.join('\n');
  }
  throw new Error('expected a ConfigError');
}

describe('config: the PostgreSQL state store', () => {
  it('without LOOKOUT_DATABASE_URL: SQLite at LOOKOUT_STATE, no database', () => {
    const config = load({ LOOKOUT_STATE: '/var/lib/lookout/state.db' });
    expect(config.database).toBeUndefined();
    expect(config.statePath).toBe('/var/lib/lookout/state.db');
  });

  it.each(['postgres://lookout@db.example:5432/lookout', 'postgresql://lookout@db.example/lookout?sslmode=verify-full&sslrootcert=/etc/ca.crt'])('selects PostgreSQL with %s', (url) => {
    const config = load({ LOOKOUT_DATABASE_URL: url, LOOKOUT_DATABASE_PASSWORD_FILE: '/run/secrets/db-password', LOOKOUT_DATABASE_POOL_SIZE: '4' });
    expect(config.database).toEqual({ url, passwordFile: '/run/secrets/db-password', poolSize: 4 });
  });

  it('pool size defaults to 10', () => {
    expect(load({ LOOKOUT_DATABASE_URL: 'postgres://u@h/d' }).database?.poolSize).toBe(10);
  });

  it.each([
    ['mysql://u:' + PASSWORD + '@h/d', /scheme "mysql:"; expected postgres:\/\/ or postgresql:\/\//],
    ['postgres://u:' + PASSWORD + '@h', /names no database/],
    ['not a url ' + PASSWORD, /is not a URL/],
    ['postgres://u:' + PASSWORD + '@h/d?sslmode=sometimes', /sslmode="sometimes"; expected disable/],
  ])('refuses %s, saying why without repeating the URL or its password', (url, why) => {
    const problems = problemsOf({ LOOKOUT_DATABASE_URL: url });
    expect(problems).toMatch(/^env LOOKOUT_DATABASE_URL: /m);
    expect(problems).toMatch(why);
    expect(problems).not.toContain(PASSWORD);
  });

  it('a password file must be readable and not empty, and goes with a URL', () => {
    expect(problemsOf({ LOOKOUT_DATABASE_URL: 'postgres://u@h/d', LOOKOUT_DATABASE_PASSWORD_FILE: '/run/secrets/missing' })).toMatch(
      /LOOKOUT_DATABASE_PASSWORD_FILE: cannot read \/run\/secrets\/missing \(ENOENT\)/,
    );
    expect(problemsOf({ LOOKOUT_DATABASE_URL: 'postgres://u@h/d', LOOKOUT_DATABASE_PASSWORD_FILE: '/run/secrets/empty' })).toMatch(/\/run\/secrets\/empty is empty/);
    expect(problemsOf({ LOOKOUT_DATABASE_PASSWORD_FILE: '/run/secrets/db-password' })).toMatch(/set LOOKOUT_DATABASE_URL too/);
  });

  it('--check-config names the database without the URL\'s password', async () => {
    const check = await checkConfig(
      { ...base, LOOKOUT_DATABASE_URL: `postgres://lookout:${PASSWORD}@db.example:5432/lookout` },
      { readFile, loadKubeCredentials: async () => undefined },
    );
    expect(check.ok).toBe(true);
    expect(check.lines.join('\n')).toContain('PostgreSQL state store db.example:5432/lookout');
    expect(check.lines.join('\n')).not.toContain(PASSWORD);
  });

  it('redactDatabaseUrl hides the password wherever the URL carries it', () => {
    expect(redactDatabaseUrl(`postgres://lookout:${PASSWORD}@db:5432/lookout?sslmode=verify-full`)).toBe('postgres://lookout:***@db:5432/lookout?sslmode=verify-full');
    expect(redactDatabaseUrl(`postgres://lookout@db/lookout?password=${PASSWORD}`)).not.toContain(PASSWORD);
  });
});
