import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Capability, MariadbCapability, PROXY_CAPABILITIES } from '../capabilities';
import { parseHandshakeResponse, parseServerGreeting, serializeHandshakeResponse } from '../handshake';
import { framePacket, PacketReader, type MysqlPacket } from '../packet-reader';
import { parseErrPacket } from '../response-packets';
import { acceptMysqlLogin, type MysqlLoginOptions, type MysqlLoginOutcome } from './mysql-login';

/** A client socket stand-in: what the test pushes is what the listener reads; its writes are kept. */
class FakeSocket extends Duplex {
  readonly written: Buffer[] = [];
  ended = false;

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: string, callback: () => void): void {
    this.written.push(Buffer.from(chunk));
    callback();
  }

  override _final(callback: () => void): void {
    this.ended = true;
    callback();
  }

  replies(): MysqlPacket[] {
    const packets: MysqlPacket[] = [];
    new PacketReader().parse(Buffer.concat(this.written), (packet) => packets.push(packet));
    return packets;
  }
}

const OPTIONS: MysqlLoginOptions = { requireTls: false, timeoutMs: 5_000 };
const CLIENT_CAPS = (PROXY_CAPABILITIES | Capability.CONNECT_WITH_DB) >>> 0;

function response(authPlugin: string, authResponse: Buffer, database = 'my-app', sequenceId = 1): Buffer {
  return framePacket(
    serializeHandshakeResponse({
      capabilities: CLIENT_CAPS,
      maxPacketSize: 1 << 24,
      characterSet: 45,
      mariadbCapabilities: 0,
      username: 'dev@example.com',
      authResponse,
      database,
      authPlugin,
      attributes: new Map([['program_name', 'mysql']]),
    }),
    sequenceId,
  ).bytes;
}

const NATIVE = response('mysql_native_password', Buffer.alloc(20, 7));
const PASSWORD = framePacket(Buffer.from('tgk_abc_secret\0'), 3).bytes;

async function login(chunks: readonly Buffer[], options = OPTIONS): Promise<[MysqlLoginOutcome, FakeSocket]> {
  const socket = new FakeSocket();
  const outcome = acceptMysqlLogin(socket as unknown as Socket, options);
  for (const chunk of chunks) {
    socket.push(chunk);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return [await outcome, socket];
}

function splitAt(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let from = 0;
  for (const point of [...points, bytes.length]) {
    parts.push(bytes.subarray(from, point));
    from = point;
  }
  return parts.filter((p) => p.length > 0);
}

describe('acceptMysqlLogin', () => {
  it('greets, switches the client to mysql_clear_password and hands the engine a handshake without the password', async () => {
    const [outcome, socket] = await login([NATIVE, PASSWORD]);
    expect(outcome).toMatchObject({
      kind: 'login',
      tls: false,
      user: 'dev@example.com',
      database: 'my-app',
      password: 'tgk_abc_secret',
      nextSequence: 4,
    });
    const [greeting, authSwitch] = socket.replies();
    // MariaDB's handshake, offering progress reports (a held command's message).
    expect(parseServerGreeting(greeting!.payload)).toMatchObject({
      authPlugin: 'mysql_native_password',
      mariadbCapabilities: MariadbCapability.PROGRESS,
    });
    expect(parseServerGreeting(greeting!.payload).capabilities & Capability.LONG_PASSWORD).toBe(0);
    expect(authSwitch).toMatchObject({ sequenceId: 2 });
    expect(authSwitch!.payload.subarray(1, 21).toString()).toBe('mysql_clear_password');
    if (outcome.kind !== 'login') return;
    // Numbered so that the engine's answer (sequence id + 1) is the one the client waits for.
    const preamble: MysqlPacket[] = [];
    new PacketReader().parse(outcome.preamble, (packet) => preamble.push(packet));
    expect(preamble).toHaveLength(1);
    expect(preamble[0]!.sequenceId).toBe(3);
    const handed = parseHandshakeResponse(preamble[0]!.payload);
    expect(handed).toMatchObject({ username: 'dev@example.com', sslRequest: false });
    expect(handed.authResponse.length).toBe(0);
    expect(handed.database ?? '').toBe('');
    expect(outcome.preamble.includes('tgk_abc_secret')).toBe(false);
  });

  it('takes the password from the handshake when the client chose mysql_clear_password', async () => {
    const [outcome, socket] = await login([response('mysql_clear_password', Buffer.from('tgk_direct\0'))]);
    expect(outcome).toMatchObject({ kind: 'login', password: 'tgk_direct', nextSequence: 2 });
    expect(socket.replies()).toHaveLength(1);
  });

  it('gives the same login whatever the bytes are split at', () =>
    fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 6 }), async (cuts) => {
        const [outcome] = await login(splitAt(Buffer.concat([NATIVE, PASSWORD]), cuts));
        expect(outcome).toMatchObject({ kind: 'login', password: 'tgk_abc_secret', nextSequence: 4 });
      }),
      { numRuns: 60 },
    ));

  it('refuses plain text where TLS is required before asking for the password', async () => {
    const [outcome, socket] = await login([NATIVE], { ...OPTIONS, requireTls: true });
    expect(outcome).toMatchObject({ kind: 'closed' });
    const err = socket.replies()[1]!;
    expect(err.sequenceId).toBe(2);
    expect(parseErrPacket(err.payload)).toMatchObject({ code: 3159 });
    expect(parseErrPacket(err.payload).message).toContain('TLS connections only');
    expect(socket.ended).toBe(true);
  });

  it('reads a handshake without a database to its password (the mariadb CLI kills a query so)', async () => {
    const [outcome, socket] = await login([
      response('mysql_clear_password', Buffer.from('tgk_direct\0'), ''),
    ]);
    expect(outcome).toMatchObject({ kind: 'login', database: '', password: 'tgk_direct' });
    expect(socket.replies()).toHaveLength(1);
  });

  it('greets each client with a connection id of its own, never 0', async () => {
    const ids = new Set<number>();
    for (let i = 0; i < 20; i++) {
      const [outcome, socket] = await login([response('mysql_clear_password', Buffer.from('tgk_direct\0'))]);
      const greeted = parseServerGreeting(socket.replies()[0]!.payload).connectionId;
      expect(outcome).toMatchObject({ kind: 'login', connectionId: greeted });
      expect(greeted).toBeGreaterThan(0);
      ids.add(greeted);
    }
    expect(ids.size).toBe(20);
  });

  it('refuses an SSLRequest when it offered no TLS', async () => {
    const ssl = framePacket(NATIVE.subarray(4, 4 + 32), 1).bytes;
    const [outcome, socket] = await login([ssl]);
    expect(outcome).toMatchObject({ kind: 'closed' });
    expect(parseErrPacket(socket.replies()[1]!.payload)).toMatchObject({ code: 1043 });
  });

  it('answers garbage with an ERR packet and never crashes', () =>
    fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 300 }), async (bytes) => {
        const socket = new FakeSocket();
        const outcome = acceptMysqlLogin(socket as unknown as Socket, { ...OPTIONS, timeoutMs: 50 });
        socket.push(Buffer.from(bytes));
        socket.push(null);
        const result = await outcome;
        expect(['closed', 'login']).toContain(result.kind);
      }),
      { numRuns: 200 },
    ));
});
