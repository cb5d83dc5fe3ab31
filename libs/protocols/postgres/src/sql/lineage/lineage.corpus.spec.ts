import { loadModule } from 'libpg-query';
import { beforeAll, describe, expect, it } from 'vitest';
import { LINEAGE_CORPUS } from './lineage.corpus';
import { lineageLine } from './lineage-fixture';

beforeAll(() => loadModule());

describe('lineage corpus', () => {
  it('has at least 200 statements', () => {
    expect(Object.values(LINEAGE_CORPUS).flat().length).toBeGreaterThanOrEqual(200);
  });

  for (const [construct, cases] of Object.entries(LINEAGE_CORPUS)) {
    describe(construct, () => {
      it.each(cases)('%s', (sql, expected) => {
        expect(lineageLine(sql)).toBe(expected);
      });
    });
  }
});
