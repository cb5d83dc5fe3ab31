import { status as GrpcStatus, type StatusObject } from '@grpc/grpc-js';

/** An error a tunnel RPC ends with; mapped to a gRPC status at the edge, never a stack trace. */
export class RpcError extends Error {
  constructor(
    readonly code: GrpcStatus,
    message: string,
  ) {
    super(message);
    this.name = 'RpcError';
  }

  toStatus(): Partial<StatusObject> {
    return { code: this.code, details: this.message };
  }
}

export class UnauthenticatedRpcError extends RpcError {
  constructor(message: string) {
    super(GrpcStatus.UNAUTHENTICATED, message);
  }
}
