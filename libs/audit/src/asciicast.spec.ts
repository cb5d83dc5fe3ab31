import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AsciicastWriter, asciicastOutput, parseAsciicast, parseAsciicastEvent } from './asciicast';

describe('AsciicastWriter', () => {
  it('writes a v2 header and [time, code, data] lines', () => {
    const writer = new AsciicastWriter({
      width: 80,
      height: 24,
      timestamp: 1_764_093_600,
      env: { TERM: 'xterm' },
    });
    expect(writer.headerLine()).toBe(
      '{"version":2,"width":80,"height":24,"timestamp":1764093600,"env":{"TERM":"xterm"}}\n',
    );
    expect(writer.output(0.25, '$ ls\r\n')).toBe('[0.25,"o","$ ls\\r\\n"]\n');
    expect(writer.input(1.5, 'l')).toBe('[1.5,"i","l"]\n');
    expect(writer.resize(2, 120, 40)).toBe('[2,"r","120x40"]\n');
    expect(writer.marker(3, 'approval granted')).toBe('[3,"m","approval granted"]\n');
  });

  it('keeps a UTF-8 character split across chunks intact', () => {
    const writer = new AsciicastWriter({ width: 80, height: 24 });
    const bytes = new TextEncoder().encode('é€');
    expect(writer.output(0.1, bytes.subarray(0, 1))).toBeNull();
    expect(writer.output(0.2, bytes.subarray(1, 3))).toBe('[0.2,"o","é"]\n');
    expect(writer.output(0.3, bytes.subarray(3))).toBe('[0.3,"o","€"]\n');
  });

  it('flushes an incomplete character at the end as U+FFFD', () => {
    const writer = new AsciicastWriter({ width: 80, height: 24 });
    writer.output(0.1, new Uint8Array([0xe2, 0x82]));
    expect(writer.flush(1)).toEqual(['[1,"o","\uFFFD"]\n']);
    expect(writer.flush(1)).toEqual([]);
  });

  it('never lets time go backwards and rounds to microseconds', () => {
    const writer = new AsciicastWriter({ width: 80, height: 24 });
    expect(writer.output(2.0000004, 'a')).toBe('[2,"o","a"]\n');
    expect(writer.output(1, 'b')).toBe('[2,"o","b"]\n');
  });

  it('rejects nonsense sizes and times', () => {
    expect(() => new AsciicastWriter({ width: 0, height: 24 })).toThrow(RangeError);
    const writer = new AsciicastWriter({ width: 80, height: 24 });
    expect(() => writer.resize(1, 80.5, 24)).toThrow(RangeError);
    expect(() => writer.output(NaN, 'x')).toThrow(RangeError);
  });
});

describe('parseAsciicast', () => {
  it('reads back what the writer wrote', () => {
    const writer = new AsciicastWriter({ width: 100, height: 30, title: 'pg-prod shell' });
    const text = [
      writer.headerLine(),
      writer.output(0.5, 'hello "quoted" \u001b[1mbold\u001b[0m\n'),
      writer.input(0.75, 'x'),
      writer.resize(1, 90, 20),
      writer.output(1.25, 'bye'),
    ].join('');
    const result = parseAsciicast(text);
    expect(result).toEqual({
      ok: true,
      header: { version: 2, width: 100, height: 30, title: 'pg-prod shell' },
      events: [
        { time: 0.5, code: 'o', data: 'hello "quoted" \u001b[1mbold\u001b[0m\n' },
        { time: 0.75, code: 'i', data: 'x' },
        { time: 1, code: 'r', data: '90x20' },
        { time: 1.25, code: 'o', data: 'bye' },
      ],
    });
    expect(result.ok && asciicastOutput(result.events)).toBe('hello "quoted" \u001b[1mbold\u001b[0m\nbye');
    expect(result.ok && asciicastOutput(result.events, 1)).toBe('hello "quoted" \u001b[1mbold\u001b[0m\n');
  });

  it.each([
    ['an empty file', '', 1, /not a JSON object/],
    ['version 1', '{"version":1,"width":80,"height":24}\n', 1, /version 1/],
    ['a header without size', '{"version":2}\n', 1, /width and height/],
    [
      'a broken event',
      '{"version":2,"width":80,"height":24}\n[0.1,"o","a"]\n[0.2,"o"\n',
      3,
      /\[time, code, data\]/,
    ],
    ['an unknown code', '{"version":2,"width":80,"height":24}\n[0.1,"x","a"]\n', 2, /unknown event code "x"/],
    [
      'time going backwards',
      '{"version":2,"width":80,"height":24}\n[2,"o","a"]\n[1,"o","b"]\n',
      3,
      /backwards/,
    ],
  ])('rejects %s, naming the line', (_name, text, line, message) => {
    const result = parseAsciicast(text);
    expect(result).toMatchObject({ ok: false, line });
    expect(!result.ok && result.message).toMatch(message);
  });

  it('parses single event lines for streaming readers', () => {
    expect(parseAsciicastEvent('[1.5,"o","x"]')).toEqual({ time: 1.5, code: 'o', data: 'x' });
    expect(parseAsciicastEvent('[-1,"o","x"]')).toMatch(/non-negative/);
    expect(parseAsciicastEvent('[1,"o",3]')).toMatch(/data/);
  });
});

