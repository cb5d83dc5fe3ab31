import { Duplex } from 'node:stream';
import type { StreamFrame } from '@tollgate/proto';
import type { FrameCodec } from './frame-codec';
import type { FrameStream } from './socket-relay';
import { describe, expect, it } from 'vitest';
import { frameStreamDuplex } from './frame-stream.duplex';

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
});
