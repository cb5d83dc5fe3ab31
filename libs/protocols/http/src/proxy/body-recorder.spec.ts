import { describe, expect, it } from 'vitest';
import { encodeChunk, LAST_CHUNK } from '../chunked-body.decoder';
import type { BodyFraming, HttpHeader } from '../http-messages';
import { BodyRecorder, TRUNCATION_MARGIN_BYTES, withoutSecrets, type RecordedBody } from './body-recorder';

const JSON_TYPE: HttpHeader[] = [['Content-Type', 'application/json; charset=utf-8']];
const capture = { maxBytes: 16, contentTypes: ['application/json', 'text/*'] };

/** Records `wire` (split into pieces of `step` bytes) as a response body under `capture`. */
function record(
  wire: Buffer,
  framing: BodyFraming,
  headers: readonly HttpHeader[] = JSON_TYPE,
  step = wire.length || 1,
  secrets: string[] = [],
): RecordedBody | undefined {
  const recorder = BodyRecorder.for('response', { response: capture, secrets }, headers, framing, true);
  if (!(recorder instanceof BodyRecorder)) return recorder;
  for (let at = 0; at < wire.length; at += step) recorder.write(wire.subarray(at, at + step));
  return recorder.result();
}

describe('BodyRecorder', () => {
  it('records a chunked body’s payload, whatever the pieces it arrives in', () => {
    const wire = Buffer.concat([
      encodeChunk(Buffer.from('{"a":')),
      encodeChunk(Buffer.from('1}')),
      LAST_CHUNK,
    ]);
    for (let step = 1; step <= wire.length; step++) {
      expect(record(wire, { kind: 'chunked' }, JSON_TYPE, step)).toEqual({ text: '{"a":1}' });
    }
  });

  it('keeps a margin past max_bytes for the masks and says the body was truncated', () => {
    const body = Buffer.from('x'.repeat(16 + TRUNCATION_MARGIN_BYTES + 100));
    const got = record(body, { kind: 'length', length: body.length }, [['content-type', 'text/plain']], 7);
    expect(got).toEqual({ text: 'x'.repeat(16 + TRUNCATION_MARGIN_BYTES), truncated: true });
  });

  it('leaves out a character cut in half at the end, and refuses text that is not UTF-8', () => {
    const body = Buffer.concat([
      Buffer.from('a'.repeat(16 + TRUNCATION_MARGIN_BYTES - 1)),
      Buffer.from('é€'),
    ]);
    expect(record(body, { kind: 'close' })).toEqual({
      text: 'a'.repeat(16 + TRUNCATION_MARGIN_BYTES - 1),
      truncated: true,
    });
    expect(record(Buffer.from([0x7b, 0xff, 0x7d]), { kind: 'close' })).toEqual({
      note: 'response: body not recorded (not UTF-8 text)',
    });
    expect(record(Buffer.from('a\u009b1m'), { kind: 'close' })).toEqual({
      note: 'response: body not recorded (binary)',
    });
  });

  it('records nothing of a compressed body, one of another type, one without a type, or no body', () => {
    const body = Buffer.from('{}');
    const framing: BodyFraming = { kind: 'length', length: 2 };
    expect(record(body, framing, [...JSON_TYPE, ['Content-Encoding', 'br']])).toEqual({
      note: 'response: br-encoded body not recorded',
    });
    expect(record(body, framing, [...JSON_TYPE, ['Content-Encoding', 'identity']])).toEqual({ text: '{}' });
    expect(record(body, framing, [['Content-Type', 'image/png']])).toEqual({
      note: 'response: image/png body not recorded (content type)',
    });
    expect(record(body, framing, [])).toEqual({ note: 'response: body without a content type not recorded' });
    expect(record(Buffer.alloc(0), { kind: 'none' })).toBeUndefined();
  });

  it('replaces the agent’s credential, and drops the start of one a cut left at the end', () => {
    expect(withoutSecrets('{"auth":"Bearer tok-123"}', ['tok-123'], false)).toBe(
      '{"auth":"Bearer [credential]"}',
    );
    expect(withoutSecrets('{"auth":"Bearer tok-1', ['tok-123'], true)).toBe('{"auth":"Bearer ');
    expect(withoutSecrets('{"auth":"Bearer tok-1', ['tok-123'], false)).toBe('{"auth":"Bearer tok-1');
  });
});
