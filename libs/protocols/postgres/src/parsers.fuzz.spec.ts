import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BackendMessageParser } from './backend-message.parser';
import { serializeBackendMessage } from './backend-message.serializer';
import { FrontendMessageParser } from './frontend-message.parser';
import { serializeFrontendMessage, serializeStartupPacket } from './frontend-message.serializer';
import { backendSamples, frontendSamples, startupSamples } from './message-samples';
import { PostgresProtocolError } from './protocol-error';

type Feed = (chunk: Buffer) => void;

/** Feeds bytes in the given chunking; the only acceptable failure is the typed protocol error. */
function survives(makeFeed: () => Feed, bytes: Uint8Array, cuts: number[]): boolean {
  const feed = makeFeed();
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let start = 0;
  try {
    for (const point of [...points, bytes.length]) {
      feed(Buffer.from(bytes.subarray(start, point)));
      start = point;
    }
    return true;
  } catch (error) {
    if (error instanceof PostgresProtocolError) return true;
    throw error;
  }
}

const backendFeed = () => {
  const parser = new BackendMessageParser({ maxMessageLength: 1 << 20 });
  return (chunk: Buffer) => parser.parse(chunk, () => undefined);
};
const frontendFeed = () => {
  const parser = new FrontendMessageParser({ maxMessageLength: 1 << 20 });
  return (chunk: Buffer) => parser.parse(chunk, () => undefined);
};

const backendCorpus = Buffer.concat(Object.values(backendSamples).flat().map(serializeBackendMessage));
const frontendCorpus = Buffer.concat([
  serializeStartupPacket(startupSamples[2]!),
  ...Object.values(frontendSamples).flat().map(serializeFrontendMessage),
]);

/** Valid traffic with some bytes overwritten: exercises deep paths that random bytes rarely reach. */
const mutated = (corpus: Buffer) =>
  fc
    .array(fc.tuple(fc.nat(corpus.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 })
    .map((edits) => {
      const copy = Buffer.from(corpus);
      for (const [at, value] of edits) copy[at] = value;
      return new Uint8Array(copy);
    });

describe('parser fuzzing (fast-check)', () => {
  it('the server-message parser throws nothing but PostgresProtocolError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.array(fc.nat(), { maxLength: 6 }), (bytes, cuts) =>
        survives(backendFeed, bytes, cuts),
      ),
      { numRuns: 2000 },
    );
  });

  it('the server-message parser survives mutated real traffic', () => {
    fc.assert(
      fc.property(mutated(backendCorpus), fc.array(fc.nat(), { maxLength: 6 }), (bytes, cuts) =>
        survives(backendFeed, bytes, cuts),
      ),
      { numRuns: 2000 },
    );
  });

  it('the client-message parser throws nothing but PostgresProtocolError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.array(fc.nat(), { maxLength: 6 }), (bytes, cuts) =>
        survives(frontendFeed, bytes, cuts),
      ),
      { numRuns: 2000 },
    );
  });

  it('the client-message parser survives mutated real traffic', () => {
    fc.assert(
      fc.property(mutated(frontendCorpus), fc.array(fc.nat(), { maxLength: 6 }), (bytes, cuts) =>
        survives(frontendFeed, bytes, cuts),
      ),
      { numRuns: 2000 },
    );
  });

  it('a length prefix promising more than arrives never completes a message', () => {
    // "Never hangs" for a parser means it returns promptly and waits for more input.
    const messages: unknown[] = [];
    const parser = new BackendMessageParser();
    parser.parse(Buffer.from([0x44, 0x00, 0x10, 0x00, 0x00, 0x00, 0x01]), (m) => messages.push(m));
    expect(messages).toEqual([]);
    expect(parser.buffered).toBe(7);
  });
});
