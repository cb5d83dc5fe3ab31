import { beforeAll, describe, expect, it } from 'vitest';
import type { BackendMessage } from '../backend-messages';
import { CUSTOMERS_SQL, SECRET, useMaskedSessions } from '../test-support/masked-sessions';
import { bind, errorOf } from '../test-support/raw-client';
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
  const { onServer, raw, client } = useMaskedSessions(POLICY);
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
    // A function defined outside pg_catalog: its body is not read, so its result is untraced.
    await onServer(
      "create function ssn_of(int) returns text language sql as 'select ssn from customers where id = $1'",
    );
    const ssn = await callByOid('ssn_of(integer)', '1');
    expect(leaks(ssn), received(ssn)).toBe(false);
    expect(resultOf(ssn)).toBeNull();
    // What reads no table (libpq's large-object calls, a function of its arguments) stays as it is.
    expect(resultOf(await callByOid('int4pl(integer, integer)', '2', '3'))).toBe('5');
    expect(resultOf(await callByOid('lo_creat(integer)', '-1'))).toMatch(/^\d+$/);
  });

  it('decides a function run by OID as the SELECT of it: its own kind of opaque code is refused', async () => {
    // FUNCTION CALL is allowed (large objects); running a query string or shadowing pg_catalog is not.
    const xml = await callByOid(
      'query_to_xml(text, boolean, boolean, text)',
      'select ssn from customers',
      'true',
      'false',
      '',
    );
    expect(leaks(xml), received(xml)).toBe(false);
    expect(errorOf(xml)?.code).toBe('42501');
    expect(errorOf(xml)?.message).toMatch(/DYNAMIC SQL/);
    const path = await callByOid('set_config(text, text, boolean)', 'search_path', 'public, pg_catalog', 'f');
    expect(errorOf(path)?.code).toBe('42501');
    expect(errorOf(path)?.message).toMatch(/CODE SETTING/);
    expect(resultOf(await callByOid('set_config(text, text, boolean)', 'work_mem', '8MB', 'f'))).toBe('8MB');
  });

  /** The text values of the DataRows in an answer. */
  const rows = (answer: BackendMessage[]) =>
    answer.flatMap((m) => (m.name === 'dataRow' ? [m.values.map((v) => v?.toString() ?? null)] : []));
  const query = (text: string) => ({ name: 'query' as const, text });
  const parse = (statement: string, text: string) => ({
    name: 'parse' as const,
    statement,
    text,
    parameterTypeIds: [],
  });
  const execute = (portal: string, maxRows = 0) => ({ name: 'execute' as const, portal, maxRows });
  const sync = { name: 'sync' as const };

  // SQL cursors and protocol portals are one namespace on the server: whatever is open under a name
  // is what Execute, FETCH and MOVE reach, however it was opened.
  it('masks an Execute of a portal name a DECLARE reused, on every partial fetch', async () => {
    const r = await raw();
    try {
      await r.send(parse('plain', "select 'x'::text as a"), bind('plain', 'c'), execute('c'), sync);
      await r.send(query('begin; declare c cursor for select lower(ssn) from customers'));
      const first = await r.send(execute('c', 1), sync);
      expect(first.map((m) => m.name)).toContain('portalSuspended');
      const rest = await r.send(execute('c', 1), sync);
      expect(leaks([...first, ...rest]), received([...first, ...rest])).toBe(false);
      await r.send(query('rollback'));
    } finally {
      r.end();
    }
  });

  it('masks a FETCH of a protocol portal named like a closed cursor', async () => {
    const r = await raw();
    try {
      await r.send(query("begin; declare c cursor for select 'x'::text; close c"));
      await r.send(parse('secret', 'select lower(ssn) from customers'), bind('secret', 'c'), sync);
      const fetched = await r.send(query('fetch all from c'));
      expect(leaks(fetched), received(fetched)).toBe(false);
      await r.send(query('rollback'));
    } finally {
      r.end();
    }
  });

  it('masks a FETCH of a WITH HOLD cursor a second DECLARE of its name failed to replace', async () => {
    const r = await raw();
    try {
      await r.send(query('declare h cursor with hold for select lower(ssn) from customers'));
      const again = await r.send(query('declare h cursor with hold for select name from customers'));
      expect(again.find((m) => m.name === 'errorResponse')).toBeDefined();
      const fetched = await r.send(query('fetch all from h'));
      expect(leaks(fetched), received(fetched)).toBe(false);
      await r.send(query('close h'));
    } finally {
      r.end();
    }
  });

  it('reads clear values through cursors and portals opened again under the same name', async () => {
    const r = await raw();
    try {
      for (let round = 0; round < 2; round++) {
        // psql's FETCH_COUNT: DECLARE, FETCH, CLOSE, COMMIT, the same name each time.
        await r.send(query('begin; declare c cursor for select lower(name) from customers'));
        expect(rows(await r.send(query('fetch forward 1 from c')))).toEqual([['ada']]);
        await r.send(query('close c; commit'));
        // A driver's named portal fetched in parts, in a transaction, ended by COMMIT.
        await r.send(query('begin'));
        await r.send(parse('', 'select lower(name) from customers'), bind('', 'p'), sync);
        expect(rows(await r.send(execute('p', 1), sync))).toEqual([['ada']]);
        await r.send(query('commit'));
      }
    } finally {
      r.end();
    }
  });

  it('masks the payloads of notifications other sessions send (a trigger notifying a masked value)', async () => {
    const c = await client();
    try {
      const payloads: (string | undefined)[] = [];
      c.on('notification', (n) => payloads.push(n.payload));
      await c.query('listen customer_changed');
      // Another session (here the database's owner, as an application's trigger would) notifies ssn.
      await onServer("select pg_notify('customer_changed', ssn) from customers where id = 1");
      // A notification with no payload is the channel alone: it passes as it is.
      await onServer('notify customer_changed');
      await c.query('select 1');
      expect(payloads).toHaveLength(2);
      expect(payloads[0]).not.toContain(SECRET.slice(2, 9));
      expect(payloads[1]).toBe('');
    } finally {
      await c.end();
    }
  });
});
