import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConnectionIds, readKillExpression, readKillStatement, type KillableSession } from './connection-ids';

const session = (): KillableSession & { killed: string[] } => {
  const killed: string[] = [];
  return {
    killed,
    killQuery: (reason) => killed.push(`query: ${reason}`),
    killConnection: (reason) => killed.push(`connection: ${reason}`),
  };
};

describe('ConnectionIds', () => {
  it('names a session only to its owner, and only while it lives; any other id is unknown', () => {
    const ids = new ConnectionIds();
    const mine = ids.reserve('alice:my-app');
    const theirs = ids.reserve('bob:my-app', 12345);
    const target = session();
    mine.attach(target);
    theirs.attach(session());
    expect(theirs.id).toBe(12345);
    expect(ids.find(mine.id, 'alice:my-app')).toBe(target);
    expect(ids.find(mine.id, 'bob:my-app')).toBeUndefined();
    expect(ids.find(mine.id, 'alice:other-connection')).toBeUndefined();
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (guess) => {
        if (guess !== mine.id) expect(ids.find(guess, 'alice:my-app')).toBeUndefined();
      }),
    );
    mine.release();
    expect(ids.find(mine.id, 'alice:my-app')).toBeUndefined();
  });

  it('names a session by its server thread id too, only to its owner, until it ends', () => {
    const ids = new ConnectionIds();
    const mine = ids.reserve('alice:my-app');
    const target = session();
    mine.attach(target, 42);
    ids.reserve('bob:my-app').attach(session(), 43);
    expect(ids.find(42, 'alice:my-app')).toBe(target);
    expect(ids.find(42, 'bob:my-app')).toBeUndefined();
    expect(ids.find(43, 'alice:my-app')).toBeUndefined();
    mine.release();
    expect(ids.find(42, 'alice:my-app')).toBeUndefined();
  });

  it('draws another id when the one asked for is taken', () => {
    const ids = new ConnectionIds();
    const first = ids.reserve('alice', 77);
    const second = ids.reserve('bob', 77);
    expect(first.id).toBe(77);
    expect(second.id).not.toBe(77);
    second.release();
    expect(ids.reserve('carol', second.id).id).toBe(second.id);
  });
});

describe('readKillStatement', () => {
  it('reads the KILLs clients send to stop a statement, and nothing else', () => {
    expect(readKillStatement('KILL QUERY 42')).toEqual({ kind: 'query', id: 42 });
    expect(readKillStatement(' kill query 42 ; ')).toEqual({ kind: 'query', id: 42 });
    expect(readKillStatement('KILL 7')).toEqual({ kind: 'connection', id: 7 });
    expect(readKillStatement('KILL CONNECTION 7')).toEqual({ kind: 'connection', id: 7 });
    expect(readKillStatement('KILL HARD QUERY 7')).toEqual({ kind: 'query', id: 7 });
    for (const other of [
      'KILL QUERY ID 7',
      'KILL USER bob',
      'KILL 7; SELECT 1',
      'SELECT 1',
      'KILL QUERY',
      'KILLQUERY 7',
    ])
      expect(readKillStatement(other)).toBeUndefined();
  });
});

describe('readKillExpression', () => {
  it('reads a KILL whose id is an expression, and leaves plain ids, query ids and users', () => {
    expect(readKillExpression('kill query @id')).toEqual({ kind: 'query', expression: '@id' });
    expect(readKillExpression("KILL  (('x' IN ( SELECT 1)) MOD 44)")).toEqual({
      kind: 'connection',
      expression: "(('x' IN ( SELECT 1)) MOD 44)",
    });
    expect(readKillExpression('KILL HARD CONNECTION @a + 1 ;')).toEqual({
      kind: 'connection',
      expression: '@a + 1',
    });
    expect(readKillExpression('KILL CONNECTION_ID()')).toEqual({
      kind: 'connection',
      expression: 'CONNECTION_ID()',
    });
    for (const other of ['KILL 7', 'KILL QUERY 7', 'KILL QUERY ID 7', 'KILL USER bob', 'KILL ', 'SELECT 1'])
      expect(readKillExpression(other)).toBeUndefined();
  });
});
