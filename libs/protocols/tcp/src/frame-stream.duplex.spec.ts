import { createServer, type AddressInfo } from 'node:net';
import { Duplex } from 'node:stream';
import {
  dataEnvelopePayload,
  encodeDataEnvelopeAround,
  ENVELOPE_FRAME_FIELD,
  frameInPlace,
  type StreamFrame,
} from '@tollgate/proto';
import type { FrameCodec } from './frame-codec';
import type { FrameStream } from './socket-relay';
import { describe, expect, it } from 'vitest';
import { frameStreamDuplex } from './frame-stream.duplex';
import {
  claimReadHeadroom,
  connectWithFrameReads,
  frameDataBuffer,
  frameReadsReadable,
} from './socket-reads';

const codec: FrameCodec<StreamFrame, StreamFrame> = {
  wrap: (frame) => frame,
  unwrap: (message) => ({ frame: message }),
};

/** An object-mode stream pair standing in for a gRPC duplex call: what one end writes, the other reads. */
function tunnel(): {
  near: FrameStream<StreamFrame> & Duplex;
  sent: StreamFrame[];
  deliver: (frame: StreamFrame) => void;
  ended: () => boolean;
} {
  const sent: StreamFrame[] = [];
  let finished = false;
  const near = new Duplex({
    objectMode: true,
    highWaterMark: 2,
    read() {},
    write(frame: StreamFrame, _enc, callback) {
      sent.push(frame);
      callback();
    },
    final(callback) {
      finished = true;
      callback();
    },
  });
  return { near, sent, deliver: (frame) => near.push(frame), ended: () => finished };
}

/**
 * A session stream whose data frames are encoded around the engine's bytes; `sent` holds what left
 * (after `onSent`, e.g. grpc-js writing its prefix in place).
 */
function inPlaceFramer(onSent: (message: Buffer) => void = () => undefined): {
  field: number;
  sent: Buffer[];
  bytes: Duplex;
} {
  const field = ENVELOPE_FRAME_FIELD.sessionUp;
  const sent: Buffer[] = [];
  const near = new Duplex({
    objectMode: true,
    read() {},
    write(message: Buffer, _enc, callback) {
      onSent(message);
      sent.push(message);
      callback();
    },
  });
  const bytes = frameStreamDuplex<StreamFrame, Buffer>(near, {
    wrap: () => {
      throw new Error('data frames are encoded around their bytes');
    },
    wrapRead: (data) => encodeDataEnvelopeAround(field, data),
    unwrap: (message) => ({ frame: message }),
  });
  return { field, sent, bytes };
}

