import { beforeAll, describe, expect, it } from 'vitest';
import { classifySql, loadSqlClassifier, type SqlStatementFacts } from '../sql-classifier';
import { SqlPreparedStatements } from './prepared-statements';

beforeAll(async () => {
  await loadSqlClassifier();
});

/** What a session would decide `sql` on, as `type[opaque]` strings, after `history` was forwarded. */
function decidedOn(sql: string, history: string[] = []): string[] {
  const prepared = new SqlPreparedStatements();
  for (const text of history) prepared.record(prepared.resolve(classifySql(text)));
  const result = prepared.resolve(classifySql(sql));
  if (!result.ok) throw new Error(result.error);
  return result.statements.map(show);
}

const show = (s: SqlStatementFacts) =>
  `${s.type}${s.nestedIn ? `<${s.nestedIn}` : ''}${s.opaque ? `[${s.opaque.join(',')}]` : ''}`;

describe('SqlPreparedStatements', () => {
  it('decides an EXECUTE on the statement its PREPARE named', () => {
    expect(decidedOn('EXECUTE wipe', ['PREPARE wipe AS DELETE FROM users'])).toEqual([
      'EXECUTE',
      'DELETE<EXECUTE',
    ]);
    expect(decidedOn('EXECUTE q(1)', ['PREPARE q(int) AS SELECT * FROM t WHERE id = $1'])).toEqual([
      'EXECUTE',
      'SELECT<EXECUTE',
    ]);
  });

  it('treats an EXECUTE of a name it never saw prepared as opaque code', () => {
    expect(decidedOn('EXECUTE wipe')).toEqual(['EXECUTE[EXECUTE]']);
    // A PREPARE that was never forwarded (denied) prepared nothing.
    expect(decidedOn('EXECUTE wipe', ['SELECT 1'])).toEqual(['EXECUTE[EXECUTE]']);
  });

  it('sees PREPAREs and DEALLOCATEs earlier in the same query string', () => {
    expect(decidedOn('PREPARE w AS DELETE FROM t; EXECUTE w')).toEqual([
      'PREPARE',
      'DELETE<PREPARE',
      'EXECUTE',
      'DELETE<EXECUTE',
    ]);
    expect(decidedOn('DEALLOCATE w; EXECUTE w', ['PREPARE w AS SELECT 1'])).toEqual([
      'DEALLOCATE',
      'EXECUTE[EXECUTE]',
    ]);
  });

  it('lets a name stand for every statement prepared under it until it is freed', () => {
    // The second PREPARE fails on the server (the name exists), but the proxy cannot know which ran.
    const history = ['PREPARE p AS DELETE FROM users', 'PREPARE p AS SELECT 1'];
    expect(decidedOn('EXECUTE p', history)).toEqual(['EXECUTE', 'DELETE<EXECUTE', 'SELECT<EXECUTE']);
    expect(decidedOn('EXECUTE p', [...history, 'DEALLOCATE p', 'PREPARE p AS SELECT 2'])).toEqual([
      'EXECUTE',
      'SELECT<EXECUTE',
    ]);
    expect(decidedOn('EXECUTE p', [...history, 'DEALLOCATE ALL'])).toEqual(['EXECUTE[EXECUTE]']);
    expect(decidedOn('EXECUTE p', [...history, 'DISCARD ALL'])).toEqual(['EXECUTE[EXECUTE]']);
  });

  it('follows EXECUTE inside CREATE TABLE AS and EXPLAIN ANALYZE, not inside plain EXPLAIN', () => {
    const history = ['PREPARE p AS DELETE FROM users RETURNING *'];
    expect(decidedOn('CREATE TABLE copy AS EXECUTE p', history)).toEqual([
      'CREATE TABLE AS',
      'EXECUTE<CREATE TABLE AS',
      'DELETE<EXECUTE',
    ]);
    expect(decidedOn('EXPLAIN ANALYZE EXECUTE p', history)).toEqual([
      'EXPLAIN',
      'EXECUTE<EXPLAIN',
      'DELETE<EXECUTE',
    ]);
    expect(decidedOn('EXPLAIN EXECUTE p', history)).toEqual(['EXPLAIN']);
  });

  it('carries what the prepared statement runs, opaque code included', () => {
    expect(decidedOn('EXECUTE x', ["PREPARE x AS SELECT dblink_exec('drop table users')"])).toEqual([
      'EXECUTE',
      'SELECT<EXECUTE[DYNAMIC SQL]',
    ]);
  });

  it('counts a name prepared too many different ways as unknown (statements deciding alike count once)', () => {
    expect(decidedOn('EXECUTE p', ['PREPARE p AS SELECT 1', 'PREPARE p AS SELECT 2'])).toEqual([
      'EXECUTE',
      'SELECT<EXECUTE',
    ]);
    const history = Array.from({ length: 20 }, (_, i) => `PREPARE p AS SELECT * FROM t${i}`);
    expect(decidedOn('EXECUTE p', history)).toEqual(['EXECUTE[EXECUTE]']);
  });
});

