import { describe, expect, it } from 'vitest';
import { rowsOfCommandTag } from './command-tag';

describe('rowsOfCommandTag', () => {
  it.each([
    ['INSERT 0 5', 5],
    ['INSERT 0 0', 0],
    ['UPDATE 1', 1],
    ['DELETE 12', 12],
    ['MERGE 2', 2],
    ['SELECT 7', 7],
    ['COPY 10', 10],
    ['FETCH 4', 4],
    ['MOVE 1', 1],
    ['UPDATE 4294967296', 4294967296],
  ])('reads %s as %i rows', (tag, rows) => {
    expect(rowsOfCommandTag(tag)).toBe(rows);
  });

  it.each(['CREATE TABLE', 'BEGIN', 'SET', 'DROP TABLE', 'INSERT 5', 'SELECT', 'UPDATE x', ''])(
    'has no count for %j',
    (tag) => {
      expect(rowsOfCommandTag(tag)).toBeUndefined();
    },
  );
});
