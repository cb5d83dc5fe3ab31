import { status as GrpcStatus } from '@grpc/grpc-js';
import { RpcError } from './rpc-error';

/** The parts of a grpc-js stream (client or server side) the tunnel helpers use. */
export interface MessageStream extends NodeJS.EventEmitter {
  pause(): unknown;
  resume(): unknown;
  readonly writableEnded: boolean;
  readonly destroyed: boolean;
}

/**
 * Reads one message from a stream and pauses it, so later messages wait for whoever reads next
 * (that reader must call `resume()`). Rejects if the stream ends, fails or stays silent too long.
 */
export function firstMessage<T>(stream: MessageStream, timeoutMs: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onEnd);
    };
    const onData = (message: T) => {
      done();
      stream.pause();
      resolve(message);
    };
    const onEnd = () => {
      done();
      reject(new RpcError(GrpcStatus.CANCELLED, `stream ended before ${what}`));
    };
    const onError = (error: Error) => {
      done();
      reject(error);
    };
    const timer = setTimeout(() => {
      done();
      reject(new RpcError(GrpcStatus.DEADLINE_EXCEEDED, `no ${what} within ${timeoutMs} ms`));
    }, timeoutMs);
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
    stream.once('close', onEnd);
    stream.resume();
  });
}

/** Ends a server stream with a status built from an error (RpcError keeps its code). */
export function failCall(stream: MessageStream, error: unknown): void {
  if (stream.writableEnded || stream.destroyed) return;
  const status =
    error instanceof RpcError ? error.toStatus() : { code: GrpcStatus.INTERNAL, details: 'internal error' };
  stream.emit('error', status);
}