describe('frameStreamDuplex', () => {
  it('turns written bytes into data frames of at most 64 KiB and frames into readable bytes', async () => {
    const t = tunnel();
    const bytes = frameStreamDuplex(t.near, codec);
    const big = Buffer.alloc(150 * 1024, 7);
    await new Promise<void>((resolve) => bytes.write(big, () => resolve()));
    const sizes = t.sent.map((f) => (f.kind?.$case === 'data' ? f.kind.data.length : -1));
    expect(sizes).toEqual([65536, 65536, 22528]);

    const received: Buffer[] = [];
    bytes.on('data', (c: Buffer) => received.push(c));
    t.deliver({ kind: { $case: 'data', data: Buffer.from('hello ') } });
    t.deliver({ kind: { $case: 'data', data: Buffer.from('world') } });
    t.deliver({ kind: { $case: 'halfClose', halfClose: {} } });
    await new Promise((resolve) => bytes.once('end', resolve));
    expect(Buffer.concat(received).toString()).toBe('hello world');
  });

  it('sends a corked burst of small writes as one frame', async () => {
    const t = tunnel();
    const bytes = frameStreamDuplex(t.near, codec);
    bytes.cork();
    for (let i = 0; i < 100; i++) bytes.write(Buffer.from('row\n'));
    await new Promise<void>((resolve) => {
      bytes.uncork();
      bytes.write(Buffer.alloc(0), () => resolve());
    });
    const data = t.sent.filter((f) => f.kind?.$case === 'data');
    expect(data).toHaveLength(1);
    expect(data[0]?.kind?.$case === 'data' && data[0].kind.data.toString()).toBe('row\n'.repeat(100));
  });

  it('ends the tunnel stream with a half-close when the engine is done', async () => {
    const t = tunnel();
    const bytes = frameStreamDuplex(t.near, codec);
    bytes.resume();
    await new Promise<void>((resolve) => bytes.end(Buffer.from('bye'), resolve));
    expect(t.sent.map((f) => f.kind?.$case)).toEqual(['data', 'halfClose']);
    expect(t.ended()).toBe(true);
  });

  it('surfaces a reset from the peer as an error with its message', async () => {
    const t = tunnel();
    const bytes = frameStreamDuplex(t.near, codec);
    const failed = new Promise<Error>((resolve) => bytes.once('error', resolve));
    t.deliver({ kind: { $case: 'reset', reset: { message: 'client went away' } } });
    expect((await failed).message).toBe('client went away');
  });

  it('pauses the tunnel stream while nobody reads the bytes', async () => {
    const t = tunnel();
    const bytes = frameStreamDuplex(t.near, codec);
    const tick = () => new Promise((resolve) => setImmediate(resolve));
    await tick();
    for (let i = 0; i < 320; i++) t.deliver({ kind: { $case: 'data', data: Buffer.alloc(4096) } });
    await tick();
    expect(t.near.isPaused()).toBe(true);
    bytes.resume();
    await tick();
    expect(t.near.isPaused()).toBe(false);
  });

  it('sends bytes an engine framed into frameDataBuffer as one frame around them, intact', async () => {
    const { field, sent, bytes } = inPlaceFramer();
    // Both large enough to be framed in place beside other writes (MIN_UNCOPIED_BESIDE_BYTES).
    const batches = [frameDataBuffer(100 * 1024).fill('r'), frameDataBuffer(6000).fill('s')];
    const before = Buffer.alloc(50, 'q'); // an ordinary buffer between them: copied into a frame
    bytes.cork();
    bytes.write(batches[0]);
    bytes.write(before);
    bytes.write(batches[1]);
    await new Promise<void>((resolve) => {
      bytes.uncork();
      bytes.write(Buffer.alloc(0), () => resolve());
    });
    const payloads = sent.map((message) => dataEnvelopePayload(message, field)!);
    expect(Buffer.concat(payloads).equals(Buffer.concat([batches[0]!, before, batches[1]!]))).toBe(true);
    expect(payloads.map((p) => p.length)).toEqual([100 * 1024, 50, 6000]);
    expect(payloads[0]!.buffer).toBe(batches[0]!.buffer);
    expect(payloads[2]!.buffer).toBe(batches[1]!.buffer);
    // Claimed once: the same bytes written again are copied, not framed in place twice.
    expect(claimReadHeadroom(batches[0]!)).toBe(false);
  });

  it('sends the parts of a target read intact, the first one framed where it was read', async () => {
    // An HTTP response read in one piece: the relay parses the head and writes the body's parts.
    const head = Buffer.from('HTTP/1.1 200 OK\r\n\r\n');
    // The first part is large enough to be framed in place beside other writes; the second is not.
    const first = Buffer.alloc(6000, 'a');
    const second = Buffer.alloc(2000, 'b');
    const server = createServer((socket) => socket.end(Buffer.concat([head, first, second])));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const socket = connectWithFrameReads({
        host: '127.0.0.1',
        port: (server.address() as AddressInfo).port,
      });
      const reads = frameReadsReadable(socket)!;
      const read = (await reads.iterator().next()).value as Buffer;
      expect(read.length).toBe(head.length + first.length + second.length);

      const { field, sent, bytes } = inPlaceFramer();
      const firstPart = read.subarray(head.length, head.length + first.length);
      const secondPart = read.subarray(head.length + first.length);
      bytes.cork();
      bytes.write(firstPart);
      bytes.write(secondPart);
      await new Promise<void>((resolve) => {
        bytes.uncork();
        bytes.write(Buffer.alloc(0), () => resolve());
      });
      const payloads = sent.map((message) => dataEnvelopePayload(message, field)!);
      // The second part's frame header must not overwrite the first part's bytes, still queued.
      expect(Buffer.concat(payloads).equals(Buffer.concat([first, second]))).toBe(true);
      expect(payloads[0]!.buffer).toBe(read.buffer);
      expect(payloads[1]!.buffer).not.toBe(read.buffer);
      socket.destroy();
    } finally {
      server.close();
    }
  });

  it('sends a small target read written with other bytes as one frame with them', async () => {
    // A short HTTP response: the head the relay wrote and the body read with it leave as one
    // frame (one message per hop instead of two).
    const body = Buffer.alloc(64, 'x');
    const server = createServer((socket) => socket.end(body));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const socket = connectWithFrameReads({
        host: '127.0.0.1',
        port: (server.address() as AddressInfo).port,
      });
      const read = (await frameReadsReadable(socket)!.iterator().next()).value as Buffer;
      expect(read.equals(body)).toBe(true);
      const { field, sent, bytes } = inPlaceFramer();
      const head = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 64\r\n\r\n');
      bytes.cork();
      bytes.write(head);
      bytes.write(read);
      await new Promise<void>((resolve) => {
        bytes.uncork();
        bytes.write(Buffer.alloc(0), () => resolve());
      });
      const payloads = sent.map((message) => dataEnvelopePayload(message, field)!).filter((p) => p.length);
      expect(payloads).toHaveLength(1);
      expect(payloads[0]!.equals(Buffer.concat([head, body]))).toBe(true);
      socket.destroy();
    } finally {
      server.close();
    }
  });

  it('never frames around bytes the engine made itself after a quiet read (Node 24 pools buffers up to 32 KiB)', async () => {
    // A small response arrives in a quiet (16 KiB) read. The Kubernetes engine then masks its body
    // into a new buffer and serializes the head into another: both are small, so Node takes them
    // from its shared pool, where the read's buffer must not be (a frame header written in front
    // of the head would land in the masked body's last bytes: kubectl saw NUL bytes in a Secret).
    const server = createServer((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const socket = connectWithFrameReads({
        host: '127.0.0.1',
        port: (server.address() as AddressInfo).port,
      });
      const read = (await frameReadsReadable(socket)!.iterator().next()).value as Buffer;
      const masked = Buffer.from('{"data":{"password":"KioqKioqKio="}}');
      const head = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 36\r\n\r\n');

      // What grpc-js does with a message sent: its prefix written in front (in place).
      const { field, sent, bytes } = inPlaceFramer(frameInPlace);
      await new Promise<void>((resolve) => bytes.write(head, () => resolve()));
      await new Promise<void>((resolve) => bytes.write(masked, () => resolve()));
      const payloads = sent.map((message) => dataEnvelopePayload(message, field)!);
      expect(Buffer.concat(payloads).toString()).toBe(
        `${head.toString()}{"data":{"password":"KioqKioqKio="}}`,
      );
      expect(claimReadHeadroom(Buffer.from('made after the read'))).toBe(false);
      // The read's own bytes can still be framed where they were read.
      expect(claimReadHeadroom(read)).toBe(true);
      socket.destroy();
    } finally {
      server.close();
    }
  });
});
