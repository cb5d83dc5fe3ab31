import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BackendMessageParser } from '../backend-message.parser';
import type { BackendMessage } from '../backend-messages';
import { serializeFrontendMessage, serializeStartupPacket } from '../frontend-message.serializer';
import { passwordMessageBody } from '../authentication-response';
import { acceptPostgresLogin, type PostgresLoginOptions, type PostgresLoginOutcome } from './postgres-login';

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

  /** What the listener answered, as backend messages, after `skip` single-byte SSL answers. */
  replies(skip = 0): BackendMessage[] {
    const messages: BackendMessage[] = [];
    new BackendMessageParser().parse(Buffer.concat(this.written).subarray(skip), (message) =>
      messages.push(message),
    );
    return messages;
  }
}

const OPTIONS: PostgresLoginOptions = { requireTls: false, timeoutMs: 5_000 };

const STARTUP = serializeStartupPacket({
  name: 'startupMessage',
  protocolVersion: 196608,
  parameters: { user: 'dev@example.com', database: 'pg-app', application_name: 'psql' },
});
const SSL_REQUEST = serializeStartupPacket({ name: 'sslRequest' });
const PASSWORD = serializeFrontendMessage({
  name: 'authenticationResponse',
  data: passwordMessageBody('tgk_abc_secret'),
});

/** Feeds `chunks` one at a time, each after the listener has handled the previous one. */
async function login(
  chunks: readonly Buffer[],
  options = OPTIONS,
): Promise<[PostgresLoginOutcome, FakeSocket]> {
  const socket = new FakeSocket();
  const outcome = acceptPostgresLogin(socket as unknown as Socket, options);
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

describe('acceptPostgresLogin', () => {
  it('reads the start-up, asks for a cleartext password, and hands over the start-up as the preamble', async () => {
    const [outcome, socket] = await login([SSL_REQUEST, STARTUP, PASSWORD]);
    expect(outcome).toMatchObject({
      kind: 'login',
      tls: false,
      user: 'dev@example.com',
      database: 'pg-app',
      password: 'tgk_abc_secret',
    });
    expect(outcome.kind === 'login' && outcome.preamble.equals(STARTUP)).toBe(true);
    // N to the SSLRequest (no certificate), then AuthenticationCleartextPassword.
    expect(Buffer.concat(socket.written).subarray(0, 1).toString()).toBe('N');
    expect(socket.replies(1)).toEqual([{ name: 'authenticationCleartextPassword' }]);
  });

  it('gives the same login whatever the bytes are split into', async () => {
    const bytes = Buffer.concat([STARTUP, PASSWORD]);
    for (let cut = 1; cut < bytes.length; cut++) {
      const [outcome] = await login([bytes.subarray(0, cut), bytes.subarray(cut)]);
      expect(outcome).toMatchObject({ kind: 'login', database: 'pg-app', password: 'tgk_abc_secret' });
    }
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 12 }), async (cuts) => {
        const [outcome] = await login(splitAt(bytes, cuts));
        expect(outcome).toMatchObject({ kind: 'login', user: 'dev@example.com', password: 'tgk_abc_secret' });
      }),
      { numRuns: 100 },
    );
  });

  it('takes the user name as the database when the start-up names none, as PostgreSQL does', async () => {
    const startup = serializeStartupPacket({
      name: 'startupMessage',
      protocolVersion: 196608,
      parameters: { user: 'pg-app' },
    });
    const [outcome] = await login([startup, PASSWORD]);
    expect(outcome).toMatchObject({ kind: 'login', user: 'pg-app', database: 'pg-app' });
  });

  it('refuses a plain-text start-up where TLS is required, before asking for the password', async () => {
    const [outcome, socket] = await login([STARTUP, PASSWORD], { ...OPTIONS, requireTls: true });
    expect(outcome).toMatchObject({ kind: 'closed' });
    expect(socket.replies()).toEqual([
      {
        name: 'errorResponse',
        fields: {
          S: 'FATAL',
          V: 'FATAL',
          C: '28000',
          M: 'tollgate: this listener accepts TLS connections only (sslmode=require)',
        },
      },
    ]);
    expect(socket.ended).toBe(true);
  });

  it('closes a CancelRequest without a word and hands its key back, plain or after an SSLRequest', async () => {
    const cancel = serializeStartupPacket({ name: 'cancelRequest', processId: 4242, secretKey: -7 });
    for (const [chunks, answered] of [
      [[cancel], ''],
      [[SSL_REQUEST, cancel], 'N'],
      // Where TLS is required for a login: a cancel carries no credential, and libpq sends it plain.
      [[cancel.subarray(0, 5), cancel.subarray(5)], ''],
    ] as const) {
      const [outcome, socket] = await login(chunks, { ...OPTIONS, requireTls: true });
      expect(outcome).toEqual({ kind: 'cancel', processId: 4242, secretKey: -7 });
      expect(Buffer.concat(socket.written).toString()).toBe(answered);
      expect(socket.ended).toBe(true);
    }
    // Bytes after it change nothing: still no answer.
    const [outcome, socket] = await login([Buffer.concat([cancel, STARTUP])]);
    expect(outcome).toMatchObject({ kind: 'cancel' });
    expect(socket.written).toEqual([]);
  });

  it('refuses anything but a password after the start-up, in PostgreSQL terms', async () => {
    const query = serializeFrontendMessage({ name: 'query', text: 'select 1' });
    const [outcome, socket] = await login([STARTUP, query]);
    expect(outcome).toMatchObject({ kind: 'closed' });
    expect(socket.replies().at(-1)).toMatchObject({
      name: 'errorResponse',
      fields: { S: 'FATAL', C: '08P01', M: 'tollgate: expected a password message, got query' },
    });
  });

  it('never lets a password out of bytes that are not a start-up and a password (fuzz)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 64 }), async (noise) => {
        const socket = new FakeSocket();
        const outcome = acceptPostgresLogin(socket as unknown as Socket, { ...OPTIONS, timeoutMs: 5 });
        socket.push(Buffer.from(noise));
        const result = await outcome;
        // Random bytes cannot be a whole StartupMessage followed by a PasswordMessage.
        expect(result.kind).toBe('closed');
      }),
      { numRuns: 200 },
    );
  });

  it('answers a silent client with a FATAL error after the start-up timeout', async () => {
    const socket = new FakeSocket();
    const outcome = await acceptPostgresLogin(socket as unknown as Socket, { ...OPTIONS, timeoutMs: 10 });
    expect(outcome).toEqual({ kind: 'closed', reason: 'tollgate: start-up took too long', refused: true });
    expect(socket.replies()[0]).toMatchObject({ name: 'errorResponse', fields: { C: '08P01' } });
  });
});
