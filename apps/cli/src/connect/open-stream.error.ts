import type { status as GrpcStatus } from '@grpc/grpc-js';

/** gRPC's UNAUTHENTICATED (16): fixed by the gRPC protocol, so said here without loading grpc-js. */
const UNAUTHENTICATED = 16;

/** The gateway refused the Open stream itself (a gRPC status): a bad token, or no gateway at all. */
export class OpenStreamError extends Error {
  constructor(
    message: string,
    /** The gRPC status code (UNAUTHENTICATED for an expired or revoked token, UNAVAILABLE, ...). */
    readonly status: GrpcStatus,
  ) {
    super(message);
  }

  /** An expired, revoked or unknown token (a new login helps). */
  get unauthenticated(): boolean {
    return this.status === (UNAUTHENTICATED as GrpcStatus);
  }
}
