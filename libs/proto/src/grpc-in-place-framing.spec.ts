import {
  makeGenericClientConstructor,
  Server,
  ServerCredentials,
  credentials,
  type ClientDuplexStream,
  type ServerDuplexStream,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  frameInPlace,
  GRPC_MESSAGE_PREFIX_BYTES,
  installInPlaceGrpcFraming,
  markGrpcPrefixRoom,
  markReceivedGrpcPrefixRoom,
} from './grpc-in-place-framing';

const raw = (bytes: Buffer) => bytes;
// A bidi echo on raw bytes: the server sends back each message it receives, marked as the gateway
// marks relayed frames.
const EchoService = {
  echo: {
    path: '/test.Echo/Echo',
    requestStream: true,
    responseStream: true,
    requestSerialize: raw,
    requestDeserialize: (bytes: Buffer) => markReceivedGrpcPrefixRoom(bytes),
    responseSerialize: raw,
    responseDeserialize: raw,
  },
} satisfies ServiceDefinition;
const EchoClient = makeGenericClientConstructor(EchoService, 'test.Echo') as unknown as new (
  address: string,
  creds: ReturnType<typeof credentials.createInsecure>,
) => { echo(): ClientDuplexStream<Buffer, Buffer>; close(): void };

/** `data` behind `room` free bytes of its own buffer, as the tunnel's socket reads leave it. */
function withRoom(data: Buffer, room = GRPC_MESSAGE_PREFIX_BYTES): Buffer {
  const buffer = Buffer.alloc(room + data.length, 0xee);
  data.copy(buffer, room);
  return buffer.subarray(room);
}

describe('grpc-js framing in place', () => {
  let server: Server;
  let client: InstanceType<typeof EchoClient>;

  beforeAll(async () => {
    expect(installInPlaceGrpcFraming()).toBe(true);
    server = new Server();
    server.addService(EchoService, {
      echo: (call: ServerDuplexStream<Buffer, Buffer>) => {
        call.on('data', (message: Buffer) => call.write(message));
        call.on('end', () => call.end());
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    client = new EchoClient(`127.0.0.1:${port}`, credentials.createInsecure());
  });

  afterAll(() => {
    client.close();
    server.forceShutdown();
  });

  it('delivers marked and unmarked messages of every size intact, in order, both ways', async () => {
    const sizes = [0, 1, 4090, 4091, 4096, 16_384, 65_536, 120 * 1024, 1_000_000];
    const messages = sizes.flatMap((n) => [randomBytes(n), randomBytes(n)]);
    const call = client.echo();
    const received: Buffer[] = [];
    const done = new Promise<void>((resolve, reject) => {
      call.on('data', (message: Buffer) => received.push(Buffer.from(message)));
      call.on('end', resolve);
      call.on('error', reject);
    });
    const sent = messages.map((message, i) => (i % 2 ? message : markGrpcPrefixRoom(withRoom(message))));
    for (const message of sent) call.write(message);
    call.end();
    await done;
    expect(received.map((m) => m.toString('hex'))).toEqual(messages.map((m) => m.toString('hex')));
    // The marked messages left from the caller's own buffer: their prefix was written in front.
    const big = sent[sizes.indexOf(65_536) * 2];
    const prefix = Buffer.from(
      big.buffer,
      big.byteOffset - GRPC_MESSAGE_PREFIX_BYTES,
      GRPC_MESSAGE_PREFIX_BYTES,
    );
    expect([...prefix]).toEqual([0, 0x00, 0x01, 0x00, 0x00]);
  });

  it('frames in place only what was marked, and only once', () => {
    const unmarked = withRoom(Buffer.from('abc'));
    expect(frameInPlace(unmarked)).toBeUndefined();
    const marked = markGrpcPrefixRoom(withRoom(Buffer.from('abc')));
    expect([...frameInPlace(marked)!]).toEqual([0, 0, 0, 0, 3, 0x61, 0x62, 0x63]);
    expect(frameInPlace(marked)).toBeUndefined();
    // No room in front: not marked.
    expect(frameInPlace(markGrpcPrefixRoom(Buffer.alloc(10)))).toBeUndefined();
  });

  it('takes a received message as framable only when its buffer holds exactly it and its prefix', () => {
    const own = Buffer.alloc(GRPC_MESSAGE_PREFIX_BYTES + 8192).subarray(GRPC_MESSAGE_PREFIX_BYTES);
    expect(frameInPlace(markReceivedGrpcPrefixRoom(own))).toBeDefined();
    // A small message in Node's shared pool: the bytes in front belong to other buffers.
    const pooled = Buffer.from('small message');
    expect(pooled.byteOffset).toBeGreaterThan(0);
    expect(frameInPlace(markReceivedGrpcPrefixRoom(pooled))).toBeUndefined();
    const shared = Buffer.alloc(100).subarray(GRPC_MESSAGE_PREFIX_BYTES, 50);
    expect(frameInPlace(markReceivedGrpcPrefixRoom(shared))).toBeUndefined();
  });
});
