import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tuneGarbageCollection } from './garbage-collection';

describe('tuneGarbageCollection', () => {
  it('leaves a V8 it was not measured with alone (it would print an error for an unknown flag)', () => {
    expect(tuneGarbageCollection('11.3.244.8-node.38')).toBe(false);
    expect(tuneGarbageCollection('14.1.0')).toBe(false);
  });

  it('sets the flag on the V8 of the supported Node.js without a word on stderr', () => {
    const script = `const { tuneGarbageCollection } = require(${JSON.stringify(join(__dirname, '..', 'dist', 'garbage-collection.js'))});
      process.stdout.write(String(tuneGarbageCollection()));`;
    const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe(String(/^13\./.test(process.versions.v8)));
  });
});
