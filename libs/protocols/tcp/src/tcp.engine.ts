import { Protocol, type ConnectionSpec } from '@tollgate/proto';
import { gateClientData, type ClientGate } from './client-gate';
import type { EngineSession, RelayEngine } from './relay-engine';
import { resetSocket } from './socket-reset';
import { relaySocket } from './socket-relay';
import { TargetUnreachableError } from './target-unreachable.error';
import { dialTcpTarget } from './tcp-target';

export interface TcpEngineOptions {
  /**
   * Reads each session's first client bytes before any reach the target (the agent's: a request a
   * web page sent to `tollgate connect`'s loopback listener is refused, see webPageGate).
   */
  readonly clientGate?: ClientGate;
  /** Told when the gate refuses a session, with why. */
  readonly onRefused?: (spec: ConnectionSpec, reason: string) => void;
}

/** Raw TCP: bytes relayed as they are; no command-level policy. */
export class TcpEngine implements RelayEngine {
  readonly protocol = Protocol.TCP;

  constructor(private readonly options: TcpEngineOptions = {}) {}

  async open(spec: ConnectionSpec, options: { readonly connectTimeoutMs: number }): Promise<EngineSession> {
    if (spec.target?.$case !== 'tcp') {
      throw new TargetUnreachableError(`connection "${spec.name}" has no tcp target`);
    }
    const socket = await dialTcpTarget(spec.target.tcp, options.connectTimeoutMs);
    const gate = this.options.clientGate;
    return {
      relay: (stream, codec) =>
        relaySocket(
          socket,
          gate
            ? gateClientData(stream, codec, gate, (reason) => {
                this.options.onRefused?.(spec, reason);
                // The relay ends the session with this error's message: `tollgate connect` says why.
                socket.destroy(new Error(`refused: ${reason}`));
              })
            : stream,
          codec,
        ),
      abort: () => resetSocket(socket),
    };
  }
}
