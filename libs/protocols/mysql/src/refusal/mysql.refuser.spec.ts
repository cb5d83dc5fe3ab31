import { describe, expect, it } from 'vitest';
import { Command } from '../capabilities';
import { framePacket, PacketReader } from '../packet-reader';
import { isErrPacket, parseErrPacket } from '../response-packets';
import { mysqlRefuser } from './mysql.refuser';

const killed = { kind: 'terminated', message: 'session ended: killed by user:admin' } as const;
const packet = (payload: Buffer, sequence: number) => framePacket(payload, sequence).bytes;
const query = (sql: string) => packet(Buffer.concat([Buffer.from([Command.QUERY]), Buffer.from(sql)]), 0);

/** The ERR packet the watch would end the session with, read as a client would, or undefined. */
function endingOf(watch: ReturnType<typeof mysqlRefuser.watch>) {
  const bytes = watch.ending(killed);
  if (!bytes) return undefined;
  const packets: { sequenceId: number; payload: Buffer }[] = [];
  new PacketReader(1 << 16).parse(bytes, (p) => packets.push(p));
  expect(packets).toHaveLength(1);
  expect(isErrPacket(packets[0]!.payload)).toBe(true);
  return { sequence: packets[0]!.sequenceId, ...parseErrPacket(packets[0]!.payload) };
}

describe('a MySQL session ended by the gateway (kill, revoke) while a command waits', () => {
  it("answers the waiting command with the server's killed-connection ERR, in the reply's sequence", () => {
    const watch = mysqlRefuser.watch();
    watch.fromClient(query('SELECT SLEEP(30)'));
    expect(endingOf(watch)).toMatchObject({
      sequence: 1,
      code: 1927,
      sqlState: '70100',
      message: 'tollgate: session ended: killed by user:admin',
    });
  });

  it('whatever way the client bytes are cut (header and payload split at every byte)', () => {
    const bytes = Buffer.concat([query('SELECT 1'), query('SELECT SLEEP(30)')]);
    for (let cut = 1; cut < bytes.length; cut++) {
      const watch = mysqlRefuser.watch();
      watch.fromClient(bytes.subarray(0, cut));
      watch.fromClient(bytes.subarray(cut));
      expect(endingOf(watch)?.sequence, `cut at ${cut}`).toBe(1);
    }
  });

  it('a command sent in several packets (2^24 - 1 bytes, then the rest) is answered after its last', () => {
    const watch = mysqlRefuser.watch();
    const sql = Buffer.alloc(0xffffff + 8, 0x20);
    sql[0] = Command.QUERY;
    const bytes = packet(sql, 0); // framed as 2^24 - 1 bytes at sequence 0, then 8 at sequence 1
    watch.fromClient(bytes.subarray(0, 4 + 0xffffff));
    expect(endingOf(watch)).toBeUndefined(); // the command is not whole yet
    watch.fromClient(bytes.subarray(4 + 0xffffff));
    expect(endingOf(watch)?.sequence).toBe(2);
  });

  it('resets (no ERR) where an ERR would be misread: mid-reply, idle, mid-packet, unanswered commands, LOAD DATA', () => {
    const replying = mysqlRefuser.watch();
    replying.fromClient(query('SELECT * FROM t'));
    replying.toClient(Buffer.from([1, 0, 0, 1, 1]));
    expect(endingOf(replying)).toBeUndefined();

    expect(endingOf(mysqlRefuser.watch())).toBeUndefined(); // nothing sent yet

    const half = mysqlRefuser.watch();
    half.fromClient(query('SELECT 1').subarray(0, 6));
    expect(endingOf(half)).toBeUndefined();

    for (const command of [Command.STMT_CLOSE, Command.STMT_SEND_LONG_DATA, Command.QUIT]) {
      const unanswered = mysqlRefuser.watch();
      unanswered.fromClient(packet(Buffer.from([command, 1, 0, 0, 0]), 0));
      expect(endingOf(unanswered), `command ${command}`).toBeUndefined();
    }

    // LOAD DATA LOCAL: the server asks for the file (0xFB), the client sends it from sequence 2 on;
    // the server's OK comes only after the empty packet that ends it.
    const load = mysqlRefuser.watch();
    load.fromClient(query("LOAD DATA LOCAL INFILE 'x' INTO TABLE t"));
    load.toClient(packet(Buffer.from([0xfb, 0x78]), 1));
    load.fromClient(packet(Buffer.from('1\n2\n'), 2));
    expect(endingOf(load)).toBeUndefined();
  });
});
