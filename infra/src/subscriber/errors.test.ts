import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable, isDataError, sqlState } from '../store/database-errors.js';
import { PermanentError, classifyFailure } from './errors.js';

const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('failure classification', () => {
  it.each([
    ['a connection failure (class 08)', withCode('08006')],
    [
      'the server shutting down',
      withCode('57P01', 'terminating connection due to administrator command'),
    ],
    ['the server starting up', withCode('57P03', 'the database system is starting up')],
    ['a refused connection', withCode('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')],
    ['a reset connection', withCode('ECONNRESET')],
    ['a connection node-postgres lost', new Error('Connection terminated unexpectedly')],
    [
      'every address refused',
      new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')], 'connect failed'),
    ],
    ['a wrapped one', new Error('batch failed', { cause: withCode('57P01') })],
  ])('%s is database unavailable', (_, e) => {
    expect(isDatabaseUnavailable(e)).toBe(true);
    expect(classifyFailure(e)).toBe('unavailable');
  });

  it.each([
    ['a unique violation', withCode('23505')],
    ['a check violation', withCode('23514')],
    ['a value out of range', withCode('22003')],
    ['malformed input', withCode('22P02')],
  ])('%s is about the data: permanent', (_, e) => {
    expect(isDataError(e)).toBe(true);
    expect(isDatabaseUnavailable(e)).toBe(false);
    expect(classifyFailure(e)).toBe('permanent');
  });

  it.each([
    ['a deadlock', withCode('40P01')],
    ['a serialization failure', withCode('40001')],
    ['a missing table', withCode('42P01')],
    ['a plain error', new Error('nope')],
    ['a permission error (EPERM is no SQLSTATE)', withCode('EPERM', 'operation not permitted')],
  ])('%s is transient', (_, e) => {
    expect(classifyFailure(e)).toBe('transient');
  });

  it('takes a PermanentError for permanent, and reads SQLSTATEs only', () => {
    expect(classifyFailure(new PermanentError('no such trial'))).toBe('permanent');
    expect(sqlState(withCode('23505'))).toBe('23505');
    expect(sqlState(withCode('EPIPE'))).toBeUndefined();
    expect(sqlState('23505')).toBeUndefined();
  });
});
