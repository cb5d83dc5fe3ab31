import { describe, expect, it } from 'vitest';
import type { AsciicastEvent } from '@tollgate/audit';
import { playAsciicast } from './asciicast-player';

const events: AsciicastEvent[] = [
  { time: 0, code: 'o', data: '$ ' },
  { time: 1, code: 'i', data: 'ls\r' },
  { time: 1.1, code: 'o', data: 'ls\r\n' },
  { time: 1.2, code: 'o', data: 'a b\r\n$ ' },
  { time: 2, code: 'r', data: '100x30' },
  { time: 11.2, code: 'o', data: 'exit\r\n' },
];

function player(options: { speed?: number; maxIdle?: number; step?: boolean; steps?: number }) {
  const out: string[] = [];
  const sleeps: number[] = [];
  let steps = options.steps ?? Infinity;
  const nexts: string[] = [];
  const play = playAsciicast(events, {
    speed: options.speed ?? 1,
    ...(options.maxIdle !== undefined ? { maxIdle: options.maxIdle } : {}),
    step: options.step ?? false,
    write: (data) => out.push(data),
    sleep: (ms) => {
      sleeps.push(Math.round(ms));
      return Promise.resolve();
    },
    next: () => {
      nexts.push(out.join(''));
      return Promise.resolve(steps-- > 0);
    },
  });
  return { play, out, sleeps, nexts };
}

describe('playAsciicast', () => {
  it('writes exactly the recorded output, paced as recorded', async () => {
    const p = player({});
    await p.play;
    expect(p.out.join('')).toBe('$ ls\r\na b\r\n$ exit\r\n');
    expect(p.sleeps).toEqual([1100, 100, 10000]);
  });

  it('scales pauses by the speed and caps them at max idle', async () => {
    const p = player({ speed: 2, maxIdle: 2 });
    await p.play;
    expect(p.sleeps).toEqual([550, 50, 1000]);
  });

  it('steps one burst of output per Enter and stops when asked', async () => {
    const all = player({ step: true });
    await all.play;
    expect(all.nexts).toEqual(['', '$ ', '$ ls\r\na b\r\n$ ']);
    expect(all.sleeps).toEqual([]);
    const stopped = player({ step: true, steps: 2 });
    await stopped.play;
    expect(stopped.out.join('')).toBe('$ ls\r\na b\r\n$ ');
  });
});
