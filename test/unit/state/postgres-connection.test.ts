import { describe, expect, it } from 'vitest';
import { connectionFailure } from '../../../src/state/postgres-connection.ts';

/** Errors shaped as node-postgres and Node's sockets raise them. */
const error = (message: string, code?: string) => Object.assign(new Error(message), code === undefined ? {} : { code });

describe('connectionFailure: which errors mean PostgreSQL cannot be reached', () => {
  it.each([
    ['a refused connection', error('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['a reset connection', error('read ECONNRESET', 'ECONNRESET')],
    ['a server shutting down', error('terminating connection due to administrator command', '57P01')],
    ['a server starting up', error('the database system is starting up', '57P03')],
    ['too many connections', error('sorry, too many clients already', '53300')],
    ['a connection exception (class 08)', error('connection failure', '08006')],
    ['a connection lost mid-query', error('Connection terminated unexpectedly')],
    ['no connection in time', error('Connection terminated due to connection timeout')],
    ['no answer in time', error('Query read timeout')],
  ])('%s: unreachable, with the message and code', (_name, failure) => {
    const found = connectionFailure(failure);
    expect(found?.kind).toBe('unreachable');
    expect(found?.reason).toContain(failure.message);
  });

  it('a read-only server (a standby after a failover): unwritable', () => {
    expect(connectionFailure(error('cannot execute INSERT in a read-only transaction', '25006'))).toEqual({
      kind: 'unwritable',
      reason: 'PostgreSQL takes no writes: cannot execute INSERT in a read-only transaction (25006)',
    });
  });

  it.each([
    ['a unique violation', error('duplicate key value violates unique constraint', '23505')],
    ['a serialization failure', error('could not serialize access', '40001')],
    ['a statement timeout (a slow query, not a lost server)', error('canceling statement due to statement timeout', '57014')],
    ['a wrong password (configuration, not an outage)', error('password authentication failed for user "lookout"', '28P01')],
    ['every pooled connection busy (load, not an outage)', error('timeout exceeded when trying to connect')],
    ['a bug', new TypeError('cannot read properties of undefined')],
  ])('%s: not a connection problem', (_name, failure) => {
    expect(connectionFailure(failure)).toBeUndefined();
  });
});
