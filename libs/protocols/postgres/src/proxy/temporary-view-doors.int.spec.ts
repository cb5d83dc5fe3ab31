import { beforeAll, describe, expect, it } from 'vitest';
import { CUSTOMERS_SQL, SECRET, useMaskedSessions } from '../test-support/masked-sessions';

/**
 * A temporary view takes the place of a table of the same name on the search path (pg_temp comes
 * first), for the rest of the string that made it too: a statement of that string traced through
 * the table must not keep that lineage.
 */
describe('PostgreSQL masking: a temporary view named like a table (real server)', () => {
  const { onServer, psql, client } = useMaskedSessions();
  beforeAll(() =>
    onServer(`${CUSTOMERS_SQL}
      CREATE TABLE scratch (id int, note text);
      INSERT INTO scratch VALUES (7, 'plain');`),
  );

  const shadow = 'create temp view scratch as select id, ssn as note from customers';

  it('masks what the rest of the string reads through a temporary view it made', async () => {
    const out = await psql(`${shadow}; select note from scratch; table scratch`);
    expect(out).not.toContain(SECRET.slice(2, 8));
    expect(out.split('\n')).toEqual(['CREATE VIEW', '********', '0|********', '']);
  });

  it('masks what later strings of the session read through it', async () => {
    const c = await client();
    try {
      await c.query(shadow);
      const later = await c.query('select note from scratch');
      expect(JSON.stringify(later.rows)).not.toContain(SECRET.slice(2, 8));
      await c.query('begin');
      await c.query('drop view scratch');
      await c.query(`create temp view scratch as select id, ssn as note from customers`);
      const inTransaction = await c.query('select note from scratch');
      await c.query('commit');
      expect(JSON.stringify(inTransaction.rows)).not.toContain(SECRET.slice(2, 8));
      // The table it hid reads as ever once it is gone.
      await c.query('drop view scratch');
      expect((await c.query('select note from scratch')).rows).toEqual([{ note: 'plain' }]);
    } finally {
      await c.end();
    }
  });
});
