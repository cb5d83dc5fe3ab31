import { describe, expect, it } from 'vitest';
import {
  encodeFrame,
  FrameReader,
  FrameType,
  frameHeader,
  MAX_FRAME_PAYLOAD,
  MUX_HELLO,
  MuxFrameError,
  type Frame,
} from './mux-frames';

const frames: Frame[] = [
  { type: FrameType.Hello, channel: 0, version: MUX_HELLO },
  {
    type: FrameType.Open,
    channel: 2,
    open: {
      kind: 'session',
      request: { type: 'exec', command: 'cat /etc/hostname' },
      env: { LANG: 'C.UTF-8' },
      pty: { term: 'xterm', cols: 120, rows: 40, width: 0, height: 0, modes: { ECHO: 1 } },
    },
  },
  {
    type: FrameType.Open,
    channel: 4,
    open: { kind: 'session', request: { type: 'subsystem', name: 'sftp' }, env: {} },
  },
  {
    type: FrameType.Open,
    channel: 3,
    open: { kind: 'forwarded-tcpip', srcIP: '10.0.0.1', srcPort: 5000, destIP: '0.0.0.0', destPort: 8080 },
  },
  { type: FrameType.OpenOk, channel: 2 },
  { type: FrameType.OpenFail, channel: 4, message: 'too many channels' },
  { type: FrameType.Data, channel: 2, data: Buffer.from('hello\n') },
  { type: FrameType.Stderr, channel: 2, data: Buffer.from('oops\n') },
  { type: FrameType.Window, channel: 2, bytes: 1 << 20 },
  {
    type: FrameType.Request,
    channel: 2,
    request: { type: 'window-change', cols: 100, rows: 30, width: 0, height: 0 },
  },
  { type: FrameType.Request, channel: 2, request: { type: 'signal', name: 'INT' } },
  { type: FrameType.Request, channel: 2, request: { type: 'exit-status', code: 3 } },
  {
    type: FrameType.Request,
    channel: 2,
    request: { type: 'exit-signal', signal: 'TERM', coreDumped: false, description: '' },
  },
  { type: FrameType.Eof, channel: 2 },
  { type: FrameType.Close, channel: 2 },
  { type: FrameType.Global, channel: 0, request: { type: 'tcpip-forward', host: '127.0.0.1', port: 0 } },
  {
    type: FrameType.Global,
    channel: 1,
    request: { type: 'refused-forwarding', forwarding: { kind: 'x11' } },
  },
  {
    type: FrameType.Global,
    channel: 2,
    request: { type: 'refused-forwarding', forwarding: { kind: 'streamlocal', path: '/tmp/s' } },
  },
  { type: FrameType.GlobalReply, channel: 0, reply: { ok: true, port: 40123 } },
  { type: FrameType.GlobalReply, channel: 1, reply: { ok: false } },
];

/** A frame as the reader reports it (data as a string, to compare). */
const plain = (frame: Frame) => ('data' in frame ? { ...frame, data: frame.data.toString() } : frame);

