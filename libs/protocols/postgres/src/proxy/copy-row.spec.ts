import { Masker } from '@tollgate/masking';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CopyFormat } from '../sql/lineage/lineage.types';
import { DEFAULT_COPY_FORMAT, joinCopyRow, splitCopyRow, type CopyField } from './copy-row';
import { maskCopyRow } from './row-masking';

const CSV: CopyFormat = { format: 'csv', delimiter: ',', quote: '"', escape: '"', header: false };
const CSV_ODD: CopyFormat = { format: 'csv', delimiter: ';', quote: "'", escape: '\\', header: false };
const TEXT_PIPE: CopyFormat = { ...DEFAULT_COPY_FORMAT, delimiter: '|' };

describe('COPY rows', () => {
  it('reads text format escapes and NULL', () => {
    expect(splitCopyRow('1\ta\\tb\\\\c\\N\t\\N\t\\101\\x42\n', DEFAULT_COPY_FORMAT)).toEqual([
      '1',
      'a\tb\\cN',
      null,
      'AB',
    ]);
  });

  it('reads csv quoting, doubled quotes, embedded newlines and the unquoted empty NULL', () => {
    expect(splitCopyRow('1,"a,b","say ""hi""",,"",x\n', CSV)).toEqual([
      '1',
      'a,b',
      'say "hi"',
      null,
      '',
      'x',
    ]);
    expect(splitCopyRow('"line\none",2\n', CSV)).toEqual(['line\none', '2']);
    expect(splitCopyRow('"unterminated\n', CSV)).toBeUndefined();
  });

  it.each([
    ['text', DEFAULT_COPY_FORMAT],
    ['text with another delimiter', TEXT_PIPE],
    ['csv', CSV],
    ['csv with other quote, escape and delimiter', CSV_ODD],
  ])('writes what it reads back unchanged (%s)', (_name, format) => {
    const field = fc.option(
      fc.string({ unit: 'binary' }).filter((s) => !s.includes('\u0000')),
      { nil: null },
    );
    fc.assert(
      fc.property(fc.array(field, { minLength: 1, maxLength: 6 }), (fields: CopyField[]) => {
        const row = joinCopyRow(fields, format, 'x\n');
        expect(splitCopyRow(row, format)).toEqual(fields);
      }),
      { numRuns: 150 },
    );
  });

  it('masks fields by their column masks and leaves the rest to the detectors', () => {
    const masker = Masker.compile([{ detectors: [{ kind: 'builtin', name: 'email' }], columns: ['t.c'] }]);
    const masked = maskCopyRow(
      Buffer.from('1,secret,"a,b",x@example.com,\n'),
      CSV,
      ['clear', 'plain', 'whole', 'clear', 'whole'],
      masker,
    );
    expect(masked.row.toString()).toBe('1,******,********,x***@***.com,\n');
    expect(masked.reasons).toEqual(expect.arrayContaining(['column', 'derived', 'email']));
  });

  it('masks every field of a row it cannot read or whose width differs, when anything in it is masked', () => {
    const masker = Masker.compile([{ detectors: [], columns: ['t.c'] }]);
    expect(maskCopyRow(Buffer.from('"open,1\n'), CSV, ['clear', 'whole'], masker).row.toString()).toBe(',\n');
    expect(
      maskCopyRow(Buffer.from('a\tb\tc\n'), DEFAULT_COPY_FORMAT, ['clear', 'whole'], masker).row.toString(),
    ).toBe('********\t********\t********\n');
    expect(
      maskCopyRow(Buffer.from('a\tb\tc\n'), DEFAULT_COPY_FORMAT, ['clear', 'clear'], masker).row.toString(),
    ).toBe('a\tb\tc\n');
  });
});
