import { Injectable, Optional } from '@nestjs/common';
import { status as GrpcStatus, type handleBidiStreamingCall } from '@grpc/grpc-js';
import type { ClientDown, ClientUp, RelayedFrame } from '@tollgate/proto';
import { AccessDecider } from '../identity/access-decider';
import { AccessTokenVerifier } from '../identity/access-token-verifier';
import type { Principal } from '../identity/principal';
import { bearerToken } from './agent-token';
import { failCall, firstMessage } from './first-message';
import { RpcError, UnauthenticatedRpcError } from './rpc-error';
import { SessionBroker } from './session-broker';
import type { ClientCall } from './session-relay';
import { TunnelLogger } from './tunnel-logger';

/**
 * The ClientTunnel gRPC service (`tollgate connect`): authenticates the caller's access token,
 * reads the OpenRequest and hands the session to the broker. The verifier and decider come from the
 * IdentityModule; without them every open is refused (fail closed).
 */
@Injectable()
export class ClientTunnelGrpcService {
  constructor(
    private readonly broker: SessionBroker,
    private readonly logger: TunnelLogger,
    @Optional() private readonly verifier?: AccessTokenVerifier,
    @Optional() private readonly decider?: AccessDecider,
  ) {}

  /** Served with ClientTunnelRelayWire: data frames arrive and leave as RelayedFrame. */
  handlers(): {
    open: handleBidiStreamingCall<ClientUp | RelayedFrame, ClientDown | RelayedFrame>;
  } {
    return {
      open: (call) => {
        this.open(call).catch((error: unknown) => {
          if (!(error instanceof RpcError)) this.logger.log.error({ err: error }, 'client stream failed');
          failCall(call, error);
        });
      },
    };
  }

  private async open(call: ClientCall): Promise<void> {
    // The token check and the first message overlap: one round trip less per session open.
    const [principal, first] = await Promise.all([
      this.authenticate(call),
      firstMessage<ClientUp>(call, 10_000, 'OpenRequest'),
    ]);
    if (first.kind?.$case !== 'openRequest') {
      throw new RpcError(GrpcStatus.INVALID_ARGUMENT, 'the first message must be OpenRequest');
    }
    if (!this.decider) throw new RpcError(GrpcStatus.UNAVAILABLE, 'access decisions are not configured');
    await this.broker.serve(principal, first.kind.openRequest, call, this.decider);
  }

  private async authenticate(call: ClientCall): Promise<Principal> {
    if (!this.verifier) throw new RpcError(GrpcStatus.UNAVAILABLE, 'authentication is not configured');
    const token = bearerToken(call.metadata.get('authorization'));
    if (!token) throw new UnauthenticatedRpcError('missing access token (authorization: Bearer <token>)');
    try {
      return await this.verifier.verify(token);
    } catch (error) {
      const reason = error instanceof Error ? error.message : 'invalid access token';
      this.logger.log.warn({ peer: call.getPeer(), reason }, 'client authentication rejected');
      throw new UnauthenticatedRpcError(reason);
    }
  }
}
