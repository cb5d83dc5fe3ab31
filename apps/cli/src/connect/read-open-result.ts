import type { ClientDown, OpenResult } from '@tollgate/proto';
import { status as GrpcStatus, type ClientDuplexStream } from '@grpc/grpc-js';
import type { ClientUp } from '@tollgate/proto';
import { OpenStreamError } from './open-stream.error';

export { OpenStreamError } from './open-stream.error';

/** Waits for the gateway's OpenResult (the first message of an Open stream), then pauses the stream. */
export function readOpenResult(call: ClientDuplexStream<ClientUp | Buffer, ClientDown>): Promise<OpenResult> {
  return new Promise<OpenResult>((resolve, reject) => {
    const done = () => {
      call.off('data', onData);
      call.off('error', onError);
      call.off('end', onEnd);
    };
    const onData = (message: ClientDown) => {
      done();
      call.pause();
      if (message.kind?.$case === 'openResult') resolve(message.kind.openResult);
      else reject(new Error('the gateway broke the tunnel protocol (no OpenResult)'));
    };
    const onError = (error: Error & { details?: string; code?: GrpcStatus }) => {
      done();
      reject(new OpenStreamError(error.details ?? error.message, error.code ?? GrpcStatus.UNKNOWN));
    };
    const onEnd = () => {
      done();
      reject(new OpenStreamError('the gateway ended the session before answering', GrpcStatus.UNAVAILABLE));
    };
    call.on('data', onData);
    call.once('error', onError);
    call.once('end', onEnd);
  });
}
