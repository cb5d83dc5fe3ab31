import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clientCommand, shellLine, shellQuote } from './client-command';

describe('the client command tollgate connect prints', () => {
  it('is psql with a conninfo string for PostgreSQL, as the README shows it', () => {
    expect(shellLine(clientCommand('postgres', 'pg-app', 5433))).toBe(
      'psql "host=127.0.0.1 port=5433 dbname=pg-app"',
    );
  });

  it('quotes every word so that a POSIX shell reads back exactly that word', () => {
    const words = [
      '',
      "it's",
      'a "quoted" $HOME `x` \\ !',
      ...fc.sample(fc.string({ unit: 'binary', maxLength: 12 }), { numRuns: 300, seed: 17 }),
    ].filter((word) => !word.includes('\0'));
    const shell = spawnSync('sh', ['-c', `printf '%s\\0' ${words.map(shellQuote).join(' ')}`], {
      encoding: 'utf8',
    });
    expect(shell.status, shell.stderr).toBe(0);
    expect(shell.stdout.split('\0').slice(0, -1)).toEqual(words);
  });
});
