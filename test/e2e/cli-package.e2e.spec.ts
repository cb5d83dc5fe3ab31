import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bootstrapAdminToken,
  loginDevUser,
  makeTempDir,
  MACHINE_POSTGRES,
  repoRoot,
  spawnCli,
  TEST_BOOTSTRAP_ADMIN_SECRET,
  type CliProcess,
} from '@tollgate/testing';

/**
 * The CLI as the registry would ship it: `npm pack` of apps/cli (its prepack bundles the workspace
 * code), installed from the tarball into a fresh prefix outside the repository, so nothing of the
 * repository's node_modules or builds is reachable. Then the installed `tollgate` runs the
 * quickstart (gateway, dev IdP, local agent, console) and a user lists and reaches a connection.
 */
describe('the published CLI package (npm pack of apps/cli, installed from the tarball)', () => {
  const work = makeTempDir('tollgate-package-');
  const prefix = join(work.path, 'prefix');
  const tollgate = join(prefix, 'bin', 'tollgate');
  const version = (
    JSON.parse(readFileSync(join(repoRoot(), 'apps/cli/package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
  /**
   * The environment of a shell outside the repository: this one (proxy, CA and npm settings stay)
   * without npm's lifecycle variables, NODE_PATH or Tollgate settings, and the prefix's bin first.
   */
  const shellEnv: Record<string, string | undefined> = {
    ...Object.fromEntries(
      Object.keys(process.env)
        .filter((key) => /^(npm_|INIT_CWD$|NODE_PATH$|TOLLGATE_)/i.test(key))
        .map((key) => [key, undefined]),
    ),
    TOLLGATE_CREDENTIALS_FILE: join(work.path, 'credentials.json'),
    PATH: [join(prefix, 'bin'), dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(':'),
  };
  const shell = (extra: Record<string, string> = {}) =>
    definedOnly({ ...process.env, ...shellEnv, ...extra });
  const cleanups: (() => unknown)[] = [work.remove];
  let started: CliProcess | undefined;
  let tarball: string;

  const run = (command: string, args: string[], cwd: string) =>
    spawnSync(command, args, { cwd, encoding: 'utf8', env: shell() });

  beforeAll(async () => {
    expect(relative(repoRoot(), work.path).startsWith('..')).toBe(true);
    const pack = run(
      'npm',
      ['pack', '--pack-destination', work.path, '--loglevel', 'error'],
      join(repoRoot(), 'apps/cli'),
    );
    expect(pack.status, `${pack.stdout}\n${pack.stderr}`).toBe(0);
    tarball = join(work.path, readdirSync(work.path).find((file) => file.endsWith('.tgz')) ?? 'none.tgz');

    // --prefer-offline: from the npm cache that the repository's `npm ci` filled, the registry for
    // what is missing there. --ignore-scripts, as the repository's allowScripts has it: the scripts
    // are ssh2's optional native build (it runs without), cpu-features' and a telemetry ping.
    const install = run(
      'npm',
      [
        'install',
        '-g',
        '--prefix',
        prefix,
        '--prefer-offline',
        '--ignore-scripts',
        '--no-audit',
        '--no-fund',
        tarball,
      ],
      work.path,
    );
    expect(install.status, `${install.stdout}\n${install.stderr}`).toBe(0);
  }, 300_000);

  afterAll(async () => {
    await started?.stop('SIGKILL');
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('the tarball holds the bundle, the console and the migrations, and declares no private package', () => {
    const files = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).stdout.split('\n');
    expect(files).toEqual(
      expect.arrayContaining([
        'package/bin/tollgate.js',
        'package/bundle/tollgate.js',
        'package/bundle/console/index.html',
        'package/bundle/prisma/migrations/migration_lock.toml',
        'package/npm-shrinkwrap.json',
      ]),
    );
    expect(files.filter((file) => /^package\/(dist|src)\//.test(file))).toEqual([]);
    const manifest = JSON.parse(
      spawnSync('tar', ['-xOzf', tarball, 'package/package.json'], { encoding: 'utf8' }).stdout,
    ) as { private?: boolean; dependencies: Record<string, string> };
    expect(manifest.private).toBeUndefined();
    expect(Object.keys(manifest.dependencies).filter((name) => name.startsWith('@tollgate/'))).toEqual([]);
    // Installed as files in the prefix, not as a link back into the repository.
    const installed = realpathSync(join(prefix, 'lib', 'node_modules', '@tollgate', 'cli'));
    expect(relative(work.path, installed).startsWith('..')).toBe(false);
  });

  it('tollgate --version', () => {
    const out = run(tollgate, ['--version'], work.path);
    expect({ status: out.status, stdout: out.stdout }).toEqual({ status: 0, stdout: `${version}\n` });
  });

  it('tollgate start: banner, console, and a developer lists and reaches a connection through the local agent', async () => {
    started = spawnCli(
      [
        'start',
        '--data-dir',
        join(work.path, 'data'),
        '--http-port',
        '0',
        '--grpc-port',
        '0',
        '--dev-idp-port',
        '0',
        '--postgres-port',
        '0',
        '--mysql-port',
        '0',
        '--ssh-port',
        '0',
      ],
      { ...shellEnv, TOLLGATE_BOOTSTRAP_ADMIN_SECRET: TEST_BOOTSTRAP_ADMIN_SECRET },
      tollgate,
    );
    const [, httpUrl] = (await started.waitFor(/console\s+(http:\/\/\S+)\//, 90_000)) as unknown as [
      string,
      string,
    ];
    const [, grpcAddress] = (await started.waitFor(/gRPC\s+(\S+)/)) as unknown as [string, string];
    await started.waitFor(/agent\s+"local"/);
    const banner = started.output();
    // Quiet: the banner is the first thing it prints.
    expect(banner.startsWith('Tollgate is running.\n'), banner).toBe(true);
    // tollgate is on this shell's PATH, so the banner names it as it is (no install hint).
    expect(banner).toMatch(/log in {4}tollgate login --gateway http:/);
    expect(banner).not.toContain('npm install -g');

    const page = await fetch(`${httpUrl}/`);
    expect(page.headers.get('content-type')).toContain('text/html');
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(await page.text())?.[1];
    expect((await fetch(`${httpUrl}${script}`)).status).toBe(200);

    // An admin of the new gateway is told how to add a connection.
    const empty = spawnSync(tollgate, ['ls'], {
      cwd: work.path,
      encoding: 'utf8',
      env: shell({
        TOLLGATE_URL: httpUrl,
        TOLLGATE_TOKEN: (await loginDevUser(httpUrl, 'admin')).access_token,
      }),
    });
    expect(empty.stdout).toMatch(
      /^no connections for .* yet: add one with `tollgate admin connections create NAME /,
    );

    const admin = await bootstrapAdminToken(httpUrl);
    for (const [name, tags] of [
      ['pg-packaged', { env: 'dev' }],
      ['pg-prod', { env: 'prod' }],
    ] as const) {
      const created = await fetch(`${httpUrl}/api/v1/connections`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          name,
          protocol: 'postgres',
          tags,
          target: {
            host: MACHINE_POSTGRES.host,
            port: MACHINE_POSTGRES.port,
            database: 'postgres',
            username: MACHINE_POSTGRES.user,
            tls: { mode: 'disable' },
          },
          agents: ['local'],
        }),
      });
      expect(created.status).toBe(201);
    }

    const developer = (await loginDevUser(httpUrl, 'developer')).access_token;
    const as = {
      TOLLGATE_URL: httpUrl,
      TOLLGATE_GRPC_URL: `http://${grpcAddress}`,
      TOLLGATE_TOKEN: developer,
      PGCONNECT_TIMEOUT: '20',
    };
    const ls = spawnSync(tollgate, ['ls'], {
      cwd: work.path,
      encoding: 'utf8',
      env: shell(as),
    });
    expect(ls.status, ls.stderr).toBe(0);
    expect(ls.stdout).toMatch(/^pg-packaged\s+postgres\s+connect,exec\s+tollgate connect pg-packaged /m);
    expect(ls.stdout).not.toContain('pg-prod');

    // psql through the installed client, the packaged gateway and its in-process agent (whose
    // PostgreSQL engine parses the statement with libpg-query's wasm).
    const psql = spawnSync(
      tollgate,
      ['connect', 'pg-packaged', '--exec', '--', '-XAt', '-c', 'select 40 + 2'],
      {
        cwd: work.path,
        encoding: 'utf8',
        env: shell(as),
      },
    );
    expect(psql.status, psql.stderr).toBe(0);
    expect(psql.stdout).toBe('42\n');

    expect(await started.stop('SIGTERM')).toBe(0);
  }, 180_000);
});

function definedOnly(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}
