import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RELAY_HEAP_GROWING_PERCENT, relayHeapFlags } from './relay-heap';

describe('relay heap tuning', () => {
  it('sets the external memory accounting only on the V8 it was measured with', () => {
    const growing = `--heap-growing-percent=${RELAY_HEAP_GROWING_PERCENT}`;
    expect(relayHeapFlags('13.6.233.17-node.53')).toEqual([
      growing,
      '--external-memory-accounted-in-global-limit',
    ]);
    // Node.js 20's V8 does not know the flag (it would print an error at every start).
    expect(relayHeapFlags('11.3.244.8-node.38')).toEqual([growing]);
    expect(relayHeapFlags('14.1.0')).toEqual([growing]);
  });

  it("sets them on this Node.js's V8 without a word on stderr", () => {
    const built = join(__dirname, '..', 'dist', 'relay-heap.js');
    const script = `const heap = require(${JSON.stringify(built)});
      heap.tuneHeapForRelaying();
      process.stdout.write(JSON.stringify(heap.relayHeapFlags()));`;
    const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual(relayHeapFlags());
  });
});
