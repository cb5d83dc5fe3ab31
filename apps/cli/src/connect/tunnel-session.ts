import { readFileSync } from 'node:fs';
import { Metadata, type ClientDuplexStream } from '@grpc/grpc-js';
import type { ConnectConfig } from '@tollgate/config';
import {
  ClientTunnelWireClient,
  encodeDataEnvelope,
  gatewayChannelCredentials,
  probeGatewayTls,
  installInPlaceGrpcFraming,
  ENVELOPE_FRAME_FIELD,
  OpenFailureCode,
  sessionVerbCode,
  tuneHeapForRelaying,
  acceptLargeHttp2Frames,
  type SessionVerbName,
  type ClientDown,
  type ClientUp,
  type GatewayTrust,
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
        return { closeReason: message.kind.close.reason, closeCode: message.kind.close.code };
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
  const said = `${connectionName}: ${FAILURES[failed?.code ?? OpenFailureCode.UNSPECIFIED]}: ${failed?.message ?? 'no detail'}`;
  // A misspelt name is the usual cause: say where the right one is.
  return failed?.code === OpenFailureCode.NOT_FOUND
    ? `${said} (\`tollgate ls\` lists the connections you may use)`
    : said;
}

export function tunnelClient(config: ConnectConfig): ClientTunnelWireClient {
  tuneHeapForRelaying();
  installInPlaceGrpcFraming();
  acceptLargeHttp2Frames();
  return new ClientTunnelWireClient(
    config.grpcUrl.address,
    gatewayChannelCredentials(config.grpcUrl, gatewayTrust(config)),
    {
      'grpc.keepalive_time_ms': 20_000,
      'grpc.keepalive_timeout_ms': 10_000,
      // Per-stream HTTP/2 receive window (the default 64 KiB caps a session at tens of MB/s).
      'grpc-node.flow_control_window': 4 * 1024 * 1024,
    },
  );
}

/** The CA file and pinned fingerprint the gateway's certificate is checked against. */
function gatewayTrust(config: ConnectConfig): GatewayTrust {
  let ca: Buffer | undefined;
  if (config.caFile) {
    try {
      ca = readFileSync(config.caFile);
    } catch (error) {
      throw new Error(
        `--ca-file (or TOLLGATE_CA_FILE): cannot read ${config.caFile}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  return {
    ...(ca ? { ca } : {}),
    ...(config.gatewayFingerprint ? { fingerprint: config.gatewayFingerprint } : {}),
  };
}

/**
 * For a TLS gateway: throws when its certificate will never verify (pinned fingerprint, CA, name,
 * validity), so the command stops with the reason instead of failing every session. A gateway
 * that cannot be reached right now is not an error here.
 */
export async function checkGatewayCertificate(config: ConnectConfig): Promise<void> {
  if (!config.grpcUrl.tls) return;
  const verdict = await probeGatewayTls(config.grpcUrl, gatewayTrust(config));
  if (!verdict.ok && verdict.permanent) {
    throw new Error(
      `${config.grpcUrl.address}: the gateway's TLS certificate will never verify: ${verdict.reason}`,
    );
  }
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
