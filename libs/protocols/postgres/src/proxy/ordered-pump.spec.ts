import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { OrderedPump, QUEUED_BYTES_HIGH_WATER } from './ordered-pump';

interface Item {
  readonly n: number;
  readonly frame: Buffer;
}

/** A source whose 'data' feeds the pump one item per chunk, as the engine's parsers do. */
function pumped(handle: (item: Item) => void | Promise<void>, highWater?: number) {
  const source = new PassThrough({ allowHalfOpen: true });
  const pump = new OrderedPump<Item>(
    source,
    handle,
    (error) => {
      throw error;
    },
    highWater,
  );
  let n = 0;
  source.on('data', (chunk: Buffer) => pump.push({ n: n++, frame: chunk }));
  return { source, pump };
}

describe('OrderedPump', () => {
  it('handles items in order, one waiting handler at a time', async () => {
    const seen: number[] = [];
    let release!: () => void;
    const { source } = pumped((item) => {
      seen.push(item.n);
      if (item.n === 1) return new Promise<void>((resolve) => (release = resolve));
    });
    for (let i = 0; i < 5; i++) source.write(Buffer.from([i]));
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual([0, 1]);
    release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual([0, 1, 2, 3, 4]);
  });

  it('keeps reading while a handler waits, so the end of the source is seen (a client that quits)', async () => {
    const { source } = pumped(() => new Promise<void>(() => undefined));
    let ended = false;
    source.on('end', () => (ended = true));
    source.write(Buffer.from('held statement'));
    source.write(Buffer.from('sync'));
    source.end();
    await new Promise((resolve) => setImmediate(resolve));
    expect(ended).toBe(true);
  });

  it('pauses the source once the queue behind a waiting handler holds too many bytes or items', async () => {
    const big = pumped(() => new Promise<void>(() => undefined));
    big.source.write(Buffer.alloc(1));
    for (let i = 0; i < 4 && !big.source.isPaused(); i++)
      big.source.write(Buffer.alloc(QUEUED_BYTES_HIGH_WATER / 3));
    await new Promise((resolve) => setImmediate(resolve));
    expect(big.source.isPaused()).toBe(true);

    const many = pumped(() => new Promise<void>(() => undefined), 8);
    for (let i = 0; i < 10; i++) many.source.write(Buffer.alloc(1));
    await new Promise((resolve) => setImmediate(resolve));
    expect(many.source.isPaused()).toBe(true);
  });

  it('resumes once the queue has drained', async () => {
    let release!: () => void;
    const handled: number[] = [];
    const { source } = pumped((item) => {
      handled.push(item.n);
      if (item.n === 0) return new Promise<void>((resolve) => (release = resolve));
    }, 4);
    for (let i = 0; i < 6; i++) source.write(Buffer.alloc(1));
    await new Promise((resolve) => setImmediate(resolve));
    expect(source.isPaused()).toBe(true);
    release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(source.isPaused()).toBe(false);
    expect(handled).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
