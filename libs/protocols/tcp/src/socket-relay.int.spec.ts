import { readFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { DATA_ENVELOPE_HEADROOM, type StreamFrame } from '@tollgate/proto';
import { frameStreamPair, makeCertificate, makeTempDir } from '@tollgate/testing';
import { halfCloseFrame, resetFrame, type FrameCodec } from './frame-codec';
import { relaySocket, type RelayOutcome } from './socket-relay';
import { connectWithFrameReads } from './socket-reads';

const codec: FrameCodec<StreamFrame, StreamFrame> = { wrap: (f) => f, unwrap: (f) => ({ frame: f }) };

async function listen(handler: (socket: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => undefined);
    handler(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

function dial(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** A target socket as the agent dials it: one frame per read, with room for a header in front. */
function dialFrameReads(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connectWithFrameReads({ host: '127.0.0.1', port, allowHalfOpen: true });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Writes into the headroom in front of each read, as the agent's codec writes a frame header. */
const headerWritingCodec: FrameCodec<StreamFrame, StreamFrame> = {
  ...codec,
  wrapRead: (data) => {
    Buffer.from(data.buffer, data.byteOffset - DATA_ENVELOPE_HEADROOM, DATA_ENVELOPE_HEADROOM).fill(0xee);
    return { kind: { $case: 'data', data } };
  },
};

describe.each([
  { target: 'data events', dialTarget: dial, targetCodec: codec },
  { target: 'frame reads', dialTarget: dialFrameReads, targetCodec: codec },
  {
    target: 'frame reads, header written in front',
    dialTarget: dialFrameReads,
    targetCodec: headerWritingCodec,
  },
])(
  'relaySocket over a frame stream (real sockets on both ends; target: $target)',
  ({ dialTarget, targetCodec }) => {
    const servers: Server[] = [];
    afterEach(async () => {
      await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
    });

    /** client → [listener socket ⇄ relay] ⇄ frames ⇄ [relay ⇄ target socket] → target */
    async function tunnel(target: (socket: Socket) => void) {
      const targetServer = await listen(target);
      servers.push(targetServer.server);
      const outcomes: Promise<RelayOutcome>[] = [];
      const front = await listen((local) => {
        const [near, far] = frameStreamPair();
        outcomes.push(relaySocket(local, near, codec));
        void dialTarget(targetServer.port).then((remote) =>
          outcomes.push(relaySocket(remote, far, targetCodec)),
        );
      });
      servers.push(front.server);
      return { port: front.port, outcomes };
    }

    it('carries bytes both ways and keeps the other direction open after a half-close', async () => {
      const { port, outcomes } = await tunnel((socket) => {
        const chunks: Buffer[] = [];
        socket.on('data', (c: Buffer) => chunks.push(c));
        socket.on('end', () => socket.end(Buffer.concat(chunks).reverse()));
      });
      const client = await dial(port);
      const reply: Buffer[] = [];
      client.on('data', (c: Buffer) => reply.push(c));
      client.end(Buffer.from([0, 1, 2, 255]));
      await new Promise((resolve) => client.on('close', resolve));
      expect([...Buffer.concat(reply)]).toEqual([255, 2, 1, 0]);
      expect((await Promise.all(outcomes)).map((o) => o.kind)).toEqual(['normal', 'normal']);
    });

    it('delivers a large download byte for byte', async () => {
      const body = Buffer.from(Array.from({ length: 8 * 1024 * 1024 }, (_, i) => (i * 7 + (i >> 12)) & 0xff));
      const { port } = await tunnel((socket) => socket.end(body));
      const client = await dial(port);
      const received: Buffer[] = [];
      client.on('data', (c: Buffer) => received.push(c));
      await new Promise((resolve) => client.on('end', resolve));
      client.destroy();
      expect(Buffer.concat(received).equals(body)).toBe(true);
    });

    it('turns a reset on one side into a reset on the other', async () => {
      const { port, outcomes } = await tunnel((socket) =>
        socket.once('data', () => socket.resetAndDestroy()),
      );
      const client = await dial(port);
      const error = new Promise<string>((resolve) =>
        client.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? '')),
      );
      client.write('x');
      expect(await error).toBe('ECONNRESET');
      const kinds = (await Promise.all(outcomes)).map((o) => o.kind).sort();
      expect(kinds).toEqual(['remote-reset', 'socket-error']);
    });

    it('stops reading the target when the client stops reading (bounded buffering)', async () => {
      let sent = 0;
      const chunk = Buffer.alloc(64 * 1024);
      const { port } = await tunnel((socket) => {
        const pump = () => {
          while (sent < 512 * 1024 * 1024) {
            sent += chunk.length;
            if (!socket.write(chunk)) return void socket.once('drain', pump);
          }
        };
        pump();
      });
      const client = await dial(port);
      client.on('error', () => undefined);
      client.pause();
      let last = -1;
      while (last !== sent) {
        last = sent;
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      // Socket buffers on four sockets plus a few frames in flight; nothing like the 512 MiB offered.
      expect(sent).toBeLessThan(32 * 1024 * 1024);
      client.destroy();
    });
  },
);

describe('relaySocket: the session ends after its far side half-closed', () => {
  it.each([
    { end: 'a reset frame', finish: (far: Duplex) => far.write(resetFrame('session over')) },
    { end: 'the stream ending', finish: (far: Duplex) => far.end() },
  ])(
    "closes the socket it already ended on $end, without sending Node's failure to reset it as the client's reset",
    async ({ finish }) => {
      const [near, far] = frameStreamPair();
      let outcome: Promise<RelayOutcome> | undefined;
      const server = createServer({ allowHalfOpen: true }, (socket) => {
        outcome = relaySocket(socket, near, codec);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const fromRelay: StreamFrame[] = [];
      far.on('data', (frame: StreamFrame) => fromRelay.push(frame));
      const client = connect({
        host: '127.0.0.1',
        port: (server.address() as AddressInfo).port,
        allowHalfOpen: true,
      });
      client.on('error', () => undefined);
      await new Promise((resolve) => client.once('connect', resolve));
      const ended = new Promise((resolve) => client.once('end', resolve));
      client.resume();
      // The far side ends its direction (the relay ends the socket: a FIN) and the session ends at
      // once, before the client's own FIN (a MySQL client's COM_QUIT, answered by the engine's
      // close): the socket's shutdown is still under way when the relay cuts it.
      far.write(halfCloseFrame());
      finish(far);
      await ended;
      expect((await outcome)?.kind).not.toBe('socket-error');
      await new Promise((resolve) => setTimeout(resolve, 50));
      // Node cannot reset a socket it already ended (EINVAL); that is not the client resetting.
      expect(fromRelay.filter((f) => f.kind?.$case === 'reset')).toEqual([]);
      client.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  );
});

describe('relaySocket over a TLS socket', () => {
  it('closes the TLS client when the stream is lost, instead of throwing on a reset', async () => {
    const dir = makeTempDir('tollgate-relay-tls-');
    const cert = makeCertificate(dir.path, 'relay');
    const [near, far] = frameStreamPair();
    let outcome: Promise<RelayOutcome> | undefined;
    const server = createTlsServer(
      { cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile), allowHalfOpen: true },
      (socket) => {
        socket.on('error', () => undefined);
        outcome = relaySocket(socket, near, codec);
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = tlsConnect({
      host: '127.0.0.1',
      port: (server.address() as AddressInfo).port,
      ca: readFileSync(cert.certFile),
      servername: 'localhost',
    });
    client.on('error', () => undefined);
    await new Promise((resolve) => client.once('secureConnect', resolve));
    const closed = new Promise((resolve) => client.once('close', resolve));
    // The far end goes away without a half-close: the session was lost, the client is cut off.
    far.on('data', () => undefined);
    far.end();
    await closed;
    expect(await outcome).toMatchObject({ kind: 'tunnel-lost' });
    await new Promise((resolve) => server.close(resolve));
    dir.remove();
  });
});
