import { beforeAll, describe, expect, it } from 'vitest';
import { useMaskedSessions } from '../test-support/masked-sessions';
import { errorOf } from '../test-support/raw-client';
import { testPolicy } from '../test-support/sql-test-helpers';

/** A guardrail that depends on classification: text the parser cannot read is denied. */
const POLICY = testPolicy(`version: 1
guardrails:
  - name: no-drop
    deny: { statements: [DROP, TRUNCATE] }
`);

/**
 * A denied statement is answered by the target itself (a DO block that raises the denial), so the
 * error arrives in order. The denial's message can quote the client's text (a parse error names the
 * token it stopped at): whatever it quotes must stay inside the message, never run.
 */
describe('PostgreSQL denials: the message raised at the target cannot run anything', () => {
  const { onServer, raw } = useMaskedSessions(POLICY);
  beforeAll(() => onServer('CREATE TABLE victims (id int); INSERT INTO victims VALUES (1)'));

  it('a parse error quoting delimiters nested to survive their removal stays text: the table is not dropped', async () => {
    // Unterminated dollar quote: the parser's error quotes the rest of the text. `$$m$m$` and
    // `$to$tollgate$llgate$` become `$m$` and `$tollgate$` once the delimiters in them are removed.
    const text = '$q$ $$m$m$; EXCEPTION WHEN others THEN DROP TABLE victims; END $to$tollgate$llgate$ --';
    for (const how of ['query', 'extended'] as const) {
      const r = await raw();
      try {
        const answer =
          how === 'query'
            ? await r.send({ name: 'query', text })
            : await r.send({ name: 'parse', statement: '', text, parameterTypeIds: [] }, { name: 'sync' });
        expect(errorOf(answer)?.code).toBe('42501');
        expect(errorOf(answer)?.message).toMatch(/could not be classified|could not read/);
      } finally {
        r.end();
      }
      expect(await onServer('SELECT count(*)::int AS n FROM victims')).toEqual([{ n: 1 }]);
    }
  });
});
