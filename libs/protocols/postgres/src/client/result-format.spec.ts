import { describe, expect, it } from 'vitest';
import { formatResults } from './result-format';

const users = {
  columns: ['id', 'email'],
  rows: [
    ['1', 'a***@***.com'],
    ['10', null],
  ],
  tag: 'SELECT 2',
};

describe('formatResults', () => {
  it('aligns a table like psql, with a row count', () => {
    expect(formatResults([users], 'table')).toBe(
      [' id | email', '----+--------------', ' 1  | a***@***.com', ' 10 |', '(2 rows)', ''].join('\n'),
    );
  });

  it('prints statements without rows as their command tag', () => {
    expect(formatResults([{ columns: [], rows: [], tag: 'INSERT 0 1' }], 'table')).toBe('INSERT 0 1\n');
  });

  it('prints JSON rows as objects with NULL as null', () => {
    expect(formatResults([users], 'json')).toBe(
      '[{"id":"1","email":"a***@***.com"},{"id":"10","email":null}]\n',
    );
  });

  it('quotes CSV fields that need it (RFC 4180)', () => {
    const result = { columns: ['note'], rows: [['say "hi", then\nleave']], tag: 'SELECT 1' };
    expect(formatResults([result], 'csv')).toBe('note\r\n"say ""hi"", then\nleave"\r\n');
  });

  it('leaves failed statements out of the output (they go to stderr)', () => {
    const failed = { columns: [], rows: [], tag: '', error: { code: '42501', message: 'denied' } };
    expect(formatResults([failed, users], 'json')).toBe(
      '[{"id":"1","email":"a***@***.com"},{"id":"10","email":null}]\n',
    );
  });
});
