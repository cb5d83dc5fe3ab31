import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BackendMessageParser } from '../backend-message.parser';
import { serializeBackendMessage } from '../backend-message.serializer';
import type { BackendMessage } from '../backend-messages';
import { serializeStartupPacket } from '../frontend-message.serializer';
import { backendSamples } from '../message-samples';
import {
  PostgresSessionWatch,
  postgresRefuser,
  recognizesPostgres,
  refusalResponse,
} from './postgres.refuser';

const startup = serializeStartupPacket({
  name: 'startupMessage',
  protocolVersion: 196608,
  parameters: { user: 'dev', database: 'app' },
});
const sslRequest = serializeStartupPacket({ name: 'sslRequest' });
const gssRequest = serializeStartupPacket({ name: 'gssEncRequest' });

/** What the client reads: the messages the server side sent, parsed as psql would. */
function clientReads(bytes: Buffer): BackendMessage[] {
  const messages: BackendMessage[] = [];
  new BackendMessageParser().parse(bytes, (message) => messages.push(message));
  return messages;
}

/** Splits `bytes` at the given points (taken modulo its length). */
function split(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  return chunks;
}

const denied = { kind: 'denied', message: 'policy denies pg-admin' } as const;

describe('PostgreSQL refusals before the session opens', () => {
  it.each([
    ['a start-up packet', startup, ''],
    ['an SSLRequest, then the start-up packet', Buffer.concat([sslRequest, startup]), 'N'],
    ['a GSSENCRequest, an SSLRequest, then start-up', Buffer.concat([gssRequest, sslRequest, startup]), 'NN'],
  ])('answers %s with a FATAL ErrorResponse, split at every byte', (_, opening, answers) => {
    for (let cut = 0; cut <= opening.length; cut++) {
      const dialogue = postgresRefuser.refuseOpening(denied);
      const first = dialogue.receive(opening.subarray(0, cut));
      const second = dialogue.receive(opening.subarray(cut));
      expect(first.done && cut < opening.length).toBe(false);
      expect(second.done || first.done).toBe(true);
      const said = Buffer.concat([first.reply ?? Buffer.alloc(0), second.reply ?? Buffer.alloc(0)]);
      expect(said.subarray(0, answers.length).toString()).toBe(answers);
      expect(clientReads(said.subarray(answers.length))).toEqual([
        {
          name: 'errorResponse',
          fields: { S: 'FATAL', V: 'FATAL', C: '28000', M: 'tollgate: policy denies pg-admin' },
        },
      ]);
    }
  });

  it('says each kind of refusal with its own SQLSTATE', () => {
    const codes = (
      [
        'not-found',
        'denied',
        'unauthenticated',
        'unavailable',
        'terminated',
        'shutdown',
        'lost',
        'credential-expired',
      ] as const
    ).map((kind) => clientReads(refusalResponse({ kind, message: 'x' }))[0]);
    expect(codes.map((m) => (m?.name === 'errorResponse' ? m.fields['C'] : undefined))).toEqual([
      '3D000',
      '28000',
      '28000',
      '08001',
      '57P01',
      '57P01',
      '08006',
      '28000',
    ]);
  });

  it('refuses, and closes, whatever bytes a client sends that are not PostgreSQL', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), (bytes) => {
        const dialogue = postgresRefuser.refuseOpening(denied);
        const answer = dialogue.receive(Buffer.from(bytes));
        // Either more is needed, or the conversation ends with the refusal last.
        if (!answer.done) return;
        expect(answer.reply?.subarray(-refusalResponse(denied).length)).toEqual(refusalResponse(denied));
      }),
      { numRuns: 500 },
    );
  });

  it("recognizes PostgreSQL's opening packets and nothing else that clients send first", () => {
    for (const opening of [startup, sslRequest, gssRequest]) expect(recognizesPostgres(opening)).toBe(true);
    expect(
      recognizesPostgres(serializeStartupPacket({ name: 'cancelRequest', processId: 1, secretKey: 2 })),
    ).toBe(true);
    for (const other of [
      'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
      'SSH-2.0-OpenSSH_9.2\r\n',
      '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03',
      'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
    ]) {
      expect(recognizesPostgres(Buffer.from(other, 'latin1'))).toBe(false);
    }
    expect(recognizesPostgres(startup.subarray(0, 3))).toBeUndefined();
  });

  it('once it can tell, more bytes never change its mind', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.nat(40), (bytes, at) => {
        const all = Buffer.from(bytes);
        const early = recognizesPostgres(all.subarray(0, Math.min(at, all.length)));
        if (early !== undefined) expect(recognizesPostgres(all)).toBe(early);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('PostgreSQL session endings', () => {
  const serverMessages = Object.values(backendSamples)
    .flat()
    .map((message) => serializeBackendMessage(message));
  const terminated = { kind: 'terminated', message: 'killed by user:admin' } as const;

  it('says an ending only between two server messages, however the stream is split', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: serverMessages.length - 1 }), { minLength: 1, maxLength: 12 }),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 8 }),
        (picks, ssl, cuts) => {
          const watch = postgresRefuser.watch();
          if (ssl) watch.fromClient(sslRequest);
          // The client's start-up packet, split, then the server's stream.
          for (const chunk of split(startup, cuts)) watch.fromClient(chunk);
          const messages = picks.map((i) => serverMessages[i] as Buffer);
          const stream = Buffer.concat([ssl ? Buffer.from('N') : Buffer.alloc(0), ...messages]);
          // Before the SSLRequest's answer libpq takes an ErrorResponse in its place, too.
          const boundaries = new Set<number>([0, ssl ? 1 : 0]);
          let at = ssl ? 1 : 0;
          for (const message of messages) boundaries.add((at += message.length));
          let sent = 0;
          for (const chunk of split(stream, cuts)) {
            watch.toClient(chunk);
            sent += chunk.length;
            const ending = watch.ending(terminated);
            if (boundaries.has(sent)) expect(ending).toEqual(refusalResponse(terminated));
            else expect(ending).toBeUndefined();
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('tells a client between messages why its session ended (57P01 for a kill)', () => {
    const watch = postgresRefuser.watch();
    watch.fromClient(startup);
    watch.toClient(serializeBackendMessage({ name: 'readyForQuery', status: 'I' }));
    expect(clientReads(watch.ending(terminated) as Buffer)).toEqual([
      {
        name: 'errorResponse',
        fields: { S: 'FATAL', V: 'FATAL', C: '57P01', M: 'tollgate: killed by user:admin' },
      },
    ]);
  });

  it('gives up (a reset) on a server stream that stops making sense', () => {
    const watch = postgresRefuser.watch();
    watch.fromClient(startup);
    watch.toClient(Buffer.from([0x44, 0, 0, 0, 2, 0x5a]));
    expect(watch.ending(terminated)).toBeUndefined();
  });

  it('hears the key the client is given (BackendKeyData, and only it), however the stream is split', () => {
    const key = { name: 'backendKeyData', processId: 1_234_567, secretKey: -987_654_321 } as const;
    // Other messages around it (none of them BackendKeyData), one before it of about its length.
    const lookalike = serializeBackendMessage({ name: 'parameterStatus', parameter: 'a', value: 'bcdefg' });
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: serverMessages.length - 1 }), { maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (picks, cuts) => {
          const heard: [number, number][] = [];
          const watch = new PostgresSessionWatch((processId, secretKey) =>
            heard.push([processId, secretKey]),
          );
          watch.fromClient(startup);
          const others = picks.map((i) => serverMessages[i] as Buffer).filter((m) => m[0] !== 0x4b);
          const stream = Buffer.concat([lookalike, ...others, serializeBackendMessage(key), ...others]);
          for (const chunk of split(stream, cuts)) watch.toClient(chunk);
          expect(heard).toEqual([[key.processId, key.secretKey]]);
          expect(watch.ending(terminated)).toEqual(refusalResponse(terminated));
        },
      ),
      { numRuns: 500 },
    );
  });
});
