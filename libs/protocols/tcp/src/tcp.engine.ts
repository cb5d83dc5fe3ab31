import { Protocol, type ConnectionSpec } from '@tollgate/proto';
import type { EngineSession, RelayEngine } from './relay-engine';
import { resetSocket } from './socket-reset';
import { relaySocket } from './socket-relay';
import { TargetUnreachableError } from './target-unreachable.error';
import { dialTcpTarget } from './tcp-target';

/** Raw TCP: bytes relayed as they are; no command-level policy. */
export class TcpEngine implements RelayEngine {
  readonly protocol = Protocol.TCP;

  async open(spec: ConnectionSpec, options: { readonly connectTimeoutMs: number }): Promise<EngineSession> {
    if (spec.target?.$case !== 'tcp') {
      throw new TargetUnreachableError(`connection "${spec.name}" has no tcp target`);
    }
    const socket = await dialTcpTarget(spec.target.tcp, options.connectTimeoutMs);
    return {
      relay: (stream, codec) => relaySocket(socket, stream, codec),
      abort: () => resetSocket(socket),
    };
  }
}
