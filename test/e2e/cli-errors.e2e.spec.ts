import { spawn } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliBin, makeTempDir, spawnCli, unusedPort } from '@tollgate/testing';

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
    [['admin', 'agents', 'list'], 'tollgate admin agents list: cannot reach the gateway at 127.0.0.1:'],
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

  it('an unreachable gateway says what to do', async () => {
    const result = await run(['sessions', 'ls'], { TOLLGATE_URL: `http://127.0.0.1:${closedPort}` });
    expect(result.output).toContain(
      `cannot reach the gateway at 127.0.0.1:${closedPort} (nothing listens there, ECONNREFUSED): is it running?`,
    );
    expect(result.output).toContain('`tollgate start`, or name yours with --gateway or TOLLGATE_URL');
  });

  it('tollgate connect on a taken local port names it and how to move', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const result = await run(['connect', 'pg', '--port', String(port)], {
        TOLLGATE_URL: `http://127.0.0.1:${closedPort}`,
      });
      expect(result.code).toBe(1);
      expect(result.output).toBe(
        `tollgate connect: 127.0.0.1:${port} is already in use (another program, another \`tollgate connect\` ` +
          'or a gateway listener is there): choose another port with --port, or --port 0 for a free one\n',
      );
    } finally {
      taken.close();
    }
  });
});

/** `tollgate audit --json | head -1`: the reader goes away and the command stops quietly. */
describe('output read by a pipe that closes early', () => {
  it('tollgate audit --json stops with status 0 and nothing on stderr (no EPIPE stack trace)', async () => {
    // A gateway's audit page far larger than a pipe's buffer, so the CLI is still writing when the
    // reader leaves.
    const items = Array.from({ length: 5000 }, (_, i) => ({
      seq: String(i + 1),
      at: '2026-12-05T00:00:00.000Z',
      subject: 'sa:ci',
      actorChain: [],
      action: 'command',
      target: 'connection:pg',
      decision: 'allow',
      reason: null,
      payload: { command: `select ${i}, '${'x'.repeat(200)}'` },
    }));
    const gateway = createHttpServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ items }));
    });
    await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = gateway.address() as { port: number };
      const cli = spawn(process.execPath, [cliBin(), 'audit', '--json'], {
        env: { ...process.env, TOLLGATE_TOKEN: 'not-a-real-token', TOLLGATE_URL: `http://127.0.0.1:${port}` },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      cli.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      let first = '';
      cli.stdout.once('data', (chunk: Buffer) => {
        first = chunk.toString('utf8').split('\n')[0];
        cli.stdout.destroy();
      });
      const code = await new Promise<number | null>((resolve) => cli.once('exit', resolve));
      expect(JSON.parse(first)).toMatchObject({ seq: '1', action: 'command' });
      expect(stderr).toBe('');
      expect(code).toBe(0);
    } finally {
      gateway.close();
    }
  });
});

/** A port another process holds is named with the listener and the setting that moves it. */
describe('a gateway whose port is taken says which listener, and how to move it', () => {
  let taken: Server;
  let port: number;
  const dir = makeTempDir('tollgate-port-taken-');
  beforeAll(async () => {
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    port = (taken.address() as { port: number }).port;
  });
  afterAll(() => {
    taken.close();
    dir.remove();
  });

  it.each([
    ['--grpc-port', 'the gRPC listener', '--grpc-port (or TOLLGATE_GRPC_PORT)'],
    ['--http-port', 'the HTTP API', '--http-port (or TOLLGATE_HTTP_PORT)'],
    ['--postgres-port', 'the PostgreSQL listener', '--postgres-port (or TOLLGATE_POSTGRES_PORT)'],
  ])('%s on a taken port', async (flag, what, setting) => {
    const ports = { '--http-port': '0', '--grpc-port': '0', '--postgres-port': '0' } as Record<
      string,
      string
    >;
    ports[flag] = String(port);
    const args = ['gateway', '--data-dir', dir.path, ...Object.entries(ports).flat()];
    const result = await run(args);
    expect(result.code).toBe(1);
    expect(result.output).toContain(
      `tollgate gateway: 127.0.0.1:${port} is already in use, so ${what} cannot listen there`,
    );
    expect(result.output).toContain(`choose another port with ${setting}`);
    expect(result.output).not.toMatch(/\n\s+at /);
  });
});
