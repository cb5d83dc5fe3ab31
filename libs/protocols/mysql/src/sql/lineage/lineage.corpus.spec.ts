import { describe, expect, it } from 'vitest';
import { MYSQL_LINEAGE_CORPUS } from './lineage.corpus';
import { lineageLine } from './lineage-fixture';
import { analyzeMysqlLineage } from './statement-lineage';

describe('MySQL lineage corpus', () => {
  it('has at least 200 statements', () => {
    expect(Object.values(MYSQL_LINEAGE_CORPUS).flat().length).toBeGreaterThanOrEqual(200);
  });

  for (const [construct, cases] of Object.entries(MYSQL_LINEAGE_CORPUS)) {
    describe(construct, () => {
      it.each(cases)('%s', (sql, expected) => {
        expect(lineageLine(sql)).toBe(expected);
      });
    });
  }

  it('asks for the catalog facts it lacks instead of guessing', () => {
    const unread = { relations: () => undefined, userFunction: () => undefined };
    const analysis = analyzeMysqlLineage('SELECT UPPER(ssn) FROM elsewhere.customers, orders', unread, {
      backslashEscapes: true,
      database: 'app',
    });
    expect('missing' in analysis && analysis.missing).toEqual({
      relations: [
        { name: 'customers', schema: 'elsewhere' },
        { name: 'orders', schema: 'app' },
      ],
      functions: ['upper'],
    });
  });

  it('has no table without a current database', () => {
    expect(lineageLine('SELECT ssn FROM customers', null)).toBe('u');
    expect(lineageLine('SELECT ssn FROM app.customers', null)).toBe('p');
  });
});
