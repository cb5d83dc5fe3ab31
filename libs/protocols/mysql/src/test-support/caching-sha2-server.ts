import { constants, generateKeyPairSync, privateDecrypt, randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import { cachingSha2Response, xorBytes } from '../auth/scramble';
import { Capability, Command, PROXY_CAPABILITIES } from '../capabilities';
import { parseHandshakeResponse, serializeServerGreeting } from '../handshake';
import { PacketChannel } from '../proxy/packet-channel';
import { errPacket, okPacket } from '../response-packets';

/**
 * For tests: the server side of MySQL 8's caching_sha2_password, as no MySQL 8 runs on these
 * machines (MariaDB has no such plugin). One user and password; the first login of the user takes
 * full authentication (over TLS: the password; without: RSA-OAEP with the key the client asks for),
 * later ones the fast path against the cache. Counts what happened, for assertions.
 */
export interface CachingSha2Server {
  readonly port: number;
  readonly publicKey: string;
  readonly stats: { fast: number; full: number; keyRequests: number; refused: number };
  close(): Promise<void>;
}

export async function startCachingSha2Server(options: {
  readonly user: string;
  readonly password: string;
  readonly tls?: { readonly key: string; readonly cert: string };
}): Promise<CachingSha2Server> {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const stats = { fast: 0, full: 0, keyRequests: 0, refused: 0 };
  let cached = false;

  const serve = async (socket: Socket) => {
    const nonce = Buffer.from(randomBytes(20).map((b) => (b % 94) + 33));
    let channel = new PacketChannel(socket, 'the client');
    channel.write(
      serializeServerGreeting({
        serverVersion: '8.4.0-fake',
        connectionId: 7,
        authData: nonce,
        capabilities: (PROXY_CAPABILITIES | (options.tls ? Capability.SSL : 0)) >>> 0,
        mariadbCapabilities: 0,
        characterSet: 255,
        statusFlags: 2,
        authPlugin: 'caching_sha2_password',
      }),
    );
    let packet = await channel.next();
    let response = parseHandshakeResponse(packet.payload);
    let secure = false;
    if (response.sslRequest && options.tls) {
      // The client's TLS hello may already be in what the channel read: hand TLS a stream that
      // starts with those bytes (a TLSSocket over the raw socket would read only the kernel's).
      const early = channel.takePending();
      channel.detach();
      const carrier = new Duplex({
        read: () => undefined,
        write: (chunk: Buffer, _encoding, done) => socket.write(chunk, done),
      });
      if (early.length > 0) carrier.push(early);
      socket.on('data', (chunk: Buffer) => carrier.push(chunk));
      const tls = new TLSSocket(carrier, { isServer: true, key: options.tls.key, cert: options.tls.cert });
      channel = new PacketChannel(tls, 'the client');
      channel.sequence = packet.sequenceId + 1;
      packet = await channel.next();
      response = parseHandshakeResponse(packet.payload);
      secure = true;
    }
    channel.sequence = (packet.sequenceId + 1) & 0xff;
    const refuse = () => {
      stats.refused++;
      channel.end(errPacket(1045, '28000', `Access denied for user '${response.username}'`));
    };
    if (response.username !== options.user) return refuse();
    const expected = cachingSha2Response(options.password, nonce);
    if (!response.authResponse.equals(expected)) return refuse();
    if (cached) {
      stats.fast++;
      channel.write(Buffer.from([0x01, 0x03]));
    } else {
      stats.full++;
      channel.write(Buffer.from([0x01, 0x04]));
      let answer = await channel.next();
      let password: Buffer;
      if (secure) password = answer.payload;
      else {
        if (answer.payload.length === 1 && answer.payload[0] === 0x02) {
          stats.keyRequests++;
          channel.sequence = (answer.sequenceId + 1) & 0xff;
          channel.write(Buffer.concat([Buffer.from([0x01]), Buffer.from(publicKey)]));
          answer = await channel.next();
        }
        const plain = privateDecrypt(
          { key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING },
          answer.payload,
        );
        password = xorBytes(plain, nonce);
      }
      channel.sequence = (answer.sequenceId + 1) & 0xff;
      if (!password.equals(Buffer.from(`${options.password}\0`))) return refuse();
      cached = true;
    }
    channel.write(okPacket());
    for (;;) {
      const command = await channel.next();
      channel.sequence = 1;
      if (command.payload[0] === Command.QUIT) return channel.end();
      channel.write(okPacket());
    }
  };
  const server: Server = createServer((socket) => void serve(socket).catch(() => socket.destroy()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    publicKey,
    stats,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
