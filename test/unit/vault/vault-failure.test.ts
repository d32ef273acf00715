import { describe, expect, it } from 'vitest';
import { vaultFailure } from '../../../src/vault/vault-failure.ts';

const body = (...errors: string[]) => ({ errors });

describe('vaultFailure: what a Vault status means for the person', () => {
  it.each([
    [400, body('check-and-set parameter did not match the current version'), 'conflict'],
    [400, body('no data provided'), 'invalid'],
    [403, body('permission denied'), 'forbidden'],
    [404, body(), 'not-found'],
    [405, body('unsupported operation'), 'unsupported'],
    [503, body('Vault is sealed'), 'sealed'],
    [503, body('error performing token check: Vault is sealed'), 'sealed'],
    [503, body('local node not active but active cluster node not found'), 'unavailable'],
    [429, body('rate limit quota exceeded'), 'unavailable'],
    [500, 'not json at all', 'unavailable'],
  ])('HTTP %i %j → %s', (status, answer, reason) => {
    expect(vaultFailure('POST', 'secret/data/payments/db', { status, body: answer }).reason).toBe(reason);
  });

  it('never repeats what Vault said, only the status and the path', () => {
    const error = vaultFailure('POST', 'secret/data/payments/db', { status: 400, body: body('invalid value "hunter2-s3cret" for key') });
    expect(error.message).toBe('Vault refused POST secret/data/payments/db as invalid (HTTP 400); nothing was changed.');
    expect(error.message).not.toContain('hunter2');
    expect(error.status).toBe(400);
  });
});
