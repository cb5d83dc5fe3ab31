import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Client } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAgent,
  createTestDatabase,
  loginDevUser,
  makeTempDir,
  runSshClient,
  seedEmbeddedStore,
  spawnCli,
  spawnAgent,
  startSshd,
  startTunnelGateway,
  type CliProcess,
  type SshClientRun,
  type SshdServer,
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
    connections: [ssh-app]
    verbs: [connect]
`;

const LOGIN_TIMEOUT_MS = 2_000;
const MIB = 1024 * 1024;

/** OpenSSH options for a password login (the token) with no known_hosts and no config. */
function passwordOptions(port: number, flag: '-p' | '-P' = '-p'): string[] {
  return [
    flag,
    String(port),
    '-F',
    '/dev/null',
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'PreferredAuthentications=password',
    '-o',
    'NumberOfPasswordPrompts=1',
    '-o',
    'PubkeyAuthentication=no',
    '-o',
    'IdentityAgent=none',
    // INFO, so that OpenSSH prints the refusal's banner.
    '-o',
    'LogLevel=INFO',
  ];
}

/** OpenSSH options for a login with one private key file and nothing else (no agent, no config). */
function keyOptions(port: number, key: string): string[] {
  return [
    '-p',
    String(port),
    '-F',
    '/dev/null',
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'IdentityAgent=none',
    '-o',
    'IdentitiesOnly=yes',
    '-i',
    key,
    '-o',
    'LogLevel=INFO',
  ];
}

/** Only the key: no password prompt to fall back to. */
const KEY_ONLY = ['-o', 'BatchMode=yes', '-o', 'PreferredAuthentications=publickey'];

/** Makes an ed25519 key pair; resolves the private key's path and the fingerprint ssh-keygen prints. */
function newKey(path: string, comment: string): { key: string; fingerprint: string } {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path]);
  const [, fingerprint = ''] = execFileSync('ssh-keygen', ['-l', '-f', `${path}.pub`], {
    encoding: 'utf8',
  }).split(' ');
  return { key: path, fingerprint };
}

/** Runs ssh/scp/sftp with the password from the environment (sshpass -e). */
function runWithPassword(program: string, args: readonly string[], password: string): Promise<SshClientRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('sshpass', ['-e', program, ...args], {
      env: { ...process.env, SSHPASS: password },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/**
 * The gateway's own SSH listener: OpenSSH's ssh, scp and sftp straight to the gateway, with a
 * Tollgate token as the password and the connection as the user name, through a real agent to a
 * real sshd. One stack for the file; bad clients are shown not to harm a session running beside them.
 */
describe('SSH straight to the gateway (--ssh-port)', () => {
  let sshd: SshdServer;
  let gateway: TunnelGateway;
  let port: number;
  let fingerprint: string;
  let developer: string;
  const temp = makeTempDir('tollgate-ssh-gw-');
  const processes: CliProcess[] = [];
  const cleanups: (() => unknown)[] = [() => temp.remove()];
  const ssh = (user: string, password: string, ...args: string[]) =>
    runWithPassword('ssh', [...passwordOptions(port), `${user}@127.0.0.1`, ...args], password);

  beforeAll(async () => {
    sshd = await startSshd();
    cleanups.push(() => sshd.stop());
    const store = await createTestDatabase();
    cleanups.push(store.drop);
    gateway = await startTunnelGateway(
      [
        '--dev-idp',
        '--dev-idp-port',
        '0',
        '--ssh-port',
        '0',
        '--data-dir',
        seedEmbeddedStore(join(temp.path, 'data')),
      ],
      { DATABASE_URL: store.url, TOLLGATE_LISTENER_LOGIN_TIMEOUT_MS: String(LOGIN_TIMEOUT_MS) },
    );
    processes.push(gateway.cli);
    const listening = /"sshAddress":"127\.0\.0\.1:(\d+)","sshFingerprint":"(SHA256:[^"]+)"/.exec(
      gateway.cli.output(),
    );
    if (!listening) throw new Error(`no SSH listener in the gateway log:\n${gateway.cli.output()}`);
    port = Number(listening[1]);
    fingerprint = listening[2]!;
    expect((await gateway.api('POST', '/api/v1/policy', { document: POLICY })).status).toBe(201);
    const agentToken = await createAgent(gateway, 'edge-ssh');
    const created = await gateway.api('POST', '/api/v1/connections', {
      name: 'ssh-app',
      protocol: 'ssh',
      target: {
        host: sshd.host,
        port: sshd.port,
        username: sshd.user.name,
        hostKeyFingerprint: sshd.fingerprint,
      },
      credential: { password: 'env:SSH_PASSWORD' },
      agents: ['edge-ssh'],
    });
    expect(created.status).toBe(201);
    processes.push(
      await spawnAgent(gateway.grpcUrl, agentToken, {
        env: { SSH_PASSWORD: sshd.user.password, TOLLGATE_AGENT_SSH_HOST_PINS_FILE: join(temp.path, 'pins') },
      }),
    );
    developer = (await loginDevUser(gateway.httpUrl, 'developer')).access_token;
  }, 120_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('logs in with a token as password, the connection as user (or user%connection), with the host key in the data dir', async () => {
    const run = await ssh('ssh-app', developer, 'echo "$USER"; exit 3');
    expect(run).toMatchObject({ code: 3, stdout: `${sshd.user.name}\n` });
    const named = await ssh('developer@tollgate.test%ssh-app', developer, 'echo named');
    expect(named).toMatchObject({ code: 0, stdout: 'named\n' });
    // ssh's own order of methods (keyboard-interactive before password), as pipelines run sshpass.
    const defaultOrder = passwordOptions(port).filter(
      (option, at, all) =>
        option !== 'PreferredAuthentications=password' && all[at + 1] !== 'PreferredAuthentications=password',
    );
    const prompted = await runWithPassword(
      'ssh',
      [...defaultOrder, 'ssh-app@127.0.0.1', 'echo prompted'],
      developer,
    );
    expect(prompted).toMatchObject({ code: 0, stdout: 'prompted\n' });
    // The key clients see is the one kept in the data directory, whose fingerprint the log printed.
    const scan = await runWithPassword('ssh-keyscan', ['-p', String(port), '-t', 'ed25519', '127.0.0.1'], '');
    const keygen = await new Promise<string>((resolve) => {
      const child = spawn('ssh-keygen', ['-l', '-f', '-']);
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (t: string) => (out += t));
      child.once('close', () => resolve(out));
      child.stdin.end(scan.stdout);
    });
    expect(keygen).toContain(fingerprint);
    expect(readFileSync(join(temp.path, 'data', 'ssh_host_ed25519_key'), 'utf8')).toContain('PRIVATE KEY');
  });

  it('refuses a bad token, a user that is not the owner, and an unknown connection as auth failures with the reason, audited', async () => {
    const bad = await ssh('ssh-app', 'not-a-token', 'true');
    expect(bad.code).toBe(255);
    expect(bad.stderr).toContain('tollgate:');
    expect(bad.stderr).toContain('Permission denied');
    const wrong = await ssh('someone-else%ssh-app', developer, 'true');
    expect(wrong.code).toBe(255);
    expect(wrong.stderr).toContain('does not name the owner of this credential');
    const unknown = await ssh('no-such-connection', developer, 'true');
    expect(unknown.code).toBe(255);
    expect(unknown.stderr).toMatch(/tollgate: .*no-such-connection/);
    const audit = await gateway.api<{ items: { action: string; decision: string; reason?: string }[] }>(
      'GET',
      '/api/v1/audit?limit=50',
    );
    expect(
      audit.body.items.some(
        (r) => r.action === 'authenticate' && r.decision === 'deny' && /owner/.test(r.reason ?? ''),
      ),
    ).toBe(true);
  });

  it('ends the client when its session is killed', async () => {
    const client = spawn(
      'sshpass',
      ['-e', 'ssh', ...passwordOptions(port), 'ssh-app@127.0.0.1', 'sleep 600'],
      {
        env: { ...process.env, SSHPASS: developer },
        stdio: 'ignore',
      },
    );
    const exited = new Promise<number | null>((resolve) => client.once('close', resolve));
    const live = async () =>
      (
        await gateway.api<{ items: { id: string; clientAddr: string | null }[] }>(
          'GET',
          '/api/v1/sessions?connection=ssh-app&state=open',
        )
      ).body.items.filter((s) => (s.clientAddr ?? '').startsWith('ssh listener'));
    await expect.poll(async () => (await live()).length, { timeout: 15_000 }).toBe(1);
    const [session] = await live();
    expect((await gateway.api('POST', `/api/v1/sessions/${session.id}/kill`)).status).toBe(202);
    expect(await exited).toBe(255);
  });

  it('copies 100 MiB up with legacy scp and down with scp over SFTP, checksums equal', async () => {
    const local = join(temp.path, 'big.bin');
    await pipeline(
      (async function* () {
        for (let i = 0; i < 100; i++) yield randomBytes(MIB);
      })(),
      createWriteStream(local),
    );
    const sum = await sha256File(local);
    const up = await runWithPassword(
      'scp',
      ['-O', ...passwordOptions(port, '-P'), local, 'ssh-app@127.0.0.1:big.bin'],
      developer,
    );
    expect(up.code).toBe(0);
    expect(await sha256File(join(sshd.user.home, 'big.bin'))).toBe(sum);
    const down = join(temp.path, 'down.bin');
    // scp speaks SFTP by default (OpenSSH 9): the download goes through the sftp subsystem.
    const got = await runWithPassword(
      'scp',
      [...passwordOptions(port, '-P'), 'ssh-app@127.0.0.1:big.bin', down],
      developer,
    );
    expect(got.code).toBe(0);
    expect(await sha256File(down)).toBe(sum);
  }, 120_000);

  it('cuts off garbage, a stalled handshake and a flood of channels, while another session runs on', async () => {
    // A session that lives through the whole test.
    const beside = spawn('sshpass', ['-e', 'ssh', ...passwordOptions(port), 'ssh-app@127.0.0.1', 'cat'], {
      env: { ...process.env, SSHPASS: developer },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let echoed = '';
    let complaints = '';
    beside.stdout.setEncoding('utf8').on('data', (t: string) => (echoed += t));
    // Shown with a failure: OpenSSH says there why its session ended.
    beside.stderr.setEncoding('utf8').on('data', (t: string) => (complaints += t));
    const exited = new Promise<number | null>((resolve) => beside.once('close', resolve));
    beside.stdin.write('before\n');
    await expect.poll(() => echoed, { timeout: 15_000 }).toBe('before\n');

    const closedAfter = (socket: Socket) =>
      new Promise<{ ms: number; received: string }>((resolve) => {
        const started = Date.now();
        let received = '';
        socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
        socket.on('error', () => undefined);
        socket.once('close', () => resolve({ ms: Date.now() - started, received }));
      });
    // Garbage instead of an SSH identification: closed.
    const garbage = connect(port, '127.0.0.1');
    garbage.write(randomBytes(4096));
    const garbageEnd = await closedAfter(garbage);
    expect(garbageEnd.received).toMatch(/^SSH-2\.0-Tollgate/);
    // A client that says hello and then nothing: cut off after the login timeout.
    const stalled = connect(port, '127.0.0.1');
    stalled.write('SSH-2.0-OpenSSH_9.2\r\n');
    const stalledEnd = await closedAfter(stalled);
    expect(stalledEnd.ms).toBeGreaterThanOrEqual(LOGIN_TIMEOUT_MS - 200);

    // 1,000 session channels on one authenticated connection: only a bounded number is opened.
    const flood = new Client();
    await new Promise<void>((resolve, reject) => {
      flood.once('ready', () => resolve());
      flood.once('error', reject);
      flood.connect({ host: '127.0.0.1', port, username: 'ssh-app', password: developer });
    });
    const outcomes = await Promise.all(
      Array.from(
        { length: 1000 },
        () =>
          new Promise<'opened' | 'refused'>((resolve) => {
            flood.exec('sleep 5', (error, channel) => {
              if (error) return resolve('refused');
              channel.on('data', () => undefined);
              channel.stderr.on('data', () => undefined);
              resolve('opened');
            });
          }),
      ),
    );
    const opened = outcomes.filter((o) => o === 'opened').length;
    expect(opened).toBeLessThanOrEqual(64);
    expect(outcomes.filter((o) => o === 'refused').length).toBeGreaterThanOrEqual(936);
    flood.end();

    // The session beside them was not harmed (the flood's end, with requests of its still being
    // decided, once crashed the agent and every session on it).
    beside.stdin.write('after\n');
    await expect
      .poll(() => ({ echoed, complaints }), { timeout: 15_000 })
      .toMatchObject({ echoed: 'before\nafter\n' });
    beside.stdin.end();
    expect({ code: await exited, complaints }).toMatchObject({ code: 0 });
  }, 120_000);
  // Several CLI runs per test (4 took 27 s at a load of 30 on 2 cores): more than the default 60 s.
  describe('public-key login (keys registered with tollgate ssh-keys)', () => {
    const asDeveloper = async <T>(method: string, path: string, body?: unknown) => {
      const response = await fetch(`${gateway.httpUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${developer}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
    };
    const cli = async (...args: string[]) => {
      const run = spawnCli(['ssh-keys', ...args], {
        TOLLGATE_TOKEN: developer,
        TOLLGATE_URL: gateway.httpUrl,
      });
      return { code: await run.exited(), output: run.output() };
    };
    let registered: { key: string; fingerprint: string };

    it('registers a key (SHA256 fingerprint as ssh-keygen prints it, audited) and logs in with it as conn and user%conn', async () => {
      registered = newKey(join(temp.path, 'id_dev'), 'dev@laptop');
      const added = await asDeveloper<{ id: string; fingerprint: string; name: string; algorithm: string }>(
        'POST',
        '/api/v1/ssh-keys',
        { publicKey: readFileSync(`${registered.key}.pub`, 'utf8') },
      );
      expect(added).toMatchObject({
        status: 201,
        body: { fingerprint: registered.fingerprint, name: 'dev@laptop', algorithm: 'ssh-ed25519' },
      });
      const run = await runSshClient('ssh', [
        ...keyOptions(port, registered.key),
        ...KEY_ONLY,
        'ssh-app@127.0.0.1',
        'echo "$USER"; exit 4',
      ]);
      expect(run).toMatchObject({ code: 4, stdout: `${sshd.user.name}\n` });
      const named = await runSshClient('ssh', [
        ...keyOptions(port, registered.key),
        ...KEY_ONLY,
        'developer@tollgate.test%ssh-app@127.0.0.1',
        'echo named',
      ]);
      expect(named).toMatchObject({ code: 0, stdout: 'named\n' });
      const records = await gateway.auditRecords<{ target: string; decision: string }>('sshkey:add');
      expect(records).toContainEqual(
        expect.objectContaining({ target: `sshkey:${registered.fingerprint}`, decision: 'allow' }),
      );
      const listed = await cli('list');
      expect(listed.code).toBe(0);
      expect(listed.output).toContain(registered.fingerprint);
    }, 120_000);

    it('refuses an unregistered key, and the client falls back to the password', async () => {
      const other = newKey(join(temp.path, 'id_other'), 'other');
      const refused = await runSshClient('ssh', [
        ...keyOptions(port, other.key),
        ...KEY_ONLY,
        'ssh-app@127.0.0.1',
        'true',
      ]);
      expect(refused.code).toBe(255);
      expect(refused.stderr).toContain('Permission denied (publickey');
      const fallback = await runWithPassword(
        'ssh',
        [
          ...keyOptions(port, other.key),
          '-o',
          'PreferredAuthentications=publickey,password',
          '-o',
          'NumberOfPasswordPrompts=1',
          'ssh-app@127.0.0.1',
          'echo fell-back',
        ],
        developer,
      );
      expect(fallback).toMatchObject({ code: 0, stdout: 'fell-back\n' });
    }, 120_000);

    it('says what is wrong with a private key, a malformed key, an unknown type and a duplicate', async () => {
      const privateKey = await cli('add', registered.key);
      expect(privateKey.code).toBe(1);
      expect(privateKey.output).toContain('this is a private key: give the public key');
      const garbage = join(temp.path, 'garbage.pub');
      writeFileSync(garbage, 'ssh-ed25519 AAAA%%%% me@host\n');
      const malformed = await cli('add', garbage);
      expect(malformed.code).toBe(1);
      expect(malformed.output).toContain('the key data after "ssh-ed25519" is not base64');
      const dss = await asDeveloper<{ detail: string }>('POST', '/api/v1/ssh-keys', {
        publicKey: 'ssh-dss AAAAB3NzaC1kc3MAAACBAP me@old',
      });
      expect(dss.status).toBe(400);
      expect(dss.body.detail).toMatch(/unknown key type "ssh-dss": expected one of ssh-ed25519/);
      const again = await cli('add', `${registered.key}.pub`);
      expect(again.code).toBe(1);
      expect(again.output).toContain(`the SSH key ${registered.fingerprint} is already registered to you`);
    }, 120_000);

    it('refuses a removed key at once and ends the session it opened; the removal is audited', async () => {
      const live = spawn(
        'ssh',
        [...keyOptions(port, registered.key), ...KEY_ONLY, 'ssh-app@127.0.0.1', 'echo up; sleep 600'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let said = '';
      live.stdout.setEncoding('utf8').on('data', (t: string) => (said += t));
      live.stderr.setEncoding('utf8').on('data', () => undefined);
      const ended = new Promise<number | null>((resolve) => live.once('close', resolve));
      await expect.poll(() => said, { timeout: 15_000 }).toBe('up\n');
      const removed = await cli('remove', registered.fingerprint);
      expect(removed.code).toBe(0);
      expect(await ended).toBe(255);
      const reasons = async () =>
        JSON.stringify(
          (await gateway.api<{ items: unknown[] }>('GET', '/api/v1/sessions?connection=ssh-app')).body.items,
        );
      await expect
        .poll(reasons, { timeout: 10_000 })
        .toContain('the SSH key this session logged in with was removed');
      const run = await runSshClient('ssh', [
        ...keyOptions(port, registered.key),
        ...KEY_ONLY,
        'ssh-app@127.0.0.1',
        'true',
      ]);
      expect(run.code).toBe(255);
      expect(run.stderr).toContain('Permission denied (publickey');
      const records = await gateway.auditRecords<{ target: string }>('sshkey:remove');
      expect(records).toContainEqual(expect.objectContaining({ target: `sshkey:${registered.fingerprint}` }));
    }, 120_000);

    it('refuses the key of a disabled user with the reason, audited', async () => {
      const added = await asDeveloper('POST', '/api/v1/ssh-keys', {
        publicKey: readFileSync(`${registered.key}.pub`, 'utf8'),
      });
      expect(added.status).toBe(201);
      const me = await asDeveloper<{ subject: string }>('GET', '/api/v1/me');
      const id = me.body.subject.slice('user:'.length);
      expect((await gateway.api('PATCH', `/api/v1/users/${id}`, { disabled: true })).status).toBe(200);
      try {
        const run = await runSshClient('ssh', [
          ...keyOptions(port, registered.key),
          ...KEY_ONLY,
          'ssh-app@127.0.0.1',
          'true',
        ]);
        expect(run.code).toBe(255);
        expect(run.stderr).toMatch(/tollgate: .*disabled/);
        const records = await gateway.auditRecords<{ target: string; decision: string; reason: string }>(
          'authenticate',
          { order: 'desc', limit: 20 },
        );
        expect(records).toContainEqual(
          expect.objectContaining({ target: `sshkey:${registered.fingerprint}`, decision: 'deny' }),
        );
      } finally {
        await gateway.api('PATCH', `/api/v1/users/${id}`, { disabled: false });
      }
    }, 120_000);
  });
});
