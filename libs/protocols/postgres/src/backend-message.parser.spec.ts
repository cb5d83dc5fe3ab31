import { describe, expect, it } from 'vitest';
import type { BackendMessage } from './backend-messages';
import { BackendMessageParser, parseBackendFrame } from './backend-message.parser';
import type { TaggedFrame } from './frame-reader';
import { serializeBackendMessage, serializeDataRow } from './backend-message.serializer';
import { backendSamples } from './message-samples';
import { PostgresProtocolError } from './protocol-error';

const samples: BackendMessage[] = Object.values(backendSamples).flat();

function parseAll(
  chunks: Buffer[],
  parser = new BackendMessageParser(),
): { messages: BackendMessage[]; frames: Buffer[] } {
  const messages: BackendMessage[] = [];
  const frames: Buffer[] = [];
  for (const chunk of chunks) {
    parser.parse(chunk, (message, frame) => {
      messages.push(message);
      frames.push(Buffer.from(frame));
    });
  }
  return { messages, frames };
}

describe('BackendMessageParser', () => {
  it.each(samples.map((m) => [m.name, m] as const))('round-trips %s', (_name, message) => {
    const bytes = serializeBackendMessage(message);
    const { messages, frames } = parseAll([bytes]);
    expect(messages).toEqual([message]);
    expect(frames[0]).toEqual(bytes);
  });

  it('yields the same messages however the stream is split', () => {
    const stream = Buffer.concat(samples.map(serializeBackendMessage));
    for (let cut = 0; cut <= stream.length; cut++) {
      const { messages } = parseAll([stream.subarray(0, cut), stream.subarray(cut)]);
      expect(messages).toEqual(samples);
    }
    const byteByByte = parseAll([...stream].map((b) => Buffer.from([b])));
    expect(byteByByte.messages).toEqual(samples);
  });

  it('hands out raw frames without decoding them, split anywhere, and they decode to the same messages', () => {
    const stream = Buffer.concat(samples.map(serializeBackendMessage));
    for (const cut of [0, 1, 5, 17, Math.floor(stream.length / 2), stream.length - 1]) {
      const parser = new BackendMessageParser();
      const frames: TaggedFrame[] = [];
      for (const chunk of [stream.subarray(0, cut), stream.subarray(cut)]) {
        parser.frames(chunk, (frame) => frames.push({ code: frame.code, frame: Buffer.from(frame.frame) }));
      }
      expect(Buffer.concat(frames.map((f) => f.frame))).toEqual(stream);
      expect(frames.map((f) => parseBackendFrame(f))).toEqual(samples);
    }
  });

  it('parses a 64 MiB row that arrives in 64 KiB chunks', () => {
    const big = Buffer.alloc(64 * 1024 * 1024, 0x61);
    const frame = serializeDataRow([Buffer.from('1'), big]);
    const chunks: Buffer[] = [];
    for (let i = 0; i < frame.length; i += 65536) chunks.push(frame.subarray(i, i + 65536));
    const { messages } = parseAll(chunks);
    expect(messages).toHaveLength(1);
    const row = messages[0] as Extract<BackendMessage, { name: 'dataRow' }>;
    expect(row.values[1]?.length).toBe(big.length);
  });

  it.each([
    ['an absurd length', Buffer.from([0x44, 0xff, 0xff, 0xff, 0xff]), 'message_too_large'],
    ['a length below 4', Buffer.from([0x5a, 0, 0, 0, 3]), 'invalid_length'],
    ['an unknown type', Buffer.from([0x21, 0, 0, 0, 4]), 'unknown_message'],
    ['a truncated body', Buffer.from([0x4b, 0, 0, 0, 6, 0, 0]), 'malformed'],
    ['trailing bytes', Buffer.from([0x31, 0, 0, 0, 5, 9]), 'malformed'],
    [
      'a DataRow whose column count exceeds the frame',
      Buffer.from([0x44, 0, 0, 0, 6, 0x7f, 0xff]),
      'malformed',
    ],
    ['an unterminated string', Buffer.from([0x43, 0, 0, 0, 6, 0x41, 0x42]), 'malformed'],
    ['an unknown ReadyForQuery status', Buffer.from([0x5a, 0, 0, 0, 5, 0x51]), 'malformed'],
  ])('rejects %s with a typed protocol error', (_what, bytes, code) => {
    expect(() => parseAll([bytes])).toThrow(PostgresProtocolError);
    try {
      parseAll([bytes]);
    } catch (error) {
      expect((error as PostgresProtocolError).code).toBe(code);
    }
  });

  it('honours a lower message size limit', () => {
    const frame = serializeDataRow([Buffer.alloc(2048)]);
    expect(() => parseAll([frame], new BackendMessageParser({ maxMessageLength: 1024 }))).toThrow(
      /exceeds the limit/,
    );
  });
});
