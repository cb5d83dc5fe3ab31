import { EventEmitter } from 'node:events';
import type { StreamFrame } from '@tollgate/proto';
import { describe, expect, it, vi } from 'vitest';
import { gateClientData, type ClientGate } from './client-gate';
import { dataFrame, halfCloseFrame, type FrameCodec } from './frame-codec';
import type { FrameStream } from './socket-relay';

const codec: FrameCodec<StreamFrame, StreamFrame> = {
  wrap: (frame) => frame,
  unwrap: (frame) => ({ frame }),
};

function fakeStream() {
  const written: StreamFrame[] = [];
  const stream = Object.assign(new EventEmitter(), {
    write: (frame: StreamFrame) => (written.push(frame), true),
    end: () => undefined,
    pause: () => undefined,
    resume: () => undefined,
    writableEnded: false,
    destroyed: false,
  }) as FrameStream<StreamFrame>;
  return { stream, written };
}

const text = (frames: StreamFrame[]) =>
  frames.map((f) => (f.kind?.$case === 'data' ? f.kind.data.toString() : `<${f.kind?.$case}>`)).join('');

/** Holds until it has seen "GO" or "NO" (refused) at the start. */
const gate: ClientGate = (bytes) => {
  const s = bytes.toString();
  if (s.startsWith('NO')) return { verdict: 'refuse', reason: 'no', answer: Buffer.from('refused!') };
  if ('GO'.startsWith(s) || 'NO'.startsWith(s)) return { verdict: 'more' };
  return { verdict: 'pass' };
};

describe('gateClientData: the client’s first bytes held until the gate decides', () => {
  it('passes what it held in order, then everything after without a look', () => {
    const { stream } = fakeStream();
    const refused = vi.fn();
    const gated = gateClientData(stream, codec, gate, refused);
    const seen: StreamFrame[] = [];
    gated.on('data', (frame: StreamFrame) => seen.push(frame));
    stream.emit('data', dataFrame(Buffer.from('G')));
    expect(seen).toEqual([]);
    stream.emit('data', dataFrame(Buffer.from('O on')));
    stream.emit('data', dataFrame(Buffer.from('NO matter')));
    stream.emit('data', halfCloseFrame());
    expect(text(seen)).toBe('GO onNO matter<halfClose>');
    expect(refused).not.toHaveBeenCalled();
    // The relay asks the stream it writes to whether it may still write.
    expect([gated.writableEnded, gated.destroyed]).toEqual([false, false]);
    (stream as { writableEnded: boolean }).writableEnded = true;
    expect(gated.writableEnded).toBe(true);
  });

  it('refused: nothing of the client’s goes on, the client gets the answer, the target side is ended', () => {
    const { stream, written } = fakeStream();
    const refused = vi.fn();
    const gated = gateClientData(stream, codec, gate, refused);
    const seen: StreamFrame[] = [];
    gated.on('data', (frame: StreamFrame) => seen.push(frame));
    stream.emit('data', dataFrame(Buffer.from('N')));
    stream.emit('data', dataFrame(Buffer.from('O, secret')));
    stream.emit('data', dataFrame(Buffer.from('more secret')));
    stream.emit('data', halfCloseFrame());
    expect(refused).toHaveBeenCalledWith('no');
    expect(text(written)).toBe('refused!<halfClose>');
    expect(text(seen)).toBe('<halfClose>');
  });

  it('passes what it cannot decide on after the hold, and when the client finishes first', () => {
    vi.useFakeTimers();
    try {
      const { stream } = fakeStream();
      const gated = gateClientData(stream, codec, gate, vi.fn(), 50);
      const seen: StreamFrame[] = [];
      gated.on('data', (frame: StreamFrame) => seen.push(frame));
      stream.emit('data', dataFrame(Buffer.from('G')));
      vi.advanceTimersByTime(49);
      expect(seen).toEqual([]);
      vi.advanceTimersByTime(1);
      expect(text(seen)).toBe('G');
      const second = fakeStream();
      const other = gateClientData(second.stream, codec, gate, vi.fn(), 50);
      const got: StreamFrame[] = [];
      other.on('data', (frame: StreamFrame) => got.push(frame));
      second.stream.emit('data', dataFrame(Buffer.from('G')));
      second.stream.emit('data', halfCloseFrame());
      expect(text(got)).toBe('G<halfClose>');
    } finally {
      vi.useRealTimers();
    }
  });
});
