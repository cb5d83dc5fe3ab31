import type { ClientDown, OpenResult } from '@tollgate/proto';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import type { ClientUp } from '@tollgate/proto';

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
    const onError = (error: Error & { details?: string }) => {
      done();
      reject(new Error(error.details ?? error.message));
    };
    const onEnd = () => {
      done();
      reject(new Error('the gateway ended the session before answering'));
    };
    call.on('data', onData);
    call.once('error', onError);
    call.once('end', onEnd);
  });
}
