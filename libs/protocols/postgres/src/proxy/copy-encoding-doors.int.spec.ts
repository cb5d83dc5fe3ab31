import { beforeAll, describe, expect, it } from 'vitest';
import { CUSTOMERS_SQL, SECRET, useMaskedSessions } from '../test-support/masked-sessions';

/**
 * COPY TO STDOUT in an encoding whose multi-byte characters can end in an ASCII byte (SJIS, BIG5,
 * GBK, ...): the server neither escapes such a byte nor splits on it, so a reader taking the row
 * apart byte by byte sees fields the server did not send. Masking must not be misled into
 * leaving a masked field's bytes in a field it takes for another column.
 */
describe('PostgreSQL masking: COPY output in client-only encodings (real server)', () => {
  const { onServer, psql } = useMaskedSessions();
  beforeAll(() => onServer(CUSTOMERS_SQL));

  // ソ is 0x83 0x5C in SJIS (a backslash as its second byte), ポ is 0x83 0x7C (a |).
  const shifted = `(select chr(12477), ssn, chr(12509) from customers)`;

  it('masks COPY ... ENCODING with a delimiter and escapes hidden in multi-byte characters', async () => {
    for (const encoding of ['SJIS', 'BIG5', 'JOHAB']) {
      for (const options of [
        `delimiter '|'`,
        `format csv, delimiter '|'`,
        `format csv, delimiter '|', quote '\\', escape '\\'`,
      ]) {
        const out = await psql(`copy ${shifted} to stdout with (${options}, encoding '${encoding}')`);
        expect(out, `${encoding} ${options}`).not.toContain(SECRET.slice(2, 8));
      }
    }
    // Such rows are masked whole; in an encoding that hides nothing, field by field as ever.
    expect(await psql(`copy (select name, ssn from customers) to stdout with (encoding 'SJIS')`)).toBe(
      '\\N\t\\N\n',
    );
    expect(await psql(`copy (select name, ssn from customers) to stdout with (encoding 'LATIN1')`)).toBe(
      'Ada\t********\n',
    );
  });

  it('masks COPY output when the session reads in such an encoding (client_encoding)', async () => {
    for (const encoding of ['SJIS', 'BIG5']) {
      const out = await psql(`copy ${shifted} to stdout with (delimiter '|')`, {
        PGCLIENTENCODING: encoding,
      });
      expect(out, encoding).not.toContain(SECRET.slice(2, 8));
      const set = await psql(
        `set client_encoding = '${encoding}'; copy ${shifted} to stdout with (delimiter '|')`,
      );
      expect(set, encoding).not.toContain(SECRET.slice(2, 8));
    }
  });
});
