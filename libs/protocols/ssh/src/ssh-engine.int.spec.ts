import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  runSshClient as runClient,
  sshClientOptions as clientOptions,
  startSshd,
  type SshdServer,
} from '@tollgate/testing';
import { asciicastOutput, parseAsciicast } from '@tollgate/audit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostKeyMismatchError } from './target/target-client';
import { MemoryHostKeyPins } from './target/host-key-pins';
import { SshEngine } from './engine/ssh.engine';
import { policyOf, RecordingCommandPort, sshSpec, startEngineFront } from './test-support/ssh-stack';
import type { SshFront } from './front/ssh-front';

const POLICY = `version: 1
guardrails:
  - name: no-touch
    match: {protocol: ssh}
    deny: {commands: ['^touch\\b'], message: touching files is not allowed here}
  - name: echo-approved-needs-approval
    match: {protocol: ssh}
    require_approval: {commands: ['^echo approved'], approvers: ['group:ops']}
  - name: no-forbidden-uploads
    match: {protocol: ssh}
    deny: {commands: ['^<sftp upload .*/forbidden'], message: nothing goes into forbidden}
  - name: no-vault-downloads
    match: {protocol: ssh}
    deny: {commands: ['^<sftp download .*/vault/'], message: nothing leaves the vault}
`;

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('SSH through the engine and the local front (real sshd, OpenSSH clients)', () => {
  let sshd: SshdServer;
  let front: SshFront;
  let commands: RecordingCommandPort;
  let sessions: readonly Promise<void>[];
  const ssh = (...args: string[]) =>
    runClient('ssh', [...clientOptions(front.port), 'anyone@127.0.0.1', ...args]);

  beforeAll(async () => {
    sshd = await startSshd();
    commands = new RecordingCommandPort(policyOf(POLICY));
    ({ front, sessions } = await startEngineFront(
      {
        host: sshd.host,
        port: sshd.port,
        username: sshd.user.name,
        fingerprints: [sshd.fingerprint],
        password: sshd.user.password,
      },
      commands,
    ));
  });

  afterAll(async () => {
    await front?.close();
    sshd?.stop();
  });

  it('runs an exec request as the connection user and returns its output and exit status', async () => {
    const run = await ssh('id -un; echo oops >&2; exit 3');
    expect(run.stdout).toBe(`${sshd.user.name}\n`);
    expect(run.stderr).toContain('oops');
    expect(run.code).toBe(3);
    expect(commands.decisions).toContain('allow: id -un; echo oops >&2; exit 3');
    expect(commands.results.at(-1)).toMatchObject({ error: 'exit status 3' });
  });

  it("records an exec command's output (stdout and stderr) as asciicast; the recording names the command", async () => {
    const before = commands.recordings.length;
    const run = await ssh('echo recorded-out; echo recorded-err >&2');
    expect(run.code).toBe(0);
    const recording = commands.recordings[before]!;
    expect(recording.start).toMatchObject({
      kind: 'exec',
      command: 'echo recorded-out; echo recorded-err >&2',
    });
    await expect.poll(() => recording.final, { timeout: 10_000 }).toBe(true);
    const parsed = parseAsciicast(recording.text);
    expect(parsed.ok && asciicastOutput(parsed.events)).toMatch(
      /recorded-out\n[\s\S]*recorded-err\n|recorded-err\n[\s\S]*recorded-out\n/,
    );
  });

  it('ends a running command when its recording cannot be stored (fail closed), saying why on stderr', async () => {
    const before = commands.recordings.length;
    const pending = ssh('echo started; sleep 30; echo not-reached');
    await expect
      .poll(() => commands.recordings[before]?.text ?? '', { timeout: 10_000 })
      .toContain('started');
    commands.recordings[before]!.refuse('the audit store refused the recording');
    const run = await pending;
    expect(run.stdout).not.toContain('not-reached');
    expect(run.stderr).toContain('its recording could not be stored (the audit store refused the recording)');
    expect(run.code).not.toBe(0);
  });

  it('passes only the environment variables the session allows, recording each refused name without its value', async () => {
    const before = commands.results.length;
    const run = await ssh(
      '-o',
      'SetEnv=LANG=C.UTF-8 TOLLGATE_SECRET=hunter2 LC_TIME=C',
      'printenv LANG TOLLGATE_SECRET LC_TIME',
    );
    // sshd's AcceptEnv has TOLLGATE_*: it is missing only because the allowlist (LANG, LC_*, TZ) refused it.
    expect(run).toMatchObject({ stdout: 'C.UTF-8\nC\n' });
    const refused = commands.results.slice(before).filter((r) => r.command.startsWith('<env '));
    expect(refused).toEqual([expect.objectContaining({ command: '<env TOLLGATE_SECRET>' })]);
    expect(JSON.stringify(refused)).not.toContain('hunter2');
  });

  it('runs one command in an exec session and refuses a shell or a subsystem there', async () => {
    const exec = await startEngineFront(
      {
        host: sshd.host,
        port: sshd.port,
        username: sshd.user.name,
        fingerprints: [sshd.fingerprint],
        password: sshd.user.password,
      },
      commands,
      'exec',
    );
    try {
      const options = [...clientOptions(exec.front.port), 'anyone@127.0.0.1'];
      expect(await runClient('ssh', [...options, 'echo once'])).toMatchObject({ code: 0, stdout: 'once\n' });
      const shell = await runClient('ssh', ['-tt', ...options]);
      expect(shell.code).toBe(1);
      expect(shell.stdout + shell.stderr).toContain('an exec session runs one command');
      const sftp = await runClient(
        'sftp',
        ['-b', '-', ...clientOptions(exec.front.port, '-P'), 'anyone@127.0.0.1'],
        'ls\n',
      );
      expect(sftp.code).not.toBe(0);
      expect(commands.results.map((r) => r.command)).toEqual(
        expect.arrayContaining(['<shell>', '<subsystem sftp>']),
      );
    } finally {
      await exec.front.close();
    }
  });

  it('denies an exec request by policy with the message on stderr; sshd never runs it', async () => {
    const marker = join(sshd.user.home, `denied-${randomBytes(4).toString('hex')}`);
    const run = await ssh(`touch ${marker}`);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('touching files is not allowed here');
    expect(existsSync(marker)).toBe(false);
    expect(commands.decisions).toContain(`deny: touch ${marker}`);
  });

  it('holds a command for approval with a message on stderr, then runs it once approved', async () => {
    commands.approve = undefined;
    const pending = ssh('echo approved-and-run');
    await expect.poll(() => commands.approve, { timeout: 15_000 }).toBeDefined();
    // Set by the port while the command waits (the poll above); not narrowed by the assignment.
    (commands.approve as ((allow: boolean) => void) | undefined)?.(true);
    const run = await pending;
    expect(run).toMatchObject({ code: 0, stdout: 'approved-and-run\n' });
    expect(run.stderr).toContain('"echo-approved-needs-approval" requires approval; waiting for a reviewer');
  });

  it('does not run a command approved after its client went away, and serves the next client', async () => {
    commands.approve = undefined;
    const marker = join(sshd.user.home, `late-${randomBytes(4).toString('hex')}`);
    // This client's session is the next one the engine opens (earlier tests' clients are done).
    const index = sessions.length;
    const client = spawn(
      'ssh',
      [...clientOptions(front.port), 'anyone@127.0.0.1', `echo approved > ${marker}`],
      {
        stdio: 'ignore',
      },
    );
    await expect.poll(() => commands.approve, { timeout: 15_000 }).toBeDefined();
    client.kill('SIGKILL');
    // The engine ended the session (its connection to the target is closed) while the command waited.
    await sessions[index];
    (commands.approve as ((allow: boolean) => void) | undefined)?.(true);
    // The late approval is a refused request of a session that is gone, nothing more: the engine
    // (the agent's process, with every other session it serves) runs on.
    const next = await ssh('echo still-serving');
    expect(next).toMatchObject({ code: 0, stdout: 'still-serving\n' });
    expect(existsSync(marker)).toBe(false);
  });

  it('reports a command killed by a signal as the signal', async () => {
    // The exec's shell leads its own process group: `kill 0` signals it.
    const run = await ssh('kill -TERM 0');
    // OpenSSH exits 255 when the remote command ended by a signal.
    expect(run.code).toBe(255);
    expect(commands.results.at(-1)).toMatchObject({ error: 'killed by signal TERM' });
  });

  it('gives a shell a PTY, decides each typed line, and passes the exit status', async () => {
    const marker = join(sshd.user.home, `shell-${randomBytes(4).toString('hex')}`);
    const shell = await runClient(
      'ssh',
      [...clientOptions(front.port), '-tt', 'anyone@127.0.0.1'],
      `stty -echo; echo cols; tput cols\ntouch ${marker}\necho after\nexit 4\n`,
    );
    expect(shell, JSON.stringify(shell)).toMatchObject({ code: 4 });
    expect(shell.stdout).toMatch(/cols\r?\n\d+/);
    expect(shell.stdout).toContain('after');
    expect(shell.stderr + shell.stdout).toContain('touching files is not allowed here');
    expect(existsSync(marker)).toBe(false);
    expect(commands.decisions).toContain('allow: <shell>');
    expect(commands.decisions).toContain(`deny: touch ${marker}`);
    expect(commands.decisions).toContain('allow: echo after');
  });

  it('copies files both ways with scp (SFTP protocol) and sftp, byte for byte', async () => {
    const data = randomBytes(1024 * 1024 + 17);
    const local = join(sshd.dir, 'upload.bin');
    writeFileSync(local, data);
    const remote = join(sshd.user.home, 'upload.bin');
    const up = await runClient('scp', [
      ...clientOptions(front.port, '-P'),
      local,
      `anyone@127.0.0.1:${remote}`,
    ]);
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    expect(sha256(readFileSync(remote))).toBe(sha256(data));

    const back = join(sshd.dir, 'download.bin');
    const down = await runClient(
      'sftp',
      [...clientOptions(front.port, '-P'), '-b', '-', 'anyone@127.0.0.1'],
      `get ${remote} ${back}\n`,
    );
    expect(down.code).toBe(0);
    expect(sha256(readFileSync(back))).toBe(sha256(data));
    expect(commands.decisions).toContain('allow: <subsystem sftp>');
    // Each transfer is recorded with its path, direction, size and the sha256 of what passed.
    expect(commands.results).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          command: `<sftp upload ${remote}> sha256:${sha256(data)}`,
          bytes: data.length,
        }),
        expect.objectContaining({
          command: `<sftp download ${remote}> sha256:${sha256(data)}`,
          bytes: data.length,
        }),
      ]),
    );
  });

  it('refuses an SFTP upload to a path the policy denies; the server never opens it', async () => {
    const local = join(sshd.dir, 'small.txt');
    writeFileSync(local, 'secret\n');
    const target = join(sshd.user.home, 'forbidden.txt');
    const run = await runClient(
      'sftp',
      [...clientOptions(front.port, '-P'), '-b', '-', 'anyone@127.0.0.1'],
      `put ${local} ${target}\n`,
    );
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/[Pp]ermission denied/);
    expect(existsSync(target)).toBe(false);
    expect(commands.decisions).toContain(`deny: <sftp upload ${target}>`);
  });

  it('holds every SFTP change to a denied directory, not only a write open (rename, rm, mkdir, chmod, links, dot and relative paths)', async () => {
    const home = sshd.user.home;
    const locked = join(home, 'locked');
    const setup = await ssh(
      'mkdir -p locked sub && echo keep > locked/keep.txt && chmod 644 locked/keep.txt && echo out > outside.txt',
    );
    expect(setup.code).toBe(0);
    const local = join(sshd.dir, 'sneak.txt');
    writeFileSync(local, 'sneaked\n');
    const policy = commands.policy;
    commands.policy = policyOf(`version: 1
guardrails:
  - name: locked-is-read-only
    match: {protocol: ssh}
    deny: {commands: ['^<sftp upload ${locked}/'], message: locked is read-only}
`);
    try {
      // Each line prefixed with '-' so that sftp's batch mode goes on after a refusal.
      const run = await runClient(
        'sftp',
        [...clientOptions(front.port, '-P'), '-b', '-', 'anyone@127.0.0.1'],
        [
          `-put ${local} ${home}//locked/slashes.txt`,
          `-put ${local} ${home}/./locked/dot.txt`,
          `-cd ${home}/sub`,
          `-put ${local} ../locked/relative.txt`,
          `-rename ${home}/outside.txt ${locked}/moved.txt`,
          `-rm ${locked}/keep.txt`,
          `-mkdir ${locked}/made`,
          `-chmod 600 ${locked}/keep.txt`,
          `-ln -s ${locked} ${home}/link`,
          `-ln ${locked}/keep.txt ${home}/hard.txt`,
          '',
        ].join('\n'),
      );
      // scp (SFTP protocol) names remote files relative to the home directory.
      const scp = await runClient('scp', [
        ...clientOptions(front.port, '-P'),
        local,
        'anyone@127.0.0.1:locked/scp.txt',
      ]);
      expect(scp.code).not.toBe(0);
      const plain = await runClient('scp', [
        ...clientOptions(front.port, '-P'),
        local,
        'anyone@127.0.0.1:plain.txt',
      ]);
      expect(plain.code).toBe(0);
      const after = await ssh('ls -A locked; stat -c %a locked/keep.txt; cat locked/keep.txt; ls -A');
      expect(after.stdout.split('\n').slice(0, 3)).toEqual(['keep.txt', '644', 'keep']);
      expect(after.stdout).not.toMatch(/\b(link|hard\.txt)\b/);
      expect(after.stdout).toMatch(/\bplain\.txt\b/);
      expect(run.stderr).toMatch(/[Pp]ermission denied/);
      expect(commands.decisions).toEqual(
        expect.arrayContaining([
          `deny: <sftp upload ${locked}/relative.txt>`,
          `deny: <sftp upload ${locked}/scp.txt>`,
          `allow: <sftp upload ${home}/plain.txt>`,
        ]),
      );
    } finally {
      commands.policy = policy;
    }
  });

  it('copies with legacy scp (exec of scp -t), decided as that command', async () => {
    const data = randomBytes(100_000);
    const recordingsBefore = commands.recordings.length;
    const local = join(sshd.dir, 'legacy.bin');
    writeFileSync(local, data);
    const run = await runClient('scp', [
      '-O',
      ...clientOptions(front.port, '-P'),
      local,
      'anyone@127.0.0.1:legacy.bin',
    ]);
    expect(run.code).toBe(0);
    expect(sha256(readFileSync(join(sshd.user.home, 'legacy.bin')))).toBe(sha256(data));
    expect(commands.decisions.some((d) => /^allow: scp .*-t/.test(d))).toBe(true);
    // File contents are not terminal output: scp's exec is audited, not recorded.
    expect(commands.recordings.length).toBe(recordingsBefore);
  });

  it('decides each file legacy scp uploads (scp -O: the SCP protocol over an exec) as an SFTP write', async () => {
    const home = sshd.user.home;
    expect((await ssh('mkdir -p forbidden up/forbidden')).code).toBe(0);
    const local = join(sshd.dir, 'legacy-up.txt');
    writeFileSync(local, 'legacy upload\n');
    mkdirSync(join(sshd.dir, 'tree/forbidden'), { recursive: true });
    writeFileSync(join(sshd.dir, 'tree/forbidden/inner.txt'), 'inner\n');
    const scp = (...args: string[]) => runClient('scp', ['-O', ...clientOptions(front.port, '-P'), ...args]);
    // Into the directory by a relative target (the file lands at HOME/forbidden/legacy-up.txt), by
    // an absolute file name, and inside a directory sent recursively.
    const intoDirectory = await scp(local, 'anyone@127.0.0.1:forbidden');
    const named = await scp(local, `anyone@127.0.0.1:${home}/forbidden/named.txt`);
    const recursive = await scp('-r', join(sshd.dir, 'tree'), 'anyone@127.0.0.1:up');
    for (const run of [intoDirectory, named, recursive]) {
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain('nothing goes into forbidden');
    }
    const allowed = await scp(local, 'anyone@127.0.0.1:');
    expect(allowed.code).toBe(0);
    const after = await ssh('ls -A forbidden up/forbidden up/tree/forbidden 2>&1; cat legacy-up.txt');
    expect(after.stdout).not.toMatch(/legacy-up\.txt\n.*legacy-up|named\.txt|inner\.txt/s);
    expect(after.stdout).toContain('legacy upload');
    expect(commands.decisions).toEqual(
      expect.arrayContaining([
        `deny: <sftp upload ${home}/forbidden>`,
        `deny: <sftp upload ${home}/forbidden/named.txt>`,
        `deny: <sftp upload ${home}/up/forbidden>`,
        `allow: <sftp upload ${home}/legacy-up.txt>`,
      ]),
    );
  });

  it('decides each file legacy scp downloads (scp -O: scp -f over an exec) as an SFTP read', async () => {
    const home = sshd.user.home;
    const made = await ssh(
      'mkdir -p box/vault box/open && echo key > box/vault/key.txt && echo fine > box/open/fine.txt',
    );
    expect(made.code).toBe(0);
    const scp = (...args: string[]) => runClient('scp', ['-O', ...clientOptions(front.port, '-P'), ...args]);
    const named = await scp('anyone@127.0.0.1:box/vault/key.txt', join(sshd.dir, 'key-named.txt'));
    expect(named.code).not.toBe(0);
    expect(named.stderr).toContain('nothing leaves the vault');
    // A recursive copy of the directory above: the rest comes, the vault's files do not.
    const local = join(sshd.dir, 'box-copy');
    const recursive = await scp('-r', `anyone@127.0.0.1:${home}/box`, local);
    expect(recursive.code).not.toBe(0);
    expect(recursive.stderr).toContain('nothing leaves the vault');
    expect(existsSync(join(sshd.dir, 'key-named.txt'))).toBe(false);
    expect(existsSync(join(local, 'vault/key.txt'))).toBe(false);
    expect(readFileSync(join(local, 'open/fine.txt'), 'utf8')).toBe('fine\n');
    expect(commands.decisions).toEqual(
      expect.arrayContaining([
        `deny: <sftp download ${home}/box/vault/key.txt>`,
        `allow: <sftp download ${home}/box/open/fine.txt>`,
        `deny: <sftp download ${home}/box/vault/key.txt>`,
      ]),
    );
  });

  it('refuses local and remote port forwarding and records each attempt', async () => {
    const local = await ssh('-W', `127.0.0.1:${sshd.port}`);
    expect(local.code).toBe(255);
    const remote = await ssh('-o', 'ExitOnForwardFailure=yes', '-R', '0:127.0.0.1:9', 'true');
    expect(remote.code).toBe(255);
    expect(commands.results.map((r) => `${r.command} ${r.error ?? ''}`)).toEqual(
      expect.arrayContaining([
        `<direct-tcpip 127.0.0.1:${sshd.port}> refused: local port forwarding is not allowed through Tollgate`,
        expect.stringMatching(/^<tcpip-forward .*:0> refused: remote port forwarding/),
      ]),
    );
  });

  it('refuses X11 and Unix-socket forwarding asked of the front, and the engine records each attempt', async () => {
    // OpenSSH asks for X11 forwarding when DISPLAY is set (with fake credentials when xauth has none).
    const env = { ...process.env, DISPLAY: '127.0.0.1:77' };
    const run = await runClient(
      'ssh',
      [...clientOptions(front.port), '-o', 'ForwardX11=yes', 'anyone@127.0.0.1', 'true'],
      undefined,
      env,
    );
    expect(run.code).toBe(0); // the session itself runs; the forwarding is refused
    const socket = await ssh(
      '-o',
      'ExitOnForwardFailure=yes',
      '-R',
      `${join(sshd.dir, 'fwd.sock')}:127.0.0.1:9`,
      'true',
    );
    expect(socket.code).toBe(255);
    expect(commands.results.map((r) => `${r.command} ${r.error ?? ''}`)).toEqual(
      expect.arrayContaining([
        '<x11> refused: X11 forwarding is not allowed through Tollgate',
        expect.stringMatching(/^<streamlocal .*fwd\.sock> refused: Unix socket forwarding/),
      ]),
    );
  });

  it('refuses agent forwarding (ssh -A with a running ssh-agent) and records the attempt', async () => {
    // A real agent: OpenSSH asks for forwarding only when it can reach one.
    const socket = join(sshd.dir, `agent-${randomBytes(4).toString('hex')}.sock`);
    const agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 20));
      expect(existsSync(socket)).toBe(true);
      const before = commands.results.length;
      // The session runs; what the remote shell sees is no forwarded agent. OpenSSH requests
      // forwarding only when it reaches an agent (IdentityAgent, first given wins over the harness's
      // `none`, which would unset SSH_AUTH_SOCK).
      const run = await runClient('ssh', [
        '-o',
        `IdentityAgent=${socket}`,
        ...clientOptions(front.port),
        '-o',
        'ForwardAgent=yes',
        'anyone@127.0.0.1',
        'printenv SSH_AUTH_SOCK',
      ]);
      // printenv fails for a variable that is not set.
      expect(run).toMatchObject({ code: 1, stdout: '' });
      expect(commands.results.slice(before).map((r) => `${r.command} ${r.error ?? ''}`)).toContain(
        '<auth-agent> refused: agent forwarding is not allowed through Tollgate',
      );
    } finally {
      agent.kill();
    }
  });

  it('relays local port forwarding when policy grants forward, deciding each request as a command', async () => {
    commands.forwarding = true;
    try {
      // -W to sshd's own port: what comes back is the server's SSH identification.
      const run = await ssh('-W', `127.0.0.1:${sshd.port}`);
      expect(run.stdout).toMatch(/^SSH-2\.0-OpenSSH/);
      expect(commands.decisions).toContain(`allow: <direct-tcpip 127.0.0.1:${sshd.port}>`);
    } finally {
      commands.forwarding = false;
    }
  });

  it('decides a forwarding destination as the address sshd will reach, however it is written', async () => {
    const policy = commands.policy;
    commands.forwarding = true;
    commands.policy = policyOf(`version: 1
guardrails:
  - name: not-this-host
    match: {protocol: ssh}
    deny: {commands: ['^<direct-tcpip 127\\.0\\.0\\.1:'], message: not this host}
`);
    try {
      // inet_aton's forms (one number, hex, octal, fewer parts) and IPv4-mapped IPv6 all reach 127.0.0.1.
      for (const host of ['2130706433', '0x7f.1', '[::ffff:127.0.0.1]']) {
        const run = await ssh('-W', `${host}:${sshd.port}`);
        expect(run.stdout, host).not.toMatch(/SSH-2\.0-OpenSSH/);
      }
      expect(commands.decisions).toContain(`deny: <direct-tcpip 127.0.0.1:${sshd.port}>`);
    } finally {
      commands.forwarding = false;
      commands.policy = policy;
    }
  });

  describe('the target connection', () => {
    const open = (target: Parameters<typeof sshSpec>[0], pins = new MemoryHostKeyPins()) => {
      const { spec, secrets } = sshSpec(target);
      const engine = new SshEngine({ resolveSecret: (ref) => secrets.get(ref) ?? '', pins });
      return engine.open(spec, { connectTimeoutMs: 10_000, commands });
    };
    const base = () => ({ host: sshd.host, port: sshd.port, username: sshd.user.name });

    it('refuses a server whose host key is not the pinned one, naming both fingerprints', async () => {
      const wrong = `SHA256:${createHash('sha256').update('other').digest('base64').replace(/=+$/, '')}`;
      const failure = open({ ...base(), fingerprints: [wrong], password: sshd.user.password });
      await expect(failure).rejects.toBeInstanceOf(HostKeyMismatchError);
      await expect(failure).rejects.toThrow(
        `presented ${sshd.fingerprint}, but the connection pins ${wrong}`,
      );
    });

    it('refuses a connection that pins nothing unless it trusts on first use, which pins the key seen', async () => {
      await expect(open({ ...base(), password: sshd.user.password })).rejects.toThrow(/pins no host key/);
      const pins = new MemoryHostKeyPins();
      const session = await open({ ...base(), trustOnFirstUse: true, password: sshd.user.password }, pins);
      session.abort();
      expect(pins.get('ssh-test', `${sshd.host}:${sshd.port}`)).toBe(sshd.fingerprint);
      pins.pin('ssh-test', `${sshd.host}:${sshd.port}`, 'SHA256:' + 'A'.repeat(43));
      await expect(
        open({ ...base(), trustOnFirstUse: true, password: sshd.user.password }, pins),
      ).rejects.toBeInstanceOf(HostKeyMismatchError);
    });

    it('logs in with a private key, and with an encrypted one and its passphrase', async () => {
      const fingerprints = [sshd.fingerprint];
      (await open({ ...base(), fingerprints, privateKey: sshd.user.privateKey })).abort();
      (
        await open({
          ...base(),
          fingerprints,
          privateKey: sshd.user.encryptedKey,
          passphrase: sshd.user.passphrase,
        })
      ).abort();
      await expect(
        open({ ...base(), fingerprints, privateKey: sshd.user.encryptedKey, passphrase: 'wrong' }),
      ).rejects.toThrow(/private key of connection "ssh-test" could not be read/);
      await expect(open({ ...base(), fingerprints, password: 'wrong' })).rejects.toThrow(
        /refused the credential/,
      );
    });
  });
});