function bad(bytes: Buffer): string {
  try {
    new FrameReader().push(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(MuxFrameError);
    return (error as Error).message;
  }
  throw new Error('the frame was accepted');
}

function raw(type: number, channel: number, payload: string | Buffer): Buffer {
  const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
  return Buffer.concat([frameHeader(type, channel, bytes.length), bytes]);
}

describe('SSH channel multiplexer frames', () => {
  it('reads back every kind of frame it writes', () => {
    const reader = new FrameReader();
    const read = reader.push(Buffer.concat(frames.map(encodeFrame)));
    expect(read.map(plain)).toEqual(frames.map(plain));
  });

  it('reads frames split anywhere; a data frame within one chunk is a view of it, not a copy', () => {
    const wire = Buffer.concat(frames.map(encodeFrame));
    for (let size = 1; size <= 17; size += 4) {
      const reader = new FrameReader();
      const read: Frame[] = [];
      for (let offset = 0; offset < wire.length; offset += size)
        read.push(...reader.push(wire.subarray(offset, offset + size)));
      expect(read.map(plain)).toEqual(frames.map(plain));
    }
    const big = encodeFrame({ type: FrameType.Data, channel: 2, data: Buffer.alloc(MAX_FRAME_PAYLOAD, 7) });
    const two = Buffer.concat([big, big]);
    const reader = new FrameReader();
    const first = reader.push(two.subarray(0, big.length + 1000));
    const second = reader.push(two.subarray(big.length + 1000));
    expect(first).toHaveLength(1);
    expect(first[0]!.type === FrameType.Data && first[0].data.buffer).toBe(two.buffer);
    expect(second).toHaveLength(1);
    expect(second[0]!.type === FrameType.Data && second[0].data).toEqual(Buffer.alloc(MAX_FRAME_PAYLOAD, 7));
  });

  it('refuses a frame whose length is out of range, an unknown type and a payload where none belongs', () => {
    const huge = Buffer.alloc(9);
    huge.writeUInt32BE(MAX_FRAME_PAYLOAD + 6, 0);
    expect(bad(huge)).toMatch(/^bad frame: length 65542 is outside 5\.\.65541/);
    expect(bad(Buffer.from([0, 0, 0, 2, 1, 0]))).toMatch(/length 2 is outside/);
    expect(bad(raw(42, 0, ''))).toBe('bad frame: unknown type 42');
    expect(bad(raw(FrameType.Eof, 2, 'x'))).toBe('bad frame: type 8 carries no payload');
    expect(bad(raw(FrameType.Window, 2, 'xy'))).toBe('bad frame: a window frame carries 4 bytes');
    expect(() => frameHeader(FrameType.Data, 2, MAX_FRAME_PAYLOAD + 1)).toThrow(RangeError);
  });

  it('refuses structured payloads that are not what they say', () => {
    expect(bad(raw(FrameType.Open, 2, 'not json'))).toBe('bad frame: the open is not JSON');
    expect(bad(raw(FrameType.Open, 2, '[1]'))).toBe('bad frame: the open is not an object');
    expect(bad(raw(FrameType.Open, 2, '{"kind":"x11"}'))).toBe('bad frame: unknown channel kind "x11"');
    expect(bad(raw(FrameType.Open, 2, '{"kind":"session","request":{"type":"exec"},"env":{}}'))).toBe(
      'bad frame: "command" is not a string',
    );
    expect(bad(raw(FrameType.Open, 2, '{"kind":"session","request":{"type":"shell"},"env":{"A":1}}'))).toBe(
      'bad frame: "env.A" has the wrong type',
    );
    expect(
      bad(
        raw(
          FrameType.Open,
          2,
          '{"kind":"direct-tcpip","srcIP":"a","srcPort":70000,"destIP":"b","destPort":1}',
        ),
      ),
    ).toBe('bad frame: "srcPort" is not an integer in 0..65535');
    expect(bad(raw(FrameType.Request, 2, '{"type":"keepalive"}'))).toBe(
      'bad frame: unknown channel request "keepalive"',
    );
    expect(bad(raw(FrameType.Request, 2, '{"type":"exit-status","code":-1}'))).toMatch(
      /"code" is not an integer/,
    );
    expect(bad(raw(FrameType.Global, 0, '{"type":"cancel-tcpip-forward"}'))).toMatch(
      /unknown global request/,
    );
    expect(bad(raw(FrameType.Global, 0, '{"type":"refused-forwarding","forwarding":{"kind":"tun"}}'))).toBe(
      'bad frame: unknown refused forwarding "tun"',
    );
    expect(
      bad(raw(FrameType.Global, 0, '{"type":"refused-forwarding","forwarding":{"kind":"streamlocal"}}')),
    ).toBe('bad frame: "path" is not a string');
    expect(bad(raw(FrameType.GlobalReply, 0, '{"ok":"yes"}'))).toBe('bad frame: "ok" is not a boolean');
  });

  it('says so when the other side speaks SSH instead (an older gateway, agent or CLI)', () => {
    expect(bad(Buffer.from('SSH-2.0-ssh2js1.17.0\r\n'))).toMatch(
      /speaks SSH on the session stream.*upgraded together/,
    );
  });
});
