import { beforeAll, describe, expect, it } from 'vitest';
import { spawnCli, unusedPort } from '@tollgate/testing';

async function run(args: string[], env: Record<string, string | undefined> = {}) {
  const cli = spawnCli(args, { TOLLGATE_TOKEN: 'not-a-real-token', ...env });
  return { code: await cli.exited(), output: cli.output() };
}

/** Every failure is one line on stderr naming the whole command that failed, never a stack trace. */
describe('CLI errors name the full command (real `tollgate` processes, no gateway)', () => {
  let closedPort: number;
  beforeAll(async () => {
    closedPort = await unusedPort();
  });
  it.each([
    [
      ['admin', 'apply', '-f', '/nonexistent/policy.yaml'],
      'tollgate admin apply: cannot read /nonexistent/policy.yaml',
    ],
    [
      ['admin', 'policy', 'apply', '-f', '/nonexistent/policy.yaml'],
      'tollgate admin policy apply: cannot read /nonexistent/policy.yaml',
    ],
    [
      ['admin', 'agents', 'list'],
      'tollgate admin agents list: fetch failed: connect ECONNREFUSED 127.0.0.1:',
    ],
    [['start', '--http-port', 'eighty'], 'tollgate start: invalid configuration:'],
    [
      ['admin', 'apply', '--gateway', 'nope', '-f', '/dev/null'],
      'tollgate admin apply: invalid configuration:',
    ],
  ])('tollgate %s', async (args, expected) => {
    const result = await run(args, { TOLLGATE_URL: `http://127.0.0.1:${closedPort}` });
    expect(result.code).toBe(1);
    expect(result.output.startsWith(expected), result.output).toBe(true);
    expect(result.output).not.toMatch(/\n\s+at /);
  });
});
