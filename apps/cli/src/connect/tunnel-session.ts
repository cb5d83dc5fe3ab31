import { readFileSync } from 'node:fs';
import { credentials, Metadata, type ChannelCredentials, type ClientDuplexStream } from '@grpc/grpc-js';
import type { ConnectConfig } from '@tollgate/config';
import {
  ClientTunnelWireClient,
  encodeDataEnvelope,
  installInPlaceGrpcFraming,
  ENVELOPE_FRAME_FIELD,
  OpenFailureCode,
  sessionVerbCode,
  tuneHeapForRelaying,
  type SessionVerbName,
  type ClientDown,
  type ClientUp,
  type OpenResult_Failed,
  type OpenResult_Opened,
} from '@tollgate/proto';
import type { FrameCodec } from '@tollgate/protocol-tcp';
import { readOpenResult } from './read-open-result';

export type TunnelCall = ClientDuplexStream<ClientUp | Buffer, ClientDown>;

/**
 * How the CLI's ClientTunnel.Open stream carries StreamFrames; data frames leave pre-encoded (one
 * copy of the bytes; see ClientTunnelWire).
 */
export const clientCodec: FrameCodec<ClientDown, ClientUp | Buffer> = {
  wrap: (frame) =>
    frame.kind?.$case === 'data'
      ? encodeDataEnvelope(ENVELOPE_FRAME_FIELD.clientUp, frame.kind.data)
      : { kind: { $case: 'frame', frame } },
  unwrap: (message) => {
    switch (message.kind?.$case) {
      case 'frame':
        return { frame: message.kind.frame };
      case 'close':
        return { closeReason: message.kind.close.reason };
      default:
        return undefined;
    }
  },
};

const FAILURES: Record<OpenFailureCode, string> = {
  [OpenFailureCode.UNSPECIFIED]: 'failed',
  [OpenFailureCode.NOT_FOUND]: 'not found',
  [OpenFailureCode.AGENT_OFFLINE]: 'agent offline',
  [OpenFailureCode.TARGET_UNREACHABLE]: 'target unreachable',
  [OpenFailureCode.DENIED]: 'denied',
  [OpenFailureCode.INTERNAL]: 'internal error',
  [OpenFailureCode.UNRECOGNIZED]: 'failed',
};

/** `NAME: denied: reason` — how a failed open reads to the user. */
export function describeFailure(connectionName: string, failed: OpenResult_Failed | undefined): string {
  return `${connectionName}: ${FAILURES[failed?.code ?? OpenFailureCode.UNSPECIFIED]}: ${failed?.message ?? 'no detail'}`;
}

export function tunnelClient(config: ConnectConfig): ClientTunnelWireClient {
  tuneHeapForRelaying();
  installInPlaceGrpcFraming();
  return new ClientTunnelWireClient(config.grpcUrl.address, channelCredentials(config), {
    'grpc.keepalive_time_ms': 20_000,
    'grpc.keepalive_timeout_ms': 10_000,
    // Per-stream HTTP/2 receive window (the default 64 KiB caps a session at tens of MB/s).
    'grpc-node.flow_control_window': 4 * 1024 * 1024,
  });
}

function channelCredentials(config: ConnectConfig): ChannelCredentials {
  if (!config.grpcUrl.tls) return credentials.createInsecure();
  return credentials.createSsl(config.caFile ? readFileSync(config.caFile) : null);
}

export type OpenOutcome =
  | { readonly kind: 'opened'; readonly call: TunnelCall; readonly opened: OpenResult_Opened }
  | { readonly kind: 'failed'; readonly failed: OpenResult_Failed | undefined };

/**
 * Opens one session: sends the OpenRequest with the caller's token and waits for the gateway's
 * typed answer. Throws only when the gateway cannot be reached or breaks the protocol.
 */
export async function openTunnelSession(
  client: ClientTunnelWireClient,
  request: {
    readonly connectionName: string;
    readonly token: string;
    readonly clientVersion: string;
    readonly clientAddr: string;
    /** What the session is for; the gateway authorizes it as this verb (default `connect`). */
    readonly verb?: SessionVerbName;
  },
): Promise<OpenOutcome> {
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${request.token}`);
  const call = client.open(metadata);
  call.on('error', () => undefined);
  call.write({
    kind: {
      $case: 'openRequest',
      openRequest: {
        connectionName: request.connectionName,
        clientAddr: request.clientAddr,
        clientVersion: request.clientVersion,
        verb: sessionVerbCode(request.verb ?? 'connect'),
      },
    },
  });
  try {
    const result = await readOpenResult(call);
    if (result.result?.$case === 'opened') return { kind: 'opened', call, opened: result.result.opened };
    call.end();
    return { kind: 'failed', failed: result.result?.$case === 'failed' ? result.result.failed : undefined };
  } catch (error) {
    call.cancel();
    throw error;
  }
}
