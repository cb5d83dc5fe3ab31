import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  runSshClient as runClient,
  sshClientOptions as clientOptions,
  startSshd,
  type SshdServer,
} from '@tollgate/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policyOf, RecordingCommandPort, startEngineFront } from './test-support/ssh-stack';
import type { SshFront } from './front/ssh-front';

// One deny rule on a command name: every way of running `touch` must meet it, or be refused as a
// command the policy cannot read.
const POLICY = `version: 1
guardrails:
  - name: no-touch
    match: {protocol: ssh}
    deny: {commands: ['^touch\\b'], message: touching files is not allowed here}
`;

describe('SSH policy doors: what the policy reads is what the target runs (real sshd, OpenSSH clients)', () => {
  let sshd: SshdServer;
  let front: SshFront;
  let commands: RecordingCommandPort;
  const target = () => [...clientOptions(front.port), 'anyone@127.0.0.1'];
  const marker = () => join(sshd.user.home, `door-${randomBytes(4).toString('hex')}`);

  beforeAll(async () => {
    sshd = await startSshd();
    commands = new RecordingCommandPort(policyOf(POLICY));
    ({ front } = await startEngineFront(
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

  it.each([
    ["t''ouch", 'touching files is not allowed here'],
    ['t\\ouch', 'touching files is not allowed here'],
    ['\\touch', 'touching files is not allowed here'],
    ['/usr/bin/touch', 'touching files is not allowed here'],
    ['true; touch', 'touching files is not allowed here'],
    ['true && touch', 'touching files is not allowed here'],
    ['true\ntouch', 'touching files is not allowed here'],
    ['env touch', 'touching files is not allowed here'],
    ['command touch', 'touching files is not allowed here'],
    ['echo | xargs touch', 'touching files is not allowed here'],
    ['2>&1 touch', 'touching files is not allowed here'],
    ["''#;touch", 'touching files is not allowed here'],
    ['$(echo touch)', 'could not be classified (a $(...) or ${...} expansion)'],
    ['`echo touch`', 'could not be classified (a `...` command substitution)'],
    ['touch${IFS}', 'could not be classified'],
    ['T=touch; $T', 'could not be classified (a $variable expansion)'],
    ['/usr/bin/tou?h', 'could not be classified (the command name'],
    ["sh -c 'touch", 'could not be classified (sh runs code the policy cannot read)'],
    ['echo dG91Y2gK | base64 -d | bash -s', 'could not be classified (bash runs code'],
  ])('refuses the exec %j MARKER, and sshd never runs it', async (prefix, message) => {
    const file = marker();
    const command =
      prefix.includes("'") && !prefix.endsWith("'") ? `${prefix} ${file}'` : `${prefix} ${file}`;
    const run = await runClient('ssh', [...target(), command]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(message);
    expect(existsSync(file)).toBe(false);
  });

  it('refuses builtins that run code named in their arguments (an array subscript, a mapfile callback)', async () => {
    const file = marker();
    for (const command of [`printf -v 'a[$(touch ${file})]' 1`, `echo | mapfile -C 'touch ${file} #' -c 1`]) {
      const run = await runClient('ssh', [...target(), command]);
      expect(run.code, command).toBe(1);
      expect(run.stderr).toContain('could not be classified');
    }
    expect(existsSync(file)).toBe(false);
  });

  it('decides each line a shell without a PTY reads from stdin (ssh -T), before the shell sees it', async () => {
    const file = marker();
    const joined = marker();
    const run = await runClient(
      'ssh',
      ['-T', ...target()],
      `echo before\ntouch ${file}\ntou\\\nch ${joined}\necho after\n`,
    );
    // (after sshd's message of the day)
    expect(run.stdout).toMatch(/\nbefore\nafter\n$/);
    expect(run.stderr).toContain('touching files is not allowed here');
    expect(existsSync(file)).toBe(false);
    expect(existsSync(joined)).toBe(false);
    expect(commands.decisions).toEqual(
      expect.arrayContaining([`deny: touch ${file}`, `deny: tou\\\nch ${joined}`, 'allow: echo after']),
    );
  });

  it('decides a last line sent without a newline before the client closes stdin', async () => {
    const file = marker();
    const run = await runClient('ssh', ['-T', ...target()], `echo first\ntouch ${file}`);
    expect(run.stdout).toMatch(/\nfirst\n$/);
    expect(existsSync(file)).toBe(false);
    const allowed = await runClient('ssh', ['-T', ...target()], 'echo last-line');
    expect(allowed.stdout).toMatch(/\nlast-line\n$/);
  });

  it('decides a command a PTY shell reads over several lines (a trailing backslash) as one', async () => {
    const file = marker();
    const run = await runClient(
      'ssh',
      ['-tt', ...target()],
      `tou\\\nch ${file}\necho after-continued\nexit\n`,
    );
    expect(run.stdout).toContain('after-continued');
    expect(run.stdout + run.stderr).toContain('touching files is not allowed here');
    expect(existsSync(file)).toBe(false);
  });

  it('refuses history expansion typed into a PTY shell when a rule depends on the text', async () => {
    const file = marker();
    // `!!` would rerun the previous line; `^a^b` would edit it into a new command.
    const run = await runClient('ssh', ['-tt', ...target()], `set -H\necho ${file}\n!!\n^echo^touch\nexit\n`);
    expect(run.stdout + run.stderr).toContain('history expansion');
    expect(existsSync(file)).toBe(false);
  });

  it('refuses lines that change how later lines are read or run (key macros, aliases, prompt hooks)', async () => {
    const file = marker();
    const run = await runClient(
      'ssh',
      ['-tt', ...target()],
      `bind '"q": "touch ${file}"'\nalias q=touch\nPROMPT_COMMAND='touch ${file}'\nq ${file}\nexit\n`,
    );
    expect(run.stdout + run.stderr).toContain('bind changes how the shell reads or runs later lines');
    expect(run.stdout + run.stderr).toContain('alias changes how the shell reads or runs later lines');
    expect(run.stdout + run.stderr).toContain('PROMPT_COMMAND is a variable the shell runs or reads');
    expect(existsSync(file)).toBe(false);
  });

  it("refuses exec redirecting a shell's own input (it would run a file's lines no rule saw)", async () => {
    const file = marker();
    const script = `${file}.commands`;
    const run = await runClient(
      'ssh',
      ['-tt', ...target()],
      `echo 'touch ${file}' > ${script}\nexec 0<${script}\nexit\n`,
    );
    expect(existsSync(file)).toBe(false);
    expect(run.stdout + run.stderr).toContain('could not be classified');
  });

  it("decides a line run with Ctrl-O (bash's operate-and-get-next runs it as Enter does)", async () => {
    const file = marker();
    const run = await runClient(
      'ssh',
      ['-tt', ...target()],
      `touch ${file}\x0f\x15echo after-ctrl-o\nexit\n`,
    );
    expect(existsSync(file)).toBe(false);
    expect(run.stdout + run.stderr).toContain('touching files is not allowed here');
  });

  it('never passes Ctrl-X (Ctrl-X Ctrl-E would run what an editor saves, with no line to decide)', async () => {
    const file = marker();
    // ed builds the command from allowed lines; bash would run the saved buffer when ed quits.
    const run = await runClient(
      'ssh',
      ['-tt', ...target()],
      `export EDITOR=/bin/ed\n\x18\x05\na\nXouch ${file}\n.\ns/X/t/\nw\nq\nexit\n`,
    );
    expect(run.code).not.toBeNull();
    expect(existsSync(file)).toBe(false);
  });

  it('decides the lines typed into a program an exec started with a PTY (ssh -t host cat)', async () => {
    const run = await runClient('ssh', ['-tt', ...target(), 'cat'], 'touch typed-into-cat\n\x04');
    expect(run.stdout + run.stderr).toContain('touching files is not allowed here');
    expect(commands.decisions).toContain('deny: touch typed-into-cat');
  });

  it('refuses an SFTP server started by exec (a subsystem smuggled as a command)', async () => {
    const run = await runClient('ssh', [...target(), '/usr/lib/openssh/sftp-server']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('sftp-server runs code the policy cannot read');
    const sftp = await runClient(
      'sftp',
      [
        '-s',
        '/usr/lib/openssh/sftp-server',
        '-b',
        '-',
        ...clientOptions(front.port, '-P'),
        'anyone@127.0.0.1',
      ],
      'ls\n',
    );
    expect(sftp.code).not.toBe(0);
  });

  it.each(['scp -f /dev/null; echo after-scp', 'scp -f /dev/null\necho after-scp'])(
    'records what runs after scp in one exec (only a plain scp -t/-f is left unrecorded): %j',
    async (command) => {
      const before = commands.recordings.length;
      const run = await runClient('ssh', [...target(), command]);
      expect(run.stdout).toContain('after-scp');
      expect(commands.recordings.length).toBe(before + 1);
      await expect.poll(() => commands.recordings[before]!.final, { timeout: 10_000 }).toBe(true);
      expect(JSON.stringify(commands.recordings[before])).toContain('after-scp');
    },
  );

  describe('the documented safe configuration: an allowlist of commands, no shell', () => {
    // docs/security.md: everything but the listed commands with plain arguments is denied.
    const ALLOWLIST = `version: 1
guardrails:
  - name: only-listed-commands
    match: {protocol: ssh}
    deny:
      commands: ['^(?!(?:ls|uptime|df)(?:[ \\t][^;&|<>()\\n]*)?$)']
      message: only ls, uptime and df may run here
`;
    let listed: SshFront;
    const options = () => [...clientOptions(listed.port), 'anyone@127.0.0.1'];

    beforeAll(async () => {
      ({ front: listed } = await startEngineFront(
        {
          host: sshd.host,
          port: sshd.port,
          username: sshd.user.name,
          fingerprints: [sshd.fingerprint],
          password: sshd.user.password,
        },
        new RecordingCommandPort(policyOf(ALLOWLIST)),
      ));
    });
    afterAll(async () => {
      await listed?.close();
    });

    it('runs a listed command with plain arguments', async () => {
      const run = await runClient('ssh', [...options(), 'ls -a /']);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('etc');
    });

    it.each([
      'touch MARKER',
      'ls; touch MARKER',
      'ls && touch MARKER',
      'ls\ntouch MARKER',
      'ls | touch MARKER',
      'ls $(touch MARKER)',
      'ls `touch MARKER`',
      "ls ';' ; touch MARKER",
      'ls > MARKER',
      'ls & touch MARKER',
    ])('refuses %j', async (template) => {
      const file = marker();
      const run = await runClient('ssh', [...options(), template.replace('MARKER', file)]);
      expect(run.code).not.toBe(0);
      expect(existsSync(file)).toBe(false);
    });

    it('refuses a shell with or without a PTY, and SFTP', async () => {
      const file = marker();
      const tty = await runClient('ssh', ['-tt', ...options()], `touch ${file}\nexit\n`);
      expect(tty.stdout + tty.stderr).toContain('only ls, uptime and df may run here');
      const script = await runClient('ssh', ['-T', ...options()], `touch ${file}\n`);
      expect(script.code).toBe(1);
      const sftp = await runClient(
        'sftp',
        ['-b', '-', ...clientOptions(listed.port, '-P'), 'anyone@127.0.0.1'],
        'ls\n',
      );
      expect(sftp.code).not.toBe(0);
      expect(existsSync(file)).toBe(false);
    });
  });
});
