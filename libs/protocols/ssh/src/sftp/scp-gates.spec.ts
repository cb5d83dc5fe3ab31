import { describe, expect, it } from 'vitest';
import type { Verdict } from '../bridge/session-bridge';
import { ScpSinkGate, ScpSourceGate, scpSink, scpSource } from './scp-gates';

describe('scpSink', () => {
  it.each([
    ['scp -t .', { target: '.', directory: false }],
    ['scp -v -d -t /tmp/dir', { target: '/tmp/dir', directory: true }],
    ['scp -r -p -t -- -weird', { target: '-weird', directory: false }],
    ['scp -t ~/q', { target: '~/q', directory: false }],
  ])('reads what OpenSSH scp sends: %j', (command, sink) => {
    expect(scpSink(command)).toEqual(sink);
  });

  it.each([
    'cd /etc && scp -t .',
    'sh -c "scp -t /etc"',
    '/usr/bin/scp -t "/etc/x y"',
    'scp -t $HOME/x',
    "env s'c'p -dt /etc",
  ])('a sink whose target is not read plainly is uncertain: %j', (command) => {
    expect(scpSink(command)?.uncertain).toBeDefined();
  });

  it.each(['scp -f /etc/passwd', 'ls -t', 'echo scp'])('not a sink: %j', (command) => {
    expect(scpSink(command)).toBeUndefined();
  });
});

describe('ScpSinkGate', () => {
  const run = async (command: string, stream: string, deny: RegExp, home = '/home/u') => {
    const asked: string[] = [];
    const written: Buffer[] = [];
    const replies: string[] = [];
    let failed: string | undefined;
    let ended = () => undefined as void;
    const gate = new ScpSinkGate(
      scpSink(command)!,
      () => Promise.resolve(home),
      (text, uncertain): Promise<Verdict> => {
        asked.push(uncertain ? `${text} (uncertain)` : text);
        return Promise.resolve(
          deny.test(text) || uncertain ? { allow: false, message: 'no' } : { allow: true },
        );
      },
      (reason) => {
        failed = reason;
        ended();
      },
    );
    // Byte by byte: records split anywhere are read whole.
    for (const byte of Buffer.from(stream, 'latin1')) {
      if (failed !== undefined) break;
      await new Promise<void>((release) => {
        ended = release;
        if (
          !gate.input(
            Buffer.from([byte]),
            (bytes) => written.push(Buffer.from(bytes)),
            release,
            (bytes) => replies.push(bytes.toString()),
          )
        )
          release();
      });
    }
    return { asked, written: Buffer.concat(written).toString('latin1'), replies, failed };
  };

  it('decides every place a file may land; a refused one never reaches the target, the next goes on', async () => {
    const result = await run(
      'scp -t locked',
      'C0644 3 a\nT1 0 1 0\nC0644 2 b\nxy\0',
      /<sftp upload \/home\/u\/locked\/a>/,
    );
    expect(result.asked).toEqual([
      '<sftp upload /home/u/locked>',
      '<sftp upload /home/u/locked/a>',
      '<sftp upload /home/u/locked>',
      '<sftp upload /home/u/locked/b>',
    ]);
    expect(result.replies).toEqual(['\x01tollgate: no\n']);
    // After a refusal the client sends no contents: the next record follows.
    expect(result.written).toBe('T1 0 1 0\nC0644 2 b\nxy\0');
  });

  it('a file’s contents are never read as records, and directories nest', async () => {
    const result = await run('scp -r -d -t /srv', 'D0755 0 tree\nC0644 12 f\nC0644 1 x\n\n\0\0E\n', /\/x>/);
    expect(result.asked).toEqual(['<sftp upload /srv/tree>', '<sftp upload /srv/tree/f>']);
    expect(result.failed).toBeUndefined();
  });

  it('a target the command line does not say plainly is uncertain; a stream that is not scp ends the channel', async () => {
    expect((await run('cd /etc && scp -t .', 'C0644 1 x\nx\0', /^$/)).replies).toEqual([
      '\x01tollgate: no\n',
    ]);
    expect((await run('scp -t .', 'garbage\n', /^$/)).failed).toMatch(/not an scp record/);
    // A size scp reads but this reader could not count exactly ends a plain scp; a record it cannot
    // read is never passed on undecided.
    expect((await run('scp -t .', 'C0644 9999999999999999 x\n', /^$/)).failed).toMatch(/not an scp record/);
    const unread = await run('cd /tmp && scp -t .', 'hello\nC0644 9999999999999999 x\n', /^$/);
    expect(unread.written).toBe('hello\n');
    expect(unread.replies).toEqual(['\x01tollgate: an scp record Tollgate cannot read (its size or name)\n']);
  });
});

describe('ScpSourceGate', () => {
  it('decides the path given, then each file under a directory sent recursively; a refused one is skipped at both ends', async () => {
    const asked: string[] = [];
    const sent: string[] = [];
    const toTarget: string[] = [];
    const gate = new ScpSourceGate(
      scpSource('scp -r -f box')!,
      () => Promise.resolve('/home/u'),
      (text): Promise<Verdict> => {
        asked.push(text);
        return Promise.resolve(/vault/.test(text) ? { allow: false, message: 'no' } : { allow: true });
      },
    );
    const stream = 'D0755 0 box\nC0644 5 a\nC0644\0D0755 0 vault\nE\n';
    for (const byte of Buffer.from(stream, 'latin1')) {
      await gate.output(
        Buffer.from([byte]),
        (bytes) => sent.push(bytes.toString('latin1')),
        (bytes) => toTarget.push(bytes.toString()),
      );
    }
    expect(asked).toEqual([
      '<sftp download /home/u/box>',
      '<sftp download /home/u/box/a>',
      '<sftp download /home/u/box/vault>',
    ]);
    // A file's contents are not read as records.
    expect(sent.join('')).toBe('D0755 0 box\nC0644 5 a\nC0644\0\x01tollgate: no\nE\n');
    expect(toTarget).toEqual(['\x01tollgate: no\n']);
    expect(scpSource('scp -t x')).toBeUndefined();
    expect(scpSink('scp -tf x')).toBeUndefined();
    expect(scpSource('cat x | scp -f y')?.uncertain).toBeDefined();
  });
});
