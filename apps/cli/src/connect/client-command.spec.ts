import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clientArgs, clientCommand, shellLine, shellQuote } from './client-command';

describe('the client command tollgate connect prints', () => {
  it('is psql with a conninfo string for PostgreSQL, as the README shows it', () => {
    expect(shellLine(clientCommand('postgres', 'pg-app', 5433))).toBe(
      'psql "host=127.0.0.1 port=5433 dbname=pg-app"',
    );
  });

  it("takes the caller's own arguments after -- as a user would type them to curl and kubectl", () => {
    const curl = clientCommand('http', 'api', 8091);
    expect(clientArgs(curl)).toEqual(['http://127.0.0.1:8091/']);
    // A path is a path on the listener; the default URL is not fetched as well.
    expect(clientArgs(curl, ['-s', '-X', 'POST', '/api/x?y=1'])).toEqual([
      '-s',
      '-X',
      'POST',
      'http://127.0.0.1:8091/api/x?y=1',
    ]);
    expect(clientArgs(curl, ['-i'])).toEqual(['http://127.0.0.1:8091/', '-i']);
    expect(clientArgs(curl, ['-s', 'http://127.0.0.1:8091/v'])).toEqual(['-s', 'http://127.0.0.1:8091/v']);
    const kubectl = clientCommand('kubernetes', 'k8s', 8081);
    expect(clientArgs(kubectl)).toEqual(['--server=http://127.0.0.1:8081', 'get', 'namespaces']);
    expect(clientArgs(kubectl, ['get', 'pods', '-n', 'dev'])).toEqual([
      '--server=http://127.0.0.1:8081',
      'get',
      'pods',
      '-n',
      'dev',
    ]);
    expect(shellLine(clientCommand('postgres', 'pg', 5433), ['-c', 'select 1'])).toBe(
      'psql "host=127.0.0.1 port=5433 dbname=pg" -c "select 1"',
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
