import { status as GrpcStatus } from '@grpc/grpc-js';
import { Protocol } from '@tollgate/proto';
import { httpConnectionRefuser } from '@tollgate/protocol-http';
import { kubernetesRefuser } from '@tollgate/protocol-kubernetes';
import { mysqlRefuser } from '@tollgate/protocol-mysql';
import { postgresRefuser } from '@tollgate/protocol-postgres';
import type { ProtocolRefuser, RefusedClient, Refusal } from '@tollgate/protocol-tcp';
import { OpenStreamError } from './read-open-result';

/**
 * The protocols whose clients `tollgate connect` can tell in their own protocol why a session is
 * refused or ended; a protocol joins by adding its ProtocolRefuser here. Clients of the others are
 * reset (with the reason on connect's stderr).
 */
const REFUSERS: ReadonlyMap<Protocol, ProtocolRefuser> = new Map([
  [postgresRefuser.protocol, postgresRefuser],
  [mysqlRefuser.protocol, mysqlRefuser],
  [httpConnectionRefuser.protocol, httpConnectionRefuser],
  [kubernetesRefuser.protocol, kubernetesRefuser],
]);

export function refuserFor(protocol: Protocol | undefined): ProtocolRefuser | undefined {
  return protocol === undefined ? undefined : REFUSERS.get(protocol);
}

/**
 * Who a refusal is said to: the connection's protocol when the gateway told it, else whichever
 * protocol the client's first bytes open (the gateway does not say what an unknown name speaks).
 */
export function refusedClient(protocol: Protocol | undefined): RefusedClient {
  const known =
    protocol === undefined || protocol === Protocol.UNSPECIFIED ? undefined : refuserFor(protocol);
  if (known) return { protocol: known };
  return { oneOf: protocol === undefined || protocol === Protocol.UNSPECIFIED ? [...REFUSERS.values()] : [] };
}

/** The refusal behind a failed Open stream (the gateway's gRPC status), as the client hears it. */
export function streamRefusal(error: unknown): Refusal {
  const message = error instanceof Error ? error.message : String(error);
  if (!(error instanceof OpenStreamError)) return { kind: 'internal', message };
  switch (error.status) {
    case GrpcStatus.UNAUTHENTICATED:
      return { kind: 'unauthenticated', message: `the gateway refused the access token: ${message}` };
    case GrpcStatus.PERMISSION_DENIED:
      return { kind: 'denied', message };
    case GrpcStatus.UNAVAILABLE:
    case GrpcStatus.DEADLINE_EXCEEDED:
      return { kind: 'unavailable', message: `cannot reach the gateway: ${message}` };
    default:
      return { kind: 'internal', message };
  }
}
