import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asciicastOutput, parseAsciicast } from '@tollgate/audit';
import {
  cliBin,
  createAgent,
  createTestDatabase,
  loginDevUser,
  makeTempDir,
  runSshClient,
  spawnAgent,
  spawnCli,
  spawnConnect,
  sshClientOptions,
  startSshd,
  startTmux,
  startTunnelGateway,
  type CliProcess,
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
    verbs: [connect, exec]
guardrails:
  - name: ssh-env
    match: {protocol: ssh}
    allow: {env: [LANG, 'TOLLGATE_OK_*']}
  - name: no-touch
    match: {protocol: ssh}
    deny: {commands: ['^touch\\b'], message: touching files is not allowed here}
`;

interface SessionDetail {
  events: { kind: string; event: Record<string, unknown> }[];
  recordings: {
    recording: number;
    kind: string;
    command: string | null;
    complete: boolean;
    sha256: string | null;
  }[];
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/**
 * SSH as a user meets it: OpenSSH's ssh and scp talk to `tollgate connect` (a local SSH server with
 * the user's own host key), through a real gateway and agent, to a real sshd the agent logs in to
 * with a password only it holds, the host key pinned.
 */
describe('SSH through tollgate connect (gateway + agent + sshd)', () => {
  let sshd: SshdServer;
  let gateway: TunnelGateway;
  let port: number;
  let developer: string;
  const home = makeTempDir('tollgate-ssh-user-');
  const processes: CliProcess[] = [];
  const cleanups: (() => unknown)[] = [() => home.remove()];
  const ssh = (...args: string[]) =>
    runSshClient('ssh', [...sshClientOptions(port), 'me@127.0.0.1', ...args]);

  const commandEvents = async (kind: 'command' | 'command.result' = 'command') => {
    const list = await gateway.api<{ items: { id: string }[] }>('GET', '/api/v1/sessions?connection=ssh-app');
    const events: Record<string, unknown>[] = [];
    for (const item of list.body.items) {
      const detail = await gateway.api<SessionDetail>('GET', `/api/v1/sessions/${item.id}`);
      events.push(...detail.body.events.filter((e) => e.kind === kind).map((e) => e.event));
    }
    return events;
  };

  beforeAll(async () => {
    sshd = await startSshd();
    cleanups.push(() => sshd.stop());
    const store = await createTestDatabase();
    cleanups.push(store.drop);
    gateway = await startTunnelGateway(['--dev-idp', '--dev-idp-port', '0'], { DATABASE_URL: store.url });
    processes.push(gateway.cli);
    expect((await gateway.api('POST', '/api/v1/policy', { document: POLICY })).status).toBe(201);
    const agentToken = await createAgent(gateway, 'edge-ssh');
    for (const [name, fingerprint] of [
      ['ssh-app', sshd.fingerprint],
      // Pins a key the server does not have: every session must be refused.
      [
        'ssh-impostor',
        `SHA256:${createHash('sha256').update('not the key').digest('base64').replace(/=+$/, '')}`,
      ],
    ] as const) {
      const created = await gateway.api('POST', '/api/v1/connections', {
        name,
        protocol: 'ssh',
        target: {
          host: sshd.host,
          port: sshd.port,
          username: sshd.user.name,
          hostKeyFingerprint: fingerprint,
        },
        credential: { password: 'env:SSH_PASSWORD' },
        agents: ['edge-ssh'],
      });
      expect(created.status).toBe(201);
    }
    processes.push(
      await spawnAgent(gateway.grpcUrl, agentToken, {
        env: { SSH_PASSWORD: sshd.user.password, TOLLGATE_AGENT_SSH_HOST_PINS_FILE: join(home.path, 'pins') },
      }),
    );
    developer = (await loginDevUser(gateway.httpUrl, 'developer')).access_token;
    const connect = await spawnConnect(gateway.grpcUrl, developer, 'ssh-app', {
      TOLLGATE_URL: gateway.httpUrl,
      TOLLGATE_SSH_HOST_KEY_FILE: join(home.path, 'host_key'),
    });
    processes.push(connect.cli);
    port = connect.port;
  }, 120_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('runs a command with no secret at the client, as the target user, with its exit status', async () => {
    const run = await ssh('id -un; exit 7');
    expect(run).toMatchObject({ code: 7, stdout: `${sshd.user.name}\n` });
    // The local server's host key was made once, in the user's directory.
    expect(readFileSync(join(home.path, 'host_key'), 'utf8')).toContain('OPENSSH PRIVATE KEY');
  });

  it('connect --exec runs ssh with no host-key question (the local server key is known to it) and exits with its status', async () => {
    // A user with no ~/.ssh at all and no terminal to answer "are you sure you want to continue".
    const fresh = makeTempDir('tollgate-ssh-exec-home-');
    cleanups.push(() => fresh.remove());
    const run = spawnCli(
      ['connect', 'ssh-app', '--grpc', gateway.grpcUrl, '--exec', '--', 'echo via-exec; exit 5'],
      {
        HOME: fresh.path,
        TOLLGATE_TOKEN: developer,
        TOLLGATE_URL: gateway.httpUrl,
        TOLLGATE_SSH_HOST_KEY_FILE: join(fresh.path, 'host_key'),
      },
    );
    expect(await run.exited()).toBe(5);
    expect(run.output()).toContain('via-exec\n');
    expect(run.output()).not.toContain('Host key verification failed');
    expect(existsSync(join(fresh.path, '.ssh', 'known_hosts'))).toBe(false);
  });

  it('denies a command by policy on stderr with exit status 1; sshd never runs it; the audit says so', async () => {
    const marker = join(sshd.user.home, `e2e-${randomBytes(4).toString('hex')}`);
    const run = await ssh(`touch ${marker}`);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('touching files is not allowed here');
    expect(existsSync(marker)).toBe(false);
    await expect
      .poll(commandEvents, { timeout: 10_000 })
      .toEqual(
        expect.arrayContaining([
          expect.objectContaining({ command: `touch ${marker}`, decision: 'deny', rule: 'no-touch' }),
        ]),
      );
  });

  it('copies a file up and down with scp, byte for byte', async () => {
    const data = randomBytes(512 * 1024);
    const local = join(home.path, 'up.bin');
    writeFileSync(local, data);
    const up = await runSshClient('scp', [...sshClientOptions(port, '-P'), local, 'me@127.0.0.1:up.bin']);
    expect(up.code).toBe(0);
    expect(sha256(readFileSync(join(sshd.user.home, 'up.bin')))).toBe(sha256(data));
    const down = await runSshClient('scp', [
      ...sshClientOptions(port, '-P'),
      'me@127.0.0.1:up.bin',
      join(home.path, 'down.bin'),
    ]);
    expect(down.code).toBe(0);
    expect(sha256(readFileSync(join(home.path, 'down.bin')))).toBe(sha256(data));
  });

  it('ends the client and the command at the target when the session is killed', async () => {
    const marker = `sleep ${3000 + Math.floor(Math.random() * 1000)}`;
    const client = spawn('ssh', [...sshClientOptions(port), 'me@127.0.0.1', marker], { stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => client.once('close', resolve));
    const running = () => {
      try {
        return execFileSync('pgrep', ['-u', sshd.user.name, '-f', `^${marker}$`], {
          encoding: 'utf8',
        }).trim();
      } catch {
        return '';
      }
    };
    await expect.poll(running, { timeout: 15_000 }).not.toBe('');
    const list = await gateway.api<{ items: { id: string; state: string }[] }>(
      'GET',
      '/api/v1/sessions?connection=ssh-app&state=open',
    );
    const live = list.body.items.filter((s) => s.state !== 'closed');
    expect(live).toHaveLength(1);
    expect((await gateway.api('POST', `/api/v1/sessions/${live[0].id}/kill`)).status).toBe(202);
    expect(await exited).toBe(255);
    // sshd hangs up on the command when the agent's connection to it ends.
    await expect.poll(running, { timeout: 15_000 }).toBe('');
  });

  it('records a shell driven through tmux (exit status, Ctrl-C, window size); the replay shows what it printed', async () => {
    const tmux = startTmux();
    cleanups.push(() => tmux.stop());
    const exitFile = join(home.path, 'shell-exit');
    const sshLine = ['ssh', '-tt', ...sshClientOptions(port), 'me@127.0.0.1'].join(' ');
    // Echo stays off until Enter, so the raw copy of the pane holds only what ssh printed. Enter is
    // pressed once echo is off (the shell says so in a file, not on the screen): pressed before, the
    // terminal echoed it into the copy on a loaded machine.
    const echoOff = join(home.path, 'shell-echo-off');
    tmux.open(
      'shell',
      `stty -echo; touch ${echoOff}; read go; stty echo; ${sshLine}; echo $? > ${exitFile}; exec sleep 600`,
      { columns: 100, rows: 30 },
    );
    await expect.poll(() => existsSync(echoOff), { timeout: 15_000 }).toBe(true);
    const raw = tmux.pipe('shell');
    tmux.keys('shell', 'Enter');
    const shows = (text: string) =>
      expect.poll(() => tmux.screen('shell'), { timeout: 20_000 }).toContain(text);
    const run = async (line: string, expected: string) => {
      tmux.type('shell', line);
      tmux.keys('shell', 'Enter');
      await shows(expected);
    };
    await shows('$');
    await run('echo recorded-$((6*7))', 'recorded-42');
    // Ctrl-C reaches the command through the PTY; the shell reports it as 128+SIGINT.
    await run('sleep 300', 'sleep 300');
    tmux.keys('shell', 'C-c');
    await run('echo "status $?"', 'status 130');
    // A window change reaches the target's PTY.
    tmux.resize('shell', { columns: 120, rows: 40 });
    await run('stty size', '40 120');
    tmux.type('shell', 'exit 5');
    tmux.keys('shell', 'Enter');
    await expect
      .poll(() => (existsSync(exitFile) ? readFileSync(exitFile, 'utf8').trim() : ''), { timeout: 20_000 })
      .toBe('5');
    const printed = tmux.screen('shell');

    // The session's recording, complete once the shell ended.
    const list = await gateway.api<{ items: { id: string }[] }>(
      'GET',
      '/api/v1/sessions?connection=ssh-app&limit=1',
    );
    const id = list.body.items[0].id;
    const recordings = async () =>
      (await gateway.api<SessionDetail>('GET', `/api/v1/sessions/${id}`)).body.recordings.map(
        (r) => `${r.recording} ${r.kind} ${r.complete ? 'complete' : 'open'} ${r.sha256 ? 'hashed' : ''}`,
      );
    await expect.poll(recordings, { timeout: 15_000 }).toEqual(['1 shell complete hashed']);
    const response = await fetch(`${gateway.httpUrl}/api/v1/sessions/${id}/recording`, {
      headers: { authorization: `Bearer ${gateway.adminToken}` },
    });
    expect(response.headers.get('content-type')).toContain('application/x-asciicast');
    const cast = await response.text();
    const parsed = parseAsciicast(cast);
    if (!parsed.ok) throw new Error(`not asciicast: ${parsed.message}`);
    expect(parsed.header).toMatchObject({ version: 2, width: 100, height: 30 });
    expect(parsed.events).toContainEqual(expect.objectContaining({ code: 'r', data: '120x40' }));
    expect(
      parsed.events
        .filter((e) => e.code === 'i')
        .map((e) => e.data)
        .join(''),
    ).toContain('echo recorded-');
    // The recorded output is, byte for byte, what ssh printed into the terminal.
    expect(asciicastOutput(parsed.events)).toBe(readFileSync(raw, 'utf8'));
    // The sha256 on the session's audit chain is the stored file's.
    const detail = await gateway.api<SessionDetail>('GET', `/api/v1/sessions/${id}`);
    const event = detail.body.events.find((e) => e.kind === 'session.recording')?.event;
    expect(event).toMatchObject({ sha256: sha256(Buffer.from(cast)), kind: 'shell', truncated: false });

    // Replayed by `tollgate sessions play` in a terminal of the final size, it shows the same screen.
    tmux.open(
      'replay',
      `${process.execPath} ${cliBin()} sessions play ${id} --speed 20 --max-idle 0.1; exec sleep 600`,
      { columns: 120, rows: 40 },
      { TOLLGATE_URL: gateway.httpUrl, TOLLGATE_TOKEN: gateway.adminToken },
    );
    await expect.poll(() => tmux.screen('replay'), { timeout: 20_000 }).toBe(printed);
  });

  it('a denied line typed at a shell cannot be yanked back (Ctrl-Y) or recalled and run', async () => {
    const tmux = startTmux();
    cleanups.push(() => tmux.stop());
    const marker = join(sshd.user.home, `e2e-yank-${randomBytes(4).toString('hex')}`);
    const sshLine = ['ssh', '-tt', ...sshClientOptions(port), 'me@127.0.0.1'].join(' ');
    tmux.open('yank', `${sshLine}; exec sleep 600`, { columns: 100, rows: 30 });
    const shows = (text: string) =>
      expect.poll(() => tmux.screen('yank'), { timeout: 20_000 }).toContain(text);
    await shows('$');
    tmux.type('yank', `touch ${marker}`);
    tmux.keys('yank', 'Enter');
    await shows('touching files is not allowed here');
    // The gate discarded the line with Ctrl-U, which puts it in readline's kill ring: Ctrl-Y
    // brings it back, and Enter on what looks like an empty line ran it undecided.
    tmux.keys('yank', 'C-y');
    tmux.keys('yank', 'Enter');
    tmux.keys('yank', 'Up');
    tmux.keys('yank', 'Enter');
    tmux.type('yank', 'echo after-$((6*7))');
    tmux.keys('yank', 'Enter');
    await shows('after-42');
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses a target whose host key is not the pinned one, and the session record says why', async () => {
    const admin = await spawnConnect(gateway.grpcUrl, gateway.adminToken, 'ssh-impostor', {
      TOLLGATE_URL: gateway.httpUrl,
      TOLLGATE_SSH_HOST_KEY_FILE: join(home.path, 'host_key'),
    });
    processes.push(admin.cli);
    const run = await runSshClient('ssh', [...sshClientOptions(admin.port), 'me@127.0.0.1', 'true']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `host key mismatch: the SSH server at ${sshd.host}:${sshd.port} presented ${sshd.fingerprint}`,
    );
    const list = await gateway.api<{ items: { closeReason?: string; endReason?: string }[] }>(
      'GET',
      '/api/v1/sessions?connection=ssh-impostor',
    );
    expect(JSON.stringify(list.body.items)).toContain('host key mismatch');
  });
  it('passes only the environment variables the policy allows (SetEnv), and records the refused ones', async () => {
    // sshd accepts TOLLGATE_* and LANG: what is missing at the target was refused by Tollgate.
    const run = await ssh(
      '-o',
      'SetEnv=TOLLGATE_OK_A=yes TOLLGATE_NO=leak LANG=C.UTF-8',
      'printenv TOLLGATE_OK_A TOLLGATE_NO LANG',
    );
    // printenv prints the variables that are set (and fails for the one that is not).
    expect(run).toMatchObject({ stdout: 'yes\nC.UTF-8\n' });
    await expect
      .poll(() => commandEvents('command.result'), { timeout: 10_000 })
      .toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            command: '<env TOLLGATE_NO>',
            error: expect.stringMatching(/^refused: /) as unknown,
          }),
        ]),
      );
    // The value is never recorded, only the name.
    expect(JSON.stringify(await commandEvents('command.result'))).not.toContain('leak');
  });

  // Each run is a CLI process, a session and two SSH handshakes (agent to sshd, CLI to the engine):
  // 14-19 s each at a load of 30 on 2 cores, so the three runs of one test need more than 60 s.
  describe('tollgate exec on an SSH connection', () => {
    const exec = (command: string) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          [cliBin(), 'exec', 'ssh-app', '--grpc', gateway.grpcUrl, '-c', command],
          {
            env: { ...process.env, TOLLGATE_TOKEN: developer, TOLLGATE_URL: gateway.httpUrl },
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
        child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
        child.once('error', reject);
        child.once('close', (code) => resolve({ code, stdout, stderr }));
      });

    it('prints stdout and stderr apart and exits with the remote status (128 + signal for a signal)', async () => {
      const run = await exec('id -un; echo oops >&2; exit 7');
      expect(run).toEqual({ code: 7, stdout: `${sshd.user.name}\n`, stderr: 'oops\n' });
      expect(await exec('true')).toMatchObject({ code: 0, stdout: '' });
      const killed = await exec('kill -TERM $$');
      expect(killed.code).toBe(143);
    }, 120_000);

    it('is an exec session whose command is decided, recorded and replayable', async () => {
      const run = await exec('echo recorded-exec-output');
      expect(run.code).toBe(0);
      const list = await gateway.api<{ items: { id: string; verb: string }[] }>(
        'GET',
        '/api/v1/sessions?connection=ssh-app',
      );
      const sessions = await Promise.all(
        list.body.items
          .filter((s) => s.verb === 'exec')
          .map(async (s) => ({
            id: s.id,
            detail: (await gateway.api<SessionDetail>('GET', `/api/v1/sessions/${s.id}`)).body,
          })),
      );
      const mine = sessions.find((s) =>
        s.detail.recordings.some((r) => r.command === 'echo recorded-exec-output'),
      );
      expect(mine).toBeDefined();
      const cast = async () =>
        (
          await fetch(`${gateway.httpUrl}/api/v1/sessions/${mine!.id}/recording?n=1`, {
            headers: { authorization: `Bearer ${gateway.adminToken}` },
          })
        ).text();
      await expect.poll(cast, { timeout: 10_000 }).toContain('recorded-exec-output');
    }, 120_000);

    it("refuses a denied command with the rule's message and exit status 1; sshd never runs it", async () => {
      const marker = join(sshd.user.home, `exec-${randomBytes(4).toString('hex')}`);
      const run = await exec(`touch ${marker}`);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('touching files is not allowed here');
      expect(run.stdout).toBe('');
      expect(existsSync(marker)).toBe(false);
      await expect
        .poll(commandEvents, { timeout: 10_000 })
        .toEqual(
          expect.arrayContaining([
            expect.objectContaining({ command: `touch ${marker}`, decision: 'deny', rule: 'no-touch' }),
          ]),
        );
    }, 120_000);
  });
});
