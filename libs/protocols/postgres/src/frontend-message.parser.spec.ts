import { describe, expect, it } from 'vitest';
import { FrontendMessageParser } from './frontend-message.parser';
import { serializeFrontendMessage, serializeStartupPacket } from './frontend-message.serializer';
import type { FrontendMessage, StartupPacket } from './frontend-messages';
import { frontendSamples, startupSamples } from './message-samples';
import { PostgresProtocolError } from './protocol-error';
import { parseSaslInitialResponse, saslInitialResponseBody } from './authentication-response';

const messages: FrontendMessage[] = Object.values(frontendSamples).flat();
const startup = startupSamples.find((s) => s.name === 'startupMessage') as StartupPacket;

function parseAll(
  chunks: Buffer[],
  parser = new FrontendMessageParser(),
): (StartupPacket | FrontendMessage)[] {
  const out: (StartupPacket | FrontendMessage)[] = [];
  for (const chunk of chunks) parser.parse(chunk, (message) => out.push(message));
  return out;
}

describe('FrontendMessageParser', () => {
  it.each(startupSamples.map((s) => [s.name, s] as const))(
    'round-trips start-up packet %s',
    (_name, packet) => {
      expect(parseAll([serializeStartupPacket(packet)])).toEqual([packet]);
    },
  );

  it('round-trips a cancel request and refuses anything after it', () => {
    const cancel: StartupPacket = { name: 'cancelRequest', processId: 99, secretKey: -5 };
    expect(parseAll([serializeStartupPacket(cancel)])).toEqual([cancel]);
    const parser = new FrontendMessageParser();
    expect(() => parseAll([serializeStartupPacket(cancel), Buffer.from([1])], parser)).toThrow(
      PostgresProtocolError,
    );
  });

  it.each(messages.map((m) => [m.name, m] as const))('round-trips %s after start-up', (_name, message) => {
    expect(parseAll([serializeStartupPacket(startup), serializeFrontendMessage(message)])).toEqual([
      startup,
      message,
    ]);
  });

  it('yields the same messages however the stream is split', () => {
    const stream = Buffer.concat([
      serializeStartupPacket(startup),
      ...messages.map(serializeFrontendMessage),
    ]);
    const expected = [startup, ...messages];
    for (let cut = 0; cut <= stream.length; cut++) {
      expect(parseAll([stream.subarray(0, cut), stream.subarray(cut)])).toEqual(expected);
    }
    expect(parseAll([...stream].map((b) => Buffer.from([b])))).toEqual(expected);
  });

  it('stops after SSLRequest so the caller can answer before reading further', () => {
    const parser = new FrontendMessageParser();
    const hello = Buffer.from([0x16, 0x03, 0x01]); // a TLS ClientHello pipelined by an eager client
    const seen = parseAll([Buffer.concat([serializeStartupPacket({ name: 'sslRequest' }), hello])], parser);
    expect(seen).toEqual([{ name: 'sslRequest' }]);
    expect(parser.drain()).toEqual(hello);
  });

  it.each([
    ['a start-up packet shorter than 8 bytes', Buffer.from([0, 0, 0, 4]), 'invalid_length'],
    ['an absurd start-up length', Buffer.from([0x7f, 0xff, 0xff, 0xff]), 'message_too_large'],
    ['protocol version 2', Buffer.from([0, 0, 0, 9, 0, 2, 0, 0, 0]), 'unknown_message'],
    ['an unterminated parameter', Buffer.from([0, 0, 0, 10, 0, 3, 0, 0, 0x75, 0x73]), 'malformed'],
  ])('rejects %s', (_what, bytes, code) => {
    try {
      parseAll([bytes]);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(PostgresProtocolError);
      expect((error as PostgresProtocolError).code).toBe(code);
    }
  });

  it('rejects garbage after start-up', () => {
    const garbage = Buffer.from('GET / HTTP/1.1\r\n\r\n');
    expect(() => parseAll([serializeStartupPacket(startup), garbage])).toThrow(PostgresProtocolError);
  });

  it('reads and writes SASLInitialResponse bodies', () => {
    const body = saslInitialResponseBody('SCRAM-SHA-256', Buffer.from('n,,n=,r=abc'));
    expect(parseSaslInitialResponse(body)).toEqual({
      mechanism: 'SCRAM-SHA-256',
      data: Buffer.from('n,,n=,r=abc'),
    });
    expect(parseSaslInitialResponse(saslInitialResponseBody('X', null))).toEqual({
      mechanism: 'X',
      data: null,
    });
  });
});
