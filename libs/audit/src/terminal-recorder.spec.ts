import { describe, expect, it } from 'vitest';
import { asciicastOutput, parseAsciicast } from './asciicast';
import { TerminalRecorder, type RecordingChunkOut } from './terminal-recorder';

function recorder(maxBytes = 1 << 20, chunkBytes = 1 << 20) {
  let now = 1_764_093_600_000;
  const chunks: RecordingChunkOut[] = [];
  const rec = new TerminalRecorder(
    {
      header: { width: 80, height: 24, env: { TERM: 'xterm' } },
      maxBytes,
      chunkBytes,
      flushMs: 60_000,
      now: () => now,
    },
    (chunk) => chunks.push(chunk),
  );
  return {
    rec,
    chunks,
    tick: (ms: number) => (now += ms),
    text: () => Buffer.concat(chunks.map((c) => c.data)).toString('utf8'),
  };
}

describe('TerminalRecorder', () => {
  it('records output, input and resizes with their times as one asciicast v2 file', () => {
    const r = recorder();
    r.rec.onOutput(Buffer.from('$ '));
    r.tick(500);
    r.rec.onInput(Buffer.from('ls\r'));
    r.tick(250);
    r.rec.onOutput(Buffer.from('a  b\r\n$ '));
    r.rec.onResize(120, 40);
    r.tick(1000);
    r.rec.end();
    r.rec.onOutput('after the end');

    const parsed = parseAsciicast(r.text());
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.header).toMatchObject({ version: 2, width: 80, height: 24, timestamp: 1_764_093_600 });
    expect(parsed.events.map((e) => [e.time, e.code, e.data])).toEqual([
      [0, 'o', '$ '],
      [0.5, 'i', 'ls\r'],
      [0.75, 'o', 'a  b\r\n$ '],
      [0.75, 'r', '120x40'],
    ]);
    expect(r.chunks.at(-1)).toMatchObject({ final: true, truncated: false });
    expect(r.chunks.map((c) => c.seq)).toEqual(r.chunks.map((_, i) => i));
  });

  it('sends whole lines in chunks once enough is buffered', () => {
    const r = recorder(1 << 20, 100);
    for (let i = 0; i < 20; i++) r.rec.onOutput(`line ${i}\r\n`);
    r.rec.end();
    expect(r.chunks.length).toBeGreaterThan(2);
    for (const chunk of r.chunks) expect(chunk.data.at(-1)).toBe(0x0a);
    const parsed = parseAsciicast(r.text());
    expect(parsed.ok && asciicastOutput(parsed.events)).toBe(
      Array.from({ length: 20 }, (_, i) => `line ${i}\r\n`).join(''),
    );
  });

  it('stops at its size limit with a marker, and the chunk says truncated', () => {
    const r = recorder(400);
    for (let i = 0; i < 50; i++) r.rec.onOutput('0123456789');
    r.rec.end();
    const last = r.chunks.at(-1)!;
    expect(last).toMatchObject({ final: true, truncated: true });
    expect(r.chunks.filter((c) => c.final)).toHaveLength(1);
    const parsed = parseAsciicast(r.text());
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.events.at(-1)).toMatchObject({ code: 'm' });
    expect(parsed.events.at(-1)!.data).toContain('recording truncated');
    // Bounded: the limit plus the marker line.
    expect(Buffer.byteLength(r.text())).toBeLessThan(400 + 120);
  });
});
