import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { VaultMethod } from '../../../src/vault/vault-api.ts';
import type { VaultOperation, VaultResponse } from '../../../src/vault/vault-failure.ts';
import { VaultToken } from '../../../src/vault/vault-token.ts';
import { recordingLogger } from '../../helpers/fakes.ts';
import { findSecretLeaks } from '../../support/secret-leaks.ts';

/** A JWT with this payload (unsigned: Lookout only reads `aud`; Vault verifies). */
const jwt = (payload: object) => `e30.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.sig`;

/** Vault's answers, by operation, in the order given; every call is recorded. */
function fakeVault(answers: Partial<Record<VaultOperation, VaultResponse[]>>) {
  const calls: Array<{ operation: VaultOperation; method: VaultMethod; path: string; body: unknown; token: string | undefined }> = [];
  const send = async (operation: VaultOperation, method: VaultMethod, path: string, body: unknown, token: string | undefined): Promise<VaultResponse> => {
    calls.push({ operation, method, path, body, token });
    const next = answers[operation]?.shift();
    if (next === undefined) throw new Error(`no answer left for ${operation}`);
    return next;
  };
  return { send, calls };
}
const login = (token: string, ttl: number, renewable = true): VaultResponse => ({ status: 200, body: { auth: { client_token: token, lease_duration: ttl, renewable } } });
const kubernetes = { method: 'kubernetes' as const, role: 'lookout', mountPath: 'kubernetes', tokenFile: '/sa/token' };

describe('VaultToken (Kubernetes auth)', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('logs in once for concurrent requests, with the role and the token file read at login', async () => {
    const vault = fakeVault({ login: [login('t1', 3600)] });
    const token = new VaultToken({ auth: kubernetes, send: vault.send, log: recordingLogger().log, readFile: () => `${jwt({ aud: ['https://kubernetes.default.svc'] })}\n` });
    expect(await Promise.all([token.current(), token.current(), token.current()])).toEqual(['t1', 't1', 't1']);
    expect(vault.calls).toEqual([{ operation: 'login', method: 'POST', path: 'auth/kubernetes/login', body: { role: 'lookout', jwt: jwt({ aud: ['https://kubernetes.default.svc'] }) }, token: undefined }]);
    token.stop();
  });

  it('renews at about 2/3 of the TTL (within the jitter), not before', async () => {
    const vault = fakeVault({ login: [login('t1', 3000)], renew: [login('t1', 3000), login('t1', 3000)] });
    // random() = 0 → the earliest point: 2/3 × 0.95 of the TTL = 1900 s.
    const token = new VaultToken({ auth: kubernetes, send: vault.send, log: recordingLogger().log, readFile: () => jwt({}), random: () => 0 });
    await token.current();
    await vi.advanceTimersByTimeAsync(1_899_000);
    expect(vault.calls.map((call) => call.operation)).toEqual(['login']);
    await vi.advanceTimersByTimeAsync(1000);
    expect(vault.calls.map((call) => call.operation)).toEqual(['login', 'renew']);
    expect(vault.calls[1]).toMatchObject({ path: 'auth/token/renew-self', token: 't1' });
    expect(await token.current()).toBe('t1');
    token.stop();
  });

  it('logs in again when a renewal fails, and when the renewed TTL shows the max TTL is near', async () => {
    const vault = fakeVault({ login: [login('t1', 300), login('t2', 300), login('t3', 300)], renew: [{ status: 403, body: { errors: ['permission denied'] } }, login('t2', 60)] });
    const token = new VaultToken({ auth: kubernetes, send: vault.send, log: recordingLogger().log, readFile: () => jwt({}), random: () => 1 });
    await token.current();
    await vi.advanceTimersByTimeAsync(300_000 * (2 / 3) * 1.05 + 10);
    expect(await token.current()).toBe('t2');
    // 60 s back from a renewal of a 300 s token: less than a third, so a new login.
    await vi.advanceTimersByTimeAsync(300_000 * (2 / 3) * 1.05 + 10);
    expect(await token.current()).toBe('t3');
    expect(vault.calls.map((call) => call.operation)).toEqual(['login', 'renew', 'login', 'renew', 'login']);
    token.stop();
  });

  it('replaces a token Vault no longer accepts, but not one the policy merely refused', async () => {
    const vault = fakeVault({ login: [login('t1', 3600), login('t2', 3600)], lookup: [{ status: 200, body: { data: { ttl: 100 } } }, { status: 403, body: { errors: ['permission denied'] } }] });
    const token = new VaultToken({ auth: kubernetes, send: vault.send, log: recordingLogger().log, readFile: () => jwt({}) });
    await token.current();
    expect(await token.replaceIfInvalid('t1')).toBe(false);
    expect(await token.replaceIfInvalid('t1')).toBe(true);
    expect(await token.current()).toBe('t2');
    token.stop();
  });

  it('refuses a token for another audience before asking Vault, and never puts the token in the error', async () => {
    const serviceAccountToken = jwt({ aud: ['https://kubernetes.default.svc'] });
    const vault = fakeVault({});
    const token = new VaultToken({ auth: { ...kubernetes, audience: 'vault' }, send: vault.send, log: recordingLogger().log, readFile: () => serviceAccountToken });
    const error = await token.current().catch((caught: unknown) => caught as Error);
    expect(error).toMatchObject({ reason: 'forbidden' });
    expect((error as Error).message).toContain('is not for audience `vault`');
    expect((error as Error).message).not.toContain(serviceAccountToken);
    expect(vault.calls).toEqual([]);
  });

  it('never logs a token', async () => {
    const { log, lines } = recordingLogger();
    const serviceAccountToken = jwt({ sub: 'system:serviceaccount:lookout:lookout' });
    const vault = fakeVault({ login: [login('hvs.secret-token-1', 30), login('hvs.secret-token-2', 30)], renew: [{ status: 500, body: {} }] });
    const token = new VaultToken({ auth: kubernetes, send: vault.send, log, readFile: () => serviceAccountToken });
    await token.current();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(await token.current()).toBe('hvs.secret-token-2');
    // Logged: the logins and the failed renewal; never a token.
    expect(lines().length).toBeGreaterThanOrEqual(3);
    expect(await findSecretLeaks(['hvs.secret-token-1', 'hvs.secret-token-2', serviceAccountToken], { extra: { log: JSON.stringify(lines()) } })).toEqual([]);
    token.stop();
  });
});
