import { describe, expect, it } from 'vitest';
import { attachLineage, type LineageFacts, type LineageOfStatement } from './lineage';

interface Facts {
  readonly type: string;
  readonly nestedIn?: string;
  readonly lineage?: LineageFacts;
}

const ssn = { schema: 'app', table: 'customers', column: 'ssn' };
const attach = (facts: Facts, lineage: LineageFacts): Facts => ({ ...facts, lineage });

describe('attachLineage', () => {
  it('gives top-level statements their lineage in order, and what a PREPARE prepares to its statement', () => {
    const select: LineageOfStatement = {
      outputs: { columns: [{ name: 'x', sources: [ssn] }] },
      written: [],
      filtered: [],
    };
    const prepared: LineageOfStatement = { written: [ssn], filtered: [] };
    const statements = attachLineage(
      [{ type: 'SELECT' }, { type: 'PREPARE' }, { type: 'INSERT', nestedIn: 'PREPARE' }],
      [select, { written: [], filtered: [], prepared }],
      attach,
    );
    expect(statements.map((s) => s.lineage)).toEqual([
      { derived: [ssn], written: [], filtered: [] },
      { derived: [], written: [], filtered: [] },
      { derived: [], written: [ssn], filtered: [] },
    ]);
  });

  it('fails closed for a statement lineage does not cover', () => {
    const [only] = attachLineage([{ type: 'SELECT' }], [], attach);
    expect(only?.lineage).toEqual({
      derived: [{ untraced: 'statement' }],
      written: [{ untraced: 'statement' }],
      filtered: [],
    });
  });
});
