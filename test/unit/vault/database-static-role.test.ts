import { describe, expect, it } from 'vitest';
import { InvalidInput, NotFound, Unavailable } from '../../../src/errors.ts';
import { rotateStaticRole } from '../../../src/vault/database-static-role.ts';
import { VaultError, type VaultApi, type VaultMethod } from '../../../src/vault/vault-api.ts';

/** A Vault holding static roles by name; rotate-role moves last_vault_rotation unless told to fail. */
function fakeVault(options: { rotateFails?: VaultError; readFails?: VaultError; rotationSticks?: boolean } = {}) {
  const calls: string[] = [];
  let rotations = 0;
  const vault: VaultApi = {
    async request<T>(method: VaultMethod, path: string): Promise<T> {
      calls.push(`${method} ${path}`);
      if (method === 'GET' && path === 'database/static-roles/app') {
        if (options.readFails) throw options.readFails;
        const at = options.rotationSticks ? 0 : rotations;
        return { data: { username: 'app', db_name: 'postgres', rotation_period: 86400, last_vault_rotation: `2026-12-02T14:00:0${at}.123456Z`, rotation_statements: [] } } as T;
      }
      if (method === 'GET') throw new VaultError('not-found', `Vault has nothing at ${path} (HTTP 404).`, 404);
      if (method === 'POST' && path === 'database/rotate-role/app') {
        if (options.rotateFails) throw options.rotateFails;
        rotations++;
        return undefined as T;
      }
      throw new Error(`unexpected ${method} ${path}`);
    },
  };
  return { vault, calls };
}

describe('rotateStaticRole', () => {
  it('reads the role, rotates it, and reads it again; never asks for credentials', async () => {
    const { vault, calls } = fakeVault();
    expect(await rotateStaticRole(vault, 'app')).toEqual({
      role: 'app',
      username: 'app',
      database: 'postgres',
      before: '2026-12-02T14:00:00.123456Z',
      after: '2026-12-02T14:00:01.123456Z',
      rotationPeriodSeconds: 86400,
    });
    expect(calls).toEqual(['GET database/static-roles/app', 'POST database/rotate-role/app', 'GET database/static-roles/app']);
  });

  it.each(['../sys/seal', 'app/x', '', 'a b', '-app', 'app?x=1'])('refuses the role name %j before calling Vault', async (role) => {
    const { vault, calls } = fakeVault();
    await expect(rotateStaticRole(vault, role)).rejects.toBeInstanceOf(InvalidInput);
    expect(calls).toEqual([]);
  });

  it('an unknown role is NotFound naming it, and nothing is rotated', async () => {
    const { vault, calls } = fakeVault();
    const error = await rotateStaticRole(vault, 'ghost').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFound);
    expect((error as Error).message).toContain('no database static role `ghost`');
    expect(calls).toEqual(['GET database/static-roles/ghost']);
  });

  it('policy refusals name the capability that is missing', async () => {
    const readRefused = fakeVault({ readFails: new VaultError('forbidden', 'x', 403) });
    await expect(rotateStaticRole(readRefused.vault, 'app')).rejects.toThrow('capability `read`');
    const rotateRefused = fakeVault({ rotateFails: new VaultError('forbidden', 'x', 403) });
    const error = await rotateStaticRole(rotateRefused.vault, 'app').catch((e: unknown) => e);
    expect(error).toMatchObject({ reason: 'forbidden', message: expect.stringContaining('capability `update` on `database/rotate-role/app`') });
  });

  it('a database that refuses (Vault answers 500) is Unavailable naming the role and connection; an unreachable Vault passes through', async () => {
    const refused = fakeVault({ rotateFails: new VaultError('unavailable', 'Vault could not serve POST database/rotate-role/app (HTTP 500)', 500) });
    const error = await rotateStaticRole(refused.vault, 'app').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Unavailable);
    expect((error as Error).message).toMatch(/static role `app` in its database \(connection `postgres`\)/);

    const unreachable = new VaultError('unavailable', 'Vault did not answer', undefined);
    await expect(rotateStaticRole(fakeVault({ rotateFails: unreachable }).vault, 'app')).rejects.toBe(unreachable);
    const sealed = new VaultError('sealed', 'Vault is sealed', 503);
    await expect(rotateStaticRole(fakeVault({ rotateFails: sealed }).vault, 'app')).rejects.toBe(sealed);
  });

  it('a role never rotated before has no before; one still without a rotation time after is not reported as done', async () => {
    let rotated = false;
    const vault: VaultApi = {
      async request<T>(method: VaultMethod): Promise<T> {
        if (method === 'POST') rotated = true;
        const data = { username: 'app', db_name: 'postgres', rotation_period: 60, ...(rotated ? { last_vault_rotation: '2026-12-02T14:00:00Z' } : {}) };
        return (method === 'GET' ? { data } : undefined) as T;
      },
    };
    expect(await rotateStaticRole(vault, 'app')).toMatchObject({ before: undefined, after: '2026-12-02T14:00:00Z' });
    const never: VaultApi = { request: async <T>(method: VaultMethod) => (method === 'GET' ? { data: { username: 'app', db_name: 'postgres', rotation_period: 60 } } : undefined) as T };
    await expect(rotateStaticRole(never, 'app')).rejects.toThrow(/did not change \(never rotated\)/);
  });

  it('a rotation Vault accepted without moving last_vault_rotation is not reported as done', async () => {
    await expect(rotateStaticRole(fakeVault({ rotationSticks: true }).vault, 'app')).rejects.toThrow(/last rotation time did not change/);
  });
});
