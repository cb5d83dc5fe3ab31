// grpc-js frames every message it sends by allocating a new buffer (5-byte prefix + message) and
// copying the message into it. A tunnel data frame is ~120 KiB, so that is one copy of every relayed
// byte into freshly allocated memory in each sending process. Messages the tunnel marks here already
// have those 5 bytes free in front of them, within memory the sender owns, so the prefix is written
// there and the message leaves without a copy. Everything else (and any grpc-js version other than
// the pinned one, whose internals this relies on) is framed by grpc-js as before.
import { createRequire } from 'node:module';

/** The gRPC message prefix: a compressed flag and a big-endian 32-bit length. */
export const GRPC_MESSAGE_PREFIX_BYTES = 5;

/** The grpc-js version whose framing functions are replaced (package.json pins it). */
const PATCHED_GRPC_JS_VERSION = '1.14.7';

const framable = new WeakSet<Uint8Array>();

/**
 * Marks `message` as having GRPC_MESSAGE_PREFIX_BYTES bytes in front of it, in its own buffer, that
 * the caller owns and hands over with it: grpc-js may write the message prefix there.
 */
export function markGrpcPrefixRoom<T extends Uint8Array>(message: T): T {
  if (message.byteOffset >= GRPC_MESSAGE_PREFIX_BYTES) framable.add(message);
  return message;
}

/**
 * Marks a message the gateway received if grpc-js delivered it as the tail of a buffer that holds
 * exactly this message and its prefix (what grpc-js's decoder allocates for an uncompressed message
 * of at least 4 KiB): nothing else lives in that buffer, so the prefix can be rewritten in place.
 */
export function markReceivedGrpcPrefixRoom(message: Buffer): Buffer {
  if (
    message.byteOffset === GRPC_MESSAGE_PREFIX_BYTES &&
    message.buffer.byteLength === GRPC_MESSAGE_PREFIX_BYTES + message.length
  ) {
    framable.add(message);
  }
  return message;
}

/** The framed message, written around `message` in place; undefined if it is not marked. */
export function frameInPlace(message: Buffer): Buffer | undefined {
  if (!framable.has(message)) return undefined;
  framable.delete(message);
  const framed = Buffer.from(
    message.buffer,
    message.byteOffset - GRPC_MESSAGE_PREFIX_BYTES,
    message.length + GRPC_MESSAGE_PREFIX_BYTES,
  );
  framed[0] = 0;
  framed.writeUInt32BE(message.length, 1);
  return framed;
}

/** What grpc-js does for a message that is not marked: a new buffer, prefix, copy. */
function framedCopy(message: Buffer): Buffer {
  const framed = Buffer.allocUnsafe(message.length + GRPC_MESSAGE_PREFIX_BYTES);
  framed[0] = 0;
  framed.writeUInt32BE(message.length, 1);
  message.copy(framed, GRPC_MESSAGE_PREFIX_BYTES);
  return framed;
}

type WriteMessage = (this: unknown, message: Buffer, compress: boolean) => Promise<Buffer>;
type SerializeMessage = (this: { handler: { serialize(value: unknown): Buffer } }, value: unknown) => Buffer;

let installed: boolean | undefined;

/**
 * Lets grpc-js send marked messages without copying them (client and server side). Returns whether
 * it is in effect: false with any grpc-js but the pinned version, which then frames as usual.
 */
export function installInPlaceGrpcFraming(): boolean {
  if (installed !== undefined) return installed;
  const require = createRequire(__filename);
  const { version } = require('@grpc/grpc-js/package.json') as { version: string };
  if (version !== PATCHED_GRPC_JS_VERSION) return (installed = false);

  // Client side: the identity (no compression) handler of the compression filter frames messages.
  const { CompressionFilter } = require('@grpc/grpc-js/build/src/compression-filter') as {
    CompressionFilter: new (options: object, shared: object) => { sendCompression: object };
  };
  const identity = Object.getPrototypeOf(new CompressionFilter({}, {}).sendCompression) as {
    writeMessage: WriteMessage;
  };
  // Server side: every response message is framed by serializeMessage.
  const { BaseServerInterceptingCall } = require('@grpc/grpc-js/build/src/server-interceptors') as {
    BaseServerInterceptingCall: { prototype: { serializeMessage: SerializeMessage } };
  };
  if (
    typeof identity.writeMessage !== 'function' ||
    typeof BaseServerInterceptingCall?.prototype.serializeMessage !== 'function'
  ) {
    return (installed = false);
  }

  const writeMessage = identity.writeMessage;
  identity.writeMessage = async function (message, compress) {
    return frameInPlace(message) ?? writeMessage.call(this, message, compress);
  };
  BaseServerInterceptingCall.prototype.serializeMessage = function (value) {
    const message = this.handler.serialize(value);
    return frameInPlace(message) ?? framedCopy(message);
  };
  return (installed = true);
}