describe('asciicast round trip', () => {
  it('reproduces the output exactly, however the bytes were split', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 60 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (text, cuts) => {
          const bytes = new TextEncoder().encode(text);
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const writer = new AsciicastWriter({ width: 80, height: 24 });
          const lines = [writer.headerLine()];
          let start = 0;
          for (const [i, end] of [...points, bytes.length].entries()) {
            const line = writer.output(i * 0.1, bytes.subarray(start, end));
            if (line !== null) lines.push(line);
            start = end;
          }
          lines.push(...writer.flush(1));
          const parsed = parseAsciicast(lines.join(''));
          expect(parsed.ok && asciicastOutput(parsed.events)).toBe(text);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('asciicast lines as bytes', () => {
  const anyUtf16 = fc
    .array(fc.oneof(fc.integer({ min: 0, max: 0x7f }), fc.integer({ min: 0, max: 0xffff })), {
      maxLength: 80,
    })
    .map((codes) => String.fromCharCode(...codes));

  it('are the UTF-8 of the text lines, for any text (control characters, quotes, lone surrogates)', () => {
    fc.assert(
      fc.property(anyUtf16, fc.double({ min: 0, max: 1e6, noNaN: true }), (text, time) => {
        const asText = new AsciicastWriter({ width: 80, height: 24 });
        const asBytes = new AsciicastWriter({ width: 80, height: 24 });
        expect(asBytes.outputBytes(time, text)?.reduce((t, b) => t + String.fromCharCode(b), '')).toBe(
          text === '' ? undefined : Buffer.from(asText.output(time, text)!).toString('latin1'),
        );
        expect(asBytes.inputBytes(time, text)?.reduce((t, b) => t + String.fromCharCode(b), '')).toBe(
          text === '' ? undefined : Buffer.from(asText.input(time, text)!).toString('latin1'),
        );
      }),
      { numRuns: 1000 },
    );
  });

  it('are the UTF-8 of the text lines for any bytes, however they were split', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) => {
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const asText = new AsciicastWriter({ width: 80, height: 24 });
        const asBytes = new AsciicastWriter({ width: 80, height: 24 });
        let start = 0;
        for (const [i, end] of [...points, bytes.length].entries()) {
          const line = asText.output(i * 0.1, bytes.subarray(start, end));
          const lineBytes = asBytes.outputBytes(i * 0.1, bytes.subarray(start, end));
          expect(lineBytes?.reduce((t, b) => t + String.fromCharCode(b), '')).toBe(
            line === null ? undefined : Buffer.from(line).toString('latin1'),
          );
          start = end;
        }
      }),
      { numRuns: 500 },
    );
  });

  it('write a binary stream (NULs) the way JSON does, six bytes each', () => {
    const writer = new AsciicastWriter({ width: 80, height: 24 });
    expect(writer.outputBytes(1, new Uint8Array(3))?.reduce((t, b) => t + String.fromCharCode(b), '')).toBe(
      '[1,"o","\\u0000\\u0000\\u0000"]\n',
    );
    expect(
      writer.outputBytes(2, '\b\t\n\f\r"\\\x7f\x1b')?.reduce((t, b) => t + String.fromCharCode(b), ''),
    ).toBe('[2,"o","\\b\\t\\n\\f\\r\\"\\\\\x7f\\u001b"]\n');
  });
});
