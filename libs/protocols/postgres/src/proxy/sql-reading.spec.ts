import { beforeAll, describe, expect, it } from 'vitest';
import { classifySql, loadSqlClassifier } from '../sql-classifier';
import { SqlReadingState } from './sql-reading';

beforeAll(async () => {
  await loadSqlClassifier();
});

const initial = new Map([
  ['standard_conforming_strings', 'on'],
  ['client_encoding', 'UTF8'],
]);

describe('SqlReadingState', () => {
  const attack = "SELECT 'x\\'' ; DROP TABLE t; -- '";
  const sjis = "SELECT 'ｱ' -- ﾃ";

  it('reads as the parser does with UTF-8 (or any ASCII-safe encoding) and standard strings', () => {
    const reading = new SqlReadingState(initial);
    expect(reading.issue(attack)).toBeUndefined();
    reading.parameterStatus('client_encoding', 'LATIN1');
    expect(reading.issue(sjis)).toBeUndefined();
  });

  it('cannot read text the server reads differently: backslashes without standard strings, non-ASCII in SJIS-like encodings', () => {
    const reading = new SqlReadingState(initial);
    reading.parameterStatus('standard_conforming_strings', 'off');
    expect(reading.issue(attack)).toMatch(/^standard_conforming_strings is off/);
    // Text without a backslash reads the same either way.
    expect(reading.issue('SET standard_conforming_strings = on')).toBeUndefined();
    reading.parameterStatus('standard_conforming_strings', 'on');
    for (const encoding of ['SJIS', 'BIG5', 'GBK', 'UHC', 'GB18030', 'JOHAB', 'SHIFT_JIS_2004']) {
      reading.parameterStatus('client_encoding', encoding);
      expect(reading.issue(sjis)).toBe(
        `client_encoding ${encoding} can hide quotes and backslashes inside multi-byte characters`,
      );
      expect(reading.issue("SET client_encoding = 'UTF8'")).toBeUndefined();
    }
    // Set at start-up or as a role default: known from the first ParameterStatus.
    expect(
      new SqlReadingState(new Map([['standard_conforming_strings', 'off']])).issue(attack),
    ).toBeDefined();
  });

  it('does not know how later text is read until the statement that may change it has completed', () => {
    const reading = new SqlReadingState(initial);
    // Two queries in flight, then a SET that may change the reading.
    reading.syncPointSent();
    reading.syncPointSent();
    reading.forwarding(classifySql('SET standard_conforming_strings = on'));
    reading.syncPointSent();
    reading.readyForQuery();
    reading.readyForQuery();
    expect(reading.issue(attack)).toMatch(/^an earlier statement may change how the server reads SQL/);
    expect(reading.issue('SELECT 1')).toBeUndefined();
    reading.readyForQuery();
    expect(reading.issue(attack)).toBeUndefined();
  });

  it.each([
    'SET client_encoding = SJIS',
    "SET NAMES 'BIG5'",
    'RESET ALL',
    'DISCARD ALL',
    'RESET standard_conforming_strings',
    "SELECT set_config('standard_conforming_strings', 'off', false)",
    'DO $$ BEGIN PERFORM 1; END $$',
    'CALL p()',
  ])('%s leaves the reading unknown until it completes', (sql) => {
    const reading = new SqlReadingState(initial);
    reading.forwarding(classifySql(sql));
    reading.syncPointSent();
    expect(reading.issue(attack)).toBeDefined();
    reading.readyForQuery();
    expect(reading.issue(attack)).toBeUndefined();
  });

  it('ordinary statements leave it known', () => {
    const reading = new SqlReadingState(initial);
    reading.forwarding(classifySql("SELECT 1; SET work_mem = '1MB'; SET search_path = app"));
    reading.syncPointSent();
    expect(reading.issue(attack)).toBeUndefined();
  });
});
