import { canonicalJson, CanonicalJsonError, linkHash, linkHashOfCanonical } from '@tollgate/audit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  JournalEventSerializer,
  type CommandEventFields,
  type JournalEventSession,
  type ResultEventFields,
} from './journal-event.serializer';

// The events as the agent built them as objects (and hashed with canonicalJson) before the
// serializer: the serializer must write exactly these bytes, or chains written by one agent
// version would not read the same as another's, and the gateway's checks would differ.
function base(session: JournalEventSession, policyVersion: number, type: string, id: string, time: string) {
  return {
    id,
    time,
    type,
    sessionId: session.id,
    policyVersion,
    actor: { subject: session.actor.subject, actorChain: [...session.actor.actorChain] },
    connection: { name: session.connection.name, protocol: session.connection.protocol },
  };
}

function commandObject(s: JournalEventSession, v: number, r: CommandEventFields, id: string, time: string) {
  return {
    ...base(s, v, 'command', id, time),
    command: r.command,
    decision: r.decision,
    ...(r.rule ? { rule: r.rule } : {}),
    ...(r.message ? { message: r.message } : {}),
    ...(r.masking?.length ? { masking: [...r.masking] } : {}),
    ...(r.reviewId ? { reviewId: r.reviewId } : {}),
  };
}

function resultObject(s: JournalEventSession, v: number, r: ResultEventFields, id: string, time: string) {
  return {
    ...base(s, v, 'command.result', id, time),
    command: r.command,
    rows: r.rows,
    bytes: r.bytes,
    durationMs: Math.round(r.durationMs * 100) / 100,
    ...(r.error ? { error: r.error } : {}),
    ...(r.masked.length ? { masked: [...r.masked] } : {}),
    ...(r.status ? { status: r.status } : {}),
    ...(r.requestBody ? { requestBody: r.requestBody } : {}),
    ...(r.responseBody ? { responseBody: r.responseBody } : {}),
    ...(r.bodyTruncated?.length ? { bodyTruncated: [...r.bodyTruncated] } : {}),
    ...(r.bodyNotes?.length ? { bodyNotes: [...r.bodyNotes] } : {}),
  };
}

// Any text, lone surrogates and control characters included (JSON escapes them).
const text = fc.string({ unit: 'binary', maxLength: 40 });
const maybeText = fc.option(text, { nil: undefined });
const session = fc.record({
  id: text,
  actor: fc.record({ subject: text, actorChain: fc.array(text, { maxLength: 3 }) }),
  connection: fc.record({ name: text, protocol: text }),
});
const policyVersion = fc.integer({ min: 0, max: 2 ** 31 });
// Ids and times as the agent draws them (a UUID, an ISO 8601 timestamp): nothing in them to escape.
const id = fc.uuid();
const time = fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
const commandFields = fc.record(
  {
    command: text,
    decision: fc.constantFrom('allow', 'deny', 'require_approval'),
    rule: maybeText,
    message: maybeText,
    masking: fc.option(fc.array(text, { maxLength: 3 }), { nil: undefined }),
    reviewId: maybeText,
  },
  { requiredKeys: ['command', 'decision'] },
) as fc.Arbitrary<CommandEventFields>;
const count = fc.oneof(fc.nat(), fc.integer({ min: -1, max: 1 }), fc.maxSafeNat());
const resultFields = fc.record(
  {
    command: text,
    rows: count,
    bytes: count,
    durationMs: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e9, max: 1e12 }), fc.nat()),
    error: maybeText,
    masked: fc.array(text, { maxLength: 3 }),
    status: fc.option(count, { nil: undefined }),
    requestBody: maybeText,
    responseBody: maybeText,
    bodyTruncated: fc.option(fc.array(text, { maxLength: 2 }), { nil: undefined }),
    bodyNotes: fc.option(fc.array(text, { maxLength: 2 }), { nil: undefined }),
  },
  { requiredKeys: ['command', 'rows', 'bytes', 'durationMs', 'masked'] },
) as fc.Arbitrary<ResultEventFields>;

/** A serializer whose events take these ids and times, in order. */
function serializerWith(s: JournalEventSession, v: number, ids: string[], times: string[]) {
  return new JournalEventSerializer(
    s,
    v,
    () => ids.shift()!,
    () => times.shift()!,
  );
}

describe('JournalEventSerializer', () => {
  it('writes command and result events byte for byte as canonicalJson writes their objects', () => {
    const statement = fc.record({
      command: commandFields,
      // The result usually names the command just recorded; sometimes another text.
      result: resultFields,
      sameText: fc.boolean(),
      ids: fc.tuple(id, id),
      times: fc.tuple(time, time),
    });
    fc.assert(
      fc.property(
        session,
        policyVersion,
        fc.array(statement, { minLength: 1, maxLength: 4 }),
        (s, v, run) => {
          const ids = run.flatMap((r) => r.ids);
          const times = run.flatMap((r) => r.times);
          const serializer = serializerWith(s, v, [...ids], [...times]);
          run.forEach((r, i) => {
            const result = r.sameText ? { ...r.result, command: r.command.command } : r.result;
            expect(serializer.command(r.command)).toBe(
              canonicalJson(commandObject(s, v, r.command, ids[2 * i], times[2 * i])),
            );
            expect(serializer.result(result)).toBe(
              canonicalJson(resultObject(s, v, result, ids[2 * i + 1], times[2 * i + 1])),
            );
          });
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('gives the chain the hash the gateway computes from the event object', () => {
    const s: JournalEventSession = {
      id: 'sess-1',
      actor: { subject: 'alice@example.com', actorChain: ['ci-bot'] },
      connection: { name: 'pg-prod', protocol: 'postgres' },
    };
    const id = '6f1c2b0e-8d3a-4c59-9a55-1f0e2d3c4b5a';
    const time = '2026-12-05T06:00:00.000Z';
    const serializer = serializerWith(s, 7, [id], [time]);
    const fields: CommandEventFields = { command: 'SELECT "é"\n', decision: 'allow', masking: ['pii'] };
    const text = serializer.command(fields);
    expect(JSON.parse(text)).toEqual(commandObject(s, 7, fields, id, time));
    expect(linkHashOfCanonical('0'.repeat(64), 'chain', 3, text)).toBe(
      linkHash('0'.repeat(64), 'chain', 3, commandObject(s, 7, fields, id, time)),
    );
  });

  it('refuses a count JSON cannot hold, as canonicalJson does', () => {
    const serializer = new JournalEventSerializer(
      { id: 's', actor: { subject: 'a', actorChain: [] }, connection: { name: 'c', protocol: 'postgres' } },
      1,
    );
    const fields = { command: 'x', rows: Number.NaN, bytes: 0, durationMs: 1, masked: [] };
    expect(() => serializer.result(fields)).toThrow(CanonicalJsonError);
    expect(() => serializer.result({ ...fields, rows: 1, durationMs: Infinity })).toThrow(CanonicalJsonError);
  });

  it('gives each event its own id and the current time when none is given', () => {
    const serializer = new JournalEventSerializer(
      { id: 's', actor: { subject: 'a', actorChain: [] }, connection: { name: 'c', protocol: 'postgres' } },
      1,
    );
    const first = JSON.parse(serializer.command({ command: 'x', decision: 'allow' })) as Record<
      string,
      string
    >;
    const second = JSON.parse(serializer.command({ command: 'x', decision: 'allow' })) as Record<
      string,
      string
    >;
    expect(first.id).not.toBe(second.id);
    expect(new Date(first.time).toISOString()).toBe(first.time);
    expect(first.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