describe('SqlPreparedStatements: the extended protocol shares the namespace', () => {
  const resolved = (prepared: SqlPreparedStatements, sql: string) => {
    const result = prepared.resolve(classifySql(sql));
    if (!result.ok) throw new Error(result.error);
    return result.statements.map(show);
  };

  it('runs of a Parse-prepared name are decided on its text (Bind) or its facts (EXECUTE)', () => {
    const prepared = new SqlPreparedStatements();
    expect(prepared.parsed('wipe', 'DELETE FROM t', classifySql('DELETE FROM t'))).toBe(true);
    expect(prepared.bindText('wipe')).toBe('DELETE FROM t');
    expect(resolved(prepared, 'EXECUTE wipe')).toEqual(['EXECUTE', 'DELETE<EXECUTE']);
    prepared.closed('wipe');
    expect(resolved(prepared, 'EXECUTE wipe')).toEqual(['EXECUTE[EXECUTE]']);
  });

  it('a Bind of a name SQL prepared (or prepared twice) is decided as EXECUTE of the name', () => {
    const prepared = new SqlPreparedStatements();
    prepared.record(classifySql('PREPARE "Odd ""name""" AS DELETE FROM t'));
    expect(prepared.bindText('Odd "name"')).toBe('EXECUTE "Odd ""name"""');
    expect(resolved(prepared, prepared.bindText('Odd "name"'))).toEqual(['EXECUTE', 'DELETE<EXECUTE']);
    // The server refuses a Parse under a name in use; the name keeps standing for both.
    expect(prepared.parsed('Odd "name"', 'SELECT 1', classifySql('SELECT 1'))).toBe(false);
    expect(resolved(prepared, prepared.bindText('Odd "name"'))).toEqual([
      'EXECUTE',
      'DELETE<EXECUTE',
      'SELECT<EXECUTE',
    ]);
    expect(prepared.bindText('never')).toBe('EXECUTE "never"');
  });

  it('tells the session which names SQL touched, so earlier Parse decisions stop covering them', () => {
    const prepared = new SqlPreparedStatements();
    expect(prepared.record(classifySql('DEALLOCATE a; PREPARE b AS SELECT 1'))).toEqual({
      names: ['a', 'b'],
      all: false,
    });
    expect(prepared.record(classifySql('DISCARD ALL'))).toEqual({ names: [], all: true });
  });

  it('a Parse the parser could not read leaves the name known only by its text', () => {
    const prepared = new SqlPreparedStatements();
    prepared.parsed('odd', 'SELEC 1', classifySql('SELEC 1'));
    expect(prepared.bindText('odd')).toBe('SELEC 1');
    expect(resolved(prepared, 'EXECUTE odd')).toEqual(['EXECUTE[EXECUTE]']);
  });
});
