import { beforeAll, describe, expect, it } from 'vitest';
import type { BackendMessage } from '../backend-messages';
import { CUSTOMERS_SQL, SECRET, useMaskedSessions } from '../test-support/masked-sessions';
import { testPolicy } from '../test-support/sql-test-helpers';

/** customers.ssn masked, guardrails on, and the fast-path function call allowed (large objects). */
const POLICY = testPolicy(`version: 1
masking:
  - name: pii
    columns: [customers.ssn]
guardrails:
  - name: no-drop
    deny: { statements: [DROP, TRUNCATE] }
    require_where: [UPDATE, DELETE]
  - name: large-objects
    allow: { opaque: [FUNCTION CALL] }
`);

/** Every value the client received, as text (any trace of SECRET in it is a leak). */
const received = (answer: BackendMessage[]) =>
  JSON.stringify(answer, (_key, value: unknown) =>
    value && typeof value === 'object' && 'type' in value && value.type === 'Buffer'
      ? Buffer.from((value as unknown as { data: number[] }).data).toString('latin1')
      : value,
  );
const leaks = (answer: BackendMessage[]) => {
  const text = received(answer).toLowerCase();
  return text.includes(SECRET.toLowerCase()) || text.includes(SECRET.slice(2, 9).toLowerCase());
};

/** The protocol's own ways to run and read: fast-path function calls, portals and cursors. */
describe('PostgreSQL masking: function calls, portals and cursors (real server)', () => {
  const { onServer, raw } = useMaskedSessions(POLICY);
  beforeAll(() => onServer(CUSTOMERS_SQL));

  /** A fast-path FunctionCall of `name` (a regprocedure) with text arguments, as libpq sends one. */
  const callByOid = async (name: string, ...args: string[]) => {
    const [row] = await onServer(`select '${name}'::regprocedure::oid as oid`);
    const r = await raw();
    try {
      return await r.send({
        name: 'functionCall',
        functionId: Number(row?.['oid']),
        argumentFormats: [0],
        arguments: args.map((arg) => Buffer.from(arg)),
        resultFormat: 0,
      });
    } finally {
      r.end();
    }
  };
  const resultOf = (answer: BackendMessage[]) => {
    const result = answer.find((m) => m.name === 'functionCallResponse');
    return result?.name === 'functionCallResponse' ? (result.value?.toString() ?? null) : undefined;
  };

  it('masks what a function run by OID returns as the SELECT of it would be', async () => {
    // query_to_xml by OID runs any query: as `SELECT query_to_xml(...)`, its result is untraced.
    const xml = await callByOid(
      'query_to_xml(text, boolean, boolean, text)',
      'select ssn from customers',
      'true',
      'false',
      '',
    );
    expect(leaks(xml), received(xml)).toBe(false);
    expect(resultOf(xml)).toBeNull();
    // What reads no table (libpq's large-object calls, a function of its arguments) stays as it is.
    expect(resultOf(await callByOid('int4pl(integer, integer)', '2', '3'))).toBe('5');
    expect(resultOf(await callByOid('lo_creat(integer)', '-1'))).toMatch(/^\d+$/);
  });
});
