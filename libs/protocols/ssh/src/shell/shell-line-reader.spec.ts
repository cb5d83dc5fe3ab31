import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ShellLineReader } from './shell-line-reader';

const feedAll = (chunks: readonly (string | Uint8Array)[]) => {
  const reader = new ShellLineReader();
  return chunks.flatMap((chunk) =>
    reader.feed(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk).map((l) => l.line),
  );
};

/** What a cooked-mode line editor makes of keys limited to text, Backspace, Ctrl-U and Enter. */
function cookedModel(keys: string): string[] {
  const lines: string[] = [];
  let line: string[] = [];
  for (const key of keys) {
    if (key === '\r') {
      lines.push(line.join(''));
      line = [];
    } else if (key === '\x7f') line.pop();
    else if (key === '\x15') line = [];
    else line.push(key);
  }
  return lines;
}

describe('ShellLineReader', () => {
  it('rebuilds lines from typed keys: text, Backspace, Ctrl-U, Ctrl-W', () => {
    expect(feedAll(['ls -l\r', 'rn\x7fm -x\x7frf /tmp/x\r', 'oops\x15echo ok\r', 'cat a b\x17c\r'])).toEqual([
      { text: 'ls -l' },
      { text: 'rm -rf /tmp/x' },
      { text: 'echo ok' },
      { text: 'cat a c' },
    ]);
  });

  it('marks a line uncertain after cursor keys, history recall or Tab, and forgets it on Ctrl-C', () => {
    const [history, tab, cleared] = feedAll(['\x1b[Aecho\r', 'cat fi\tx\r', '\x1b[D\x03echo new\r']);
    expect(history).toMatchObject({ text: 'echo' });
    expect(history?.uncertain).toContain('cursor');
    expect(tab).toMatchObject({ text: 'cat fi\tx' });
    expect(tab?.uncertain).toContain('Tab');
    expect(cleared).toEqual({ text: 'echo new' });
  });

  it('ends a line at Ctrl-D after text (a canonical-mode read hands it over without a newline)', () => {
    expect(feedAll(['touch x\x04\x04'])).toEqual([{ text: 'touch x' }]);
  });

  it('keeps a UTF-8 character split between two chunks whole', () => {
    const bytes = Buffer.from('echo é\r', 'utf8');
    expect(feedAll([bytes.subarray(0, 6), bytes.subarray(6)])).toEqual([{ text: 'echo é' }]);
  });

  it('property: for text, Backspace, Ctrl-U and Enter it agrees with a cooked-mode line editor, however the keys are split', () => {
    const key = fc.constantFrom('a', 'r', 'm', ' ', '-', '/', 'é', '\x7f', '\x15', '\r');
    fc.assert(
      fc.property(fc.array(key, { maxLength: 60 }), fc.array(fc.nat(60), { maxLength: 5 }), (keys, cuts) => {
        const bytes = Buffer.from(keys.join(''), 'utf8');
        const points = [...new Set(cuts.map((c) => Math.min(c, bytes.length)))].sort((a, b) => a - b);
        const chunks = [0, ...points].map((start, i) => bytes.subarray(start, [...points, bytes.length][i]));
        const lines = feedAll(chunks);
        expect(lines.map((l) => l.text)).toEqual(cookedModel(keys.join('')));
        expect(lines.every((l) => l.uncertain === undefined)).toBe(true);
      }),
    );
  });

  it('property: no byte sequence hides an Enter (each CR or LF ends a line of its own)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const ends = new ShellLineReader().feed(bytes).map((l) => bytes[l.end - 1]);
        const enters = bytes.filter((b) => b === 0x0d || b === 0x0a).length;
        expect(ends.filter((b) => b === 0x0d || b === 0x0a)).toHaveLength(enters);
      }),
    );
  });
});
