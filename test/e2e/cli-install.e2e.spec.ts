import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  createAgent,
  createTestDatabase,
  loginDevUser,
  makeTempDir,
  repoRoot,
  spawnAgent,
  startTunnelGateway,
  type CliProcess,
  type TunnelGateway,
} from '@tollgate/testing';

const POLICY = `version: 1
roles:
  - name: admins
    subjects: ['group:tollgate-admins']
    connections: ['*']
    verbs: [connect, exec, admin, 'audit:read', review]
  - name: developers
    subjects: ['group:developers']
    connections: [pg-cli]
    verbs: [connect, exec]
`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The CLI as a new user gets it: installed with the README's one command into a fresh prefix, then
 * run from there (not from the repository) against a real gateway, agent and the machine's
 * PostgreSQL, with psql as the client.
 */
describe('the installed tollgate CLI (npm install -g ./apps/cli into a fresh prefix)', () => {
  const prefix = makeTempDir('tollgate-prefix-');
  const processes: CliProcess[] = [];
  const cleanups: (() => unknown)[] = [];
  let gateway: TunnelGateway;
  let database: string;
  let developerToken: string;

  /** Runs the installed `tollgate` with the prefix's bin first on PATH, as a shell would. */
  const tollgate = (args: string[], env: Record<string, string | undefined> = {}): Promise<Run> =>
    new Promise((resolve) => {
      const child = spawn(join(prefix.path, 'bin', 'tollgate'), args, {
        env: definedOnly({
          ...process.env,
          PATH: [join(prefix.path, 'bin'), dirname(process.execPath), process.env['PATH']].join(':'),
          TOLLGATE_URL: gateway.httpUrl,
          TOLLGATE_GRPC_URL: gateway.grpcUrl,
          TOLLGATE_TOKEN: developerToken,
          PGCONNECT_TIMEOUT: '20',
          ...env,
        }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });

  beforeAll(async () => {
    cleanups.push(prefix.remove);
    const install = spawnSync(
      'npm',
      ['install', '-g', '--prefix', prefix.path, '--no-audit', '--no-fund', './apps/cli'],
      {
        cwd: repoRoot(),
        encoding: 'utf8',
        env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env['PATH']}` },
      },
    );
    expect(install.status, `${install.stdout}\n${install.stderr}`).toBe(0);

    const store = await createTestDatabase();
    cleanups.push(store.drop);
    database = store.name;
    gateway = await startTunnelGateway(['--dev-idp', '--dev-idp-port', '0'], { DATABASE_URL: store.url });
    processes.push(gateway.cli);
    expect((await gateway.api('POST', '/api/v1/policy', { document: POLICY })).status).toBe(201);
    const agentToken = await createAgent(gateway, 'edge-cli');
    for (const name of ['pg-cli', 'pg-hidden']) {
      const created = await gateway.api('POST', '/api/v1/connections', {
        name,
        protocol: 'postgres',
        // The machine's PostgreSQL trusts loopback logins; the gateway's own store is the target.
        target: { host: '127.0.0.1', port: 5432, database, username: 'postgres', tls: { mode: 'disable' } },
        agents: ['edge-cli'],
      });
      expect(created.status).toBe(201);
    }
    processes.push(await spawnAgent(gateway.grpcUrl, agentToken));
    developerToken = (await loginDevUser(gateway.httpUrl, 'developer')).access_token;
  });

  afterAll(async () => {
    await Promise.all(processes.splice(0).map((p) => p.stop('SIGKILL')));
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('puts tollgate on the PATH of the prefix, a link to this build', async () => {
    const version = await tollgate(['--version']);
    expect(version).toMatchObject({ code: 0, stdout: '0.1.0\n' });
  });

  it('tollgate ls: a developer sees only the connections they may use, with verbs and the command that reaches each', async () => {
    const ls = await tollgate(['ls']);
    expect(ls.code, ls.stderr).toBe(0);
    const lines = ls.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+PROTOCOL\s+VERBS\s+REACH$/);
    expect(lines.slice(1)).toHaveLength(1);
    expect(lines[1]).toMatch(/^pg-cli\s+postgres\s+connect,exec\s+tollgate connect pg-cli /);
    expect(ls.stdout).not.toContain('pg-hidden');
  });

  it('tollgate ls without a login says how to log in, naming the command', async () => {
    const ls = await tollgate(['ls'], {
      TOLLGATE_TOKEN: undefined,
      TOLLGATE_CREDENTIALS_FILE: join(prefix.path, 'none.json'),
    });
    expect(ls.code).toBe(1);
    expect(ls.stderr).toMatch(/^tollgate ls: .*tollgate login/);
  });

  it('after a login, commands go to that gateway and connect finds its tunnel, with no URL given', async () => {
    // A saved login as `tollgate login --gateway URL` leaves it; no TOLLGATE_URL, TOLLGATE_GRPC_URL
    // or TOLLGATE_TOKEN: the gateway is the login's, the gRPC address the one that gateway advertises.
    const credentialsFile = join(prefix.path, 'saved-login.json');
    writeFileSync(
      credentialsFile,
      JSON.stringify({
        gatewayUrl: gateway.httpUrl,
        accessToken: developerToken,
        expiresAt: Math.floor(Date.now() / 1000) + 3600,
        subject: 'developer',
        name: 'developer',
      }),
      { mode: 0o600 },
    );
    const saved = {
      TOLLGATE_URL: undefined,
      TOLLGATE_GRPC_URL: undefined,
      TOLLGATE_TOKEN: undefined,
      TOLLGATE_CREDENTIALS_FILE: credentialsFile,
    };
    const ls = await tollgate(['ls'], saved);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toMatch(/^pg-cli\s+postgres/m);
    const run = await tollgate(['connect', 'pg-cli', '--exec', '--', '-XAt', '-c', 'select 6 * 7'], saved);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('42\n');
  });

  it('tollgate connect --exec runs psql through the gateway and exits with its status', async () => {
    const ok = await tollgate([
      'connect',
      'pg-cli',
      '--exec',
      '--',
      '-XAt',
      '-c',
      'select current_database(), 40 + 2',
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe(`${database}|42\n`);

    const failed = await tollgate([
      'connect',
      'pg-cli',
      '--exec',
      '--',
      '-X',
      '-v',
      'ON_ERROR_STOP=1',
      '-c',
      'select 1/0',
    ]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('division by zero');
  });

  it('tollgate connect prints the client command, which works as printed', async () => {
    const connect = spawn(join(prefix.path, 'bin', 'tollgate'), ['connect', 'pg-cli', '--port', '0'], {
      env: {
        ...process.env,
        TOLLGATE_URL: gateway.httpUrl,
        TOLLGATE_GRPC_URL: gateway.grpcUrl,
        TOLLGATE_TOKEN: developerToken,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      const line = await new Promise<string>((resolve, reject) => {
        connect.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const match = /connect with: (.+)\n/.exec(out);
          if (match?.[1]) resolve(match[1]);
        });
        connect.once('exit', () => reject(new Error(`connect exited:\n${out}`)));
      });
      expect(line).toMatch(/^psql "host=127\.0\.0\.1 port=\d+ dbname=pg-cli"$/);
      const run = spawnSync('sh', ['-c', `${line} -XAt -c 'select 7 * 6'`], { encoding: 'utf8' });
      expect(run.stdout, run.stderr).toBe('42\n');
    } finally {
      connect.kill('SIGKILL');
    }
  });

  it('admin apply -f: agent and connection documents, declarative; applied twice, the second changes nothing', async () => {
    const admin = { TOLLGATE_TOKEN: gateway.adminToken };
    const file = join(prefix.path, 'resources.yaml');
    writeFileSync(
      file,
      `kind: agent
name: edge-docs
description: from a file
---
kind: connection
name: pg-docs
protocol: postgres
tags: {env: dev}
target: {host: 127.0.0.1, port: 5432, database: ${database}, username: postgres}
agents: [edge-docs]
`,
    );
    const dry = await tollgate(['admin', 'apply', '-f', file, '--dry-run'], admin);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toBe('agent edge-docs: would be created\nconnection pg-docs: would be created\n');
    expect((await gateway.api('GET', '/api/v1/connections/pg-docs')).status).toBe(404);

    const first = await tollgate(['admin', 'apply', '-f', file], admin);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(
      /^agent edge-docs: created; its token, shown only once: tga_\S+\nconnection pg-docs: created\n$/,
    );
    // The surprising default, said where it bites, with the fix.
    expect(first.stderr).toContain('pg-docs: no tls is set, so the agent verifies TLS as verify-full');
    expect(first.stderr).toContain('tollgate admin connections edit pg-docs --tls disable');

    const second = await tollgate(['admin', 'apply', '-f', file], admin);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toBe('agent edge-docs: unchanged\nconnection pg-docs: unchanged\n');
  }, 120_000);

  it('admin connections edit merges; apply puts the file back and show prints a document apply takes', async () => {
    const admin = { TOLLGATE_TOKEN: gateway.adminToken };
    const edit = await tollgate(
      ['admin', 'connections', 'edit', 'pg-docs', '--tls', 'disable', '--tag', 'team=db'],
      admin,
    );
    expect(edit.code, edit.stderr).toBe(0);
    expect(edit.stderr).toBe('');
    const { body } = await gateway.api<{ tags: object; target: object }>(
      'GET',
      '/api/v1/connections/pg-docs',
    );
    expect(body.tags).toEqual({ env: 'dev', team: 'db' });
    expect(body.target).toEqual({
      host: '127.0.0.1',
      port: 5432,
      database,
      username: 'postgres',
      tls: { mode: 'disable' },
    });

    const file = join(prefix.path, 'resources.yaml');
    const dry = await tollgate(['admin', 'apply', '-f', file, '--dry-run'], admin);
    expect(dry.stdout).toContain(
      'connection pg-docs: would change {"tags":{"team":null},"target":{"tls":null}}',
    );
    expect((await tollgate(['admin', 'apply', '-f', file], admin)).stdout).toContain(
      'connection pg-docs: changed',
    );

    const show = await tollgate(['admin', 'connections', 'show', 'pg-docs'], admin);
    expect(parse(show.stdout)).toMatchObject({ kind: 'connection', name: 'pg-docs', agents: ['edge-docs'] });
    writeFileSync(join(prefix.path, 'shown.yaml'), show.stdout);
    const again = await tollgate(['admin', 'apply', '-f', join(prefix.path, 'shown.yaml')], admin);
    expect(again.stdout).toBe('connection pg-docs: unchanged\n');

    const list = await tollgate(['admin', 'connections', 'ls'], admin);
    expect(list.stdout).toMatch(/^pg-docs\s+postgres\s+127\.0\.0\.1:5432\/\S+\s+edge-docs\s+env=dev$/m);

    // Creating it again says how to change what exists instead.
    const twice = await tollgate(
      [
        ...['admin', 'connections', 'create', 'pg-docs', '--protocol', 'postgres', '--host', '127.0.0.1'],
        ...['--port', '5432', '--database', database, '--username', 'postgres', '--tls', 'disable'],
      ],
      admin,
    );
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('a connection named "pg-docs" already exists');
    expect(twice.stderr).toContain('tollgate admin connections edit pg-docs');
  }, 120_000);
});

function definedOnly(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}
