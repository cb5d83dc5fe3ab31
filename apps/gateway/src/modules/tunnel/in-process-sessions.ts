import { Duplex } from 'node:stream';
import { Injectable } from '@nestjs/common';
import { Metadata } from '@grpc/grpc-js';
import {
  dataEnvelopePayload,
  ENVELOPE_FRAME_FIELD,
  OpenFailureCode,
  Protocol,
  RelayedFrame,
  sessionVerbCode,
  type ClientDown,
  type ClientUp,
  type SessionVerbName,
} from '@tollgate/proto';
import { AccessDecider } from '../identity/access-decider';
import type { Principal } from '../identity/principal';
import { firstMessage } from './first-message';
import { SessionBroker } from './session-broker';
import type { NewSession } from './session-records';
import type { ClientCall } from './session-relay';

export interface InProcessSessionRequest {
  readonly connectionName: string;
  /** What the session is for: `exec` (the console's query runner) or `connect`. */
  readonly verb: SessionVerbName;
  /** Who is on the other end, for the decision's audit record and `sessions list` (`console 10.0.0.7`). */
  readonly clientAddr: string;
  /** The client's protocol when it speaks only one (a gateway listener): other connections are not found. */
  readonly speaks?: NewSession['protocol'];
  /** MySQL on a gateway listener: the connection id the listener greeted the client with. */
  readonly clientConnectionId?: number;
}

export type InProcessOpen =
  | {
      readonly kind: 'opened';
      readonly sessionId: string;
      readonly agentName: string;
      readonly protocol: Protocol;
      /** The session's frames as a message stream: read ClientDown, write ClientUp. */
      readonly call: Duplex;
    }
  | { readonly kind: 'failed'; readonly code: OpenFailureCode; readonly message: string };

const OPEN_TIMEOUT_MS = 60_000;

/**
 * Sessions the gateway opens itself on behalf of an HTTP caller (the console's query runner and
 * reachability test): the caller's principal goes through the same broker as `tollgate connect` and
 * `tollgate exec` (access decision for the verb, session record and durable open event, an agent,
 * the agent's protocol engine with its policy gate, masking and command audit). Only the client's
 * gRPC stream is replaced by an in-memory pair of message streams.
 */
@Injectable()
export class InProcessSessions {
  constructor(
    private readonly broker: SessionBroker,
    private readonly decider: AccessDecider,
  ) {}

  async open(principal: Principal, request: InProcessSessionRequest): Promise<InProcessOpen> {
    const [client, caller] = sessionStreamPair(request.clientAddr);
    // The broker runs for the whole session; it ends when either side closes.
    void this.broker
      .serve(
        principal,
        {
          connectionName: request.connectionName,
          clientAddr: request.clientAddr,
          clientVersion: 'console',
          verb: sessionVerbCode(request.verb),
        },
        client,
        this.decider,
        request.speaks,
        request.clientConnectionId,
      )
      .catch((error: unknown) => caller.destroy(error instanceof Error ? error : new Error(String(error))));
    let first: ClientDown;
    try {
      first = await firstMessage<ClientDown>(caller, OPEN_TIMEOUT_MS, 'OpenResult');
    } catch (error) {
      caller.destroy();
      return {
        kind: 'failed',
        code: OpenFailureCode.INTERNAL,
        message: error instanceof Error ? error.message : 'the session could not be opened',
      };
    }
    const result = first.kind?.$case === 'openResult' ? first.kind.openResult.result : undefined;
    if (result?.$case === 'opened') {
      return {
        kind: 'opened',
        sessionId: result.opened.sessionId,
        agentName: result.opened.agentName,
        protocol: result.opened.protocol,
        call: caller,
      };
    }
    caller.destroy();
    return {
      kind: 'failed',
      code: result?.$case === 'failed' ? result.failed.code : OpenFailureCode.INTERNAL,
      message: result?.$case === 'failed' ? result.failed.message : 'the gateway broke the session protocol',
    };
  }
}

/**
 * Two object-mode streams joined back to back: what the broker writes to `client` is read from
 * `caller`, and the other way round. Each write completes only when the other side has room, so a
 * slow reader holds the session back as gRPC flow control would. `client` has what the broker
 * uses of a grpc-js server stream (getPeer, cancelled, metadata).
 */
export function sessionStreamPair(peer: string): [ClientCall, Duplex] {
  // Each side finds the other only when data moves, after both exist.
  const clientSide: PairedStream = new PairedStream(() => callerSide, toClientDown);
  const callerSide: PairedStream = new PairedStream(
    () => clientSide,
    (message) => message,
  );
  const client = clientSide as unknown as ClientCall & { cancelled: boolean };
  Object.assign(client, {
    cancelled: false,
    metadata: new Metadata(),
    getPeer: () => peer,
    getDeadline: () => Infinity,
    getPath: () => '/tollgate.v1.ClientTunnel/Open',
  });
  // The caller going away is what a cancelled RPC looks like to the broker.
  callerSide.once('close', () => {
    if (!clientSide.writableFinished) {
      client.cancelled = true;
      clientSide.emit('cancelled');
      clientSide.destroy();
    }
  });
  return [client, callerSide];
}

/** A relayed data frame (bytes as received from the agent) as the ClientDown message it encodes. */
function toClientDown(message: unknown): unknown {
  if (!(message instanceof RelayedFrame)) return message;
  const field = ENVELOPE_FRAME_FIELD.clientDown;
  const data = dataEnvelopePayload(message.as(field), field);
  if (!data) throw new Error('malformed relayed frame');
  return { kind: { $case: 'frame', frame: { kind: { $case: 'data', data } } } } satisfies ClientDown;
}

class PairedStream extends Duplex {
  private pendingWrite: (() => void) | undefined;

  constructor(
    private readonly other: () => PairedStream,
    private readonly convert: (message: unknown) => unknown,
  ) {
    super({ objectMode: true, allowHalfOpen: true, readableHighWaterMark: 64, writableHighWaterMark: 64 });
  }

  override _read(): void {
    const pending = this.pendingWrite;
    this.pendingWrite = undefined;
    pending?.();
  }

  override _write(
    message: ClientUp | ClientDown | RelayedFrame,
    _encoding: string,
    callback: () => void,
  ): void {
    const other = this.other();
    if (other.destroyed || other.readableEnded) return callback();
    if (other.push(this.convert(message))) callback();
    else other.pendingWrite = callback;
  }

  override _final(callback: () => void): void {
    const other = this.other();
    if (!other.destroyed) other.push(null);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const other = this.other();
    const pending = other.pendingWrite;
    other.pendingWrite = undefined;
    pending?.();
    if (!other.destroyed) other.destroy();
    callback(error);
  }
}
