import { CloseCode, OpenFailureCode, type Protocol } from '@tollgate/proto';

/**
 * Why Tollgate refuses a session, or ends one, in words every protocol can map to its own error:
 * PostgreSQL a FATAL ErrorResponse with a SQLSTATE, MySQL an ERR packet, SSH a disconnect message,
 * HTTP a status.
 */
export type RefusalKind =
  /** No connection of that name (or the caller may not know it exists). */
  | 'not-found'
  /** Policy refuses the caller this connection. */
  | 'denied'
  /** The caller's credential is missing, expired or revoked. */
  | 'unauthenticated'
  /** No agent online, the target unreachable, or the gateway unreachable. */
  | 'unavailable'
  /** An operator ended the session. */
  | 'terminated'
  /** The session's token or grant expired, or was revoked, while it ran. */
  | 'credential-expired'
  /** A policy change withdrew the caller's access while the session ran. */
  | 'policy-changed'
  | 'idle-timeout'
  /** The gateway or agent is shutting down. */
  | 'shutdown'
  /** The tunnel (gateway or agent) went away, or the target connection failed. */
  | 'lost'
  | 'internal';

export interface Refusal {
  readonly kind: RefusalKind;
  /** Shown to the person at the client; never secrets. */
  readonly message: string;
}

/**
 * What one protocol says when Tollgate refuses or ends a session, as bytes: no I/O, so the CLI's
 * local listener and the gateway's own listeners drive sockets with the same answers. One per
 * protocol, beside its parsers.
 */
export interface ProtocolRefuser {
  readonly protocol: Protocol;
  /**
   * For protocols whose client speaks first: whether the client's first bytes open this protocol
   * (undefined: not enough bytes to tell yet). Lets a refusal be said in protocol when the listener
   * does not know which protocol its connection speaks (an unknown connection name).
   */
  recognizes?(opening: Buffer): boolean | undefined;
  /** A refusal before the session opened, as a conversation with the client's opening bytes. */
  refuseOpening(refusal: Refusal): RefusalDialogue;
  /** Watches an open session's bytes so that its end can be said in protocol. */
  watch(): SessionWatch;
}

export interface RefusalDialogue {
  /** Sent before the client says anything (protocols whose server speaks first). */
  readonly greeting?: Buffer;
  /**
   * The client's next bytes: what to answer, and whether the refusal has now been said (the
   * connection then closes). Bytes that are not the protocol end it with the refusal too.
   */
  receive(bytes: Buffer): { readonly reply?: Buffer; readonly done: boolean };
}

export interface SessionWatch {
  /** Bytes the client sent towards the target. */
  fromClient(bytes: Buffer): void;
  /** Bytes relayed to the client. */
  toClient(bytes: Buffer): void;
  /**
   * The bytes that end the session with this refusal now, or undefined when the protocol cannot
   * say it at this point (the client is in the middle of a message): the connection is then reset.
   */
  ending(refusal: Refusal): Buffer | undefined;
}

const OPEN_FAILURES: Record<OpenFailureCode, RefusalKind> = {
  [OpenFailureCode.UNSPECIFIED]: 'internal',
  [OpenFailureCode.NOT_FOUND]: 'not-found',
  [OpenFailureCode.AGENT_OFFLINE]: 'unavailable',
  [OpenFailureCode.TARGET_UNREACHABLE]: 'unavailable',
  [OpenFailureCode.DENIED]: 'denied',
  [OpenFailureCode.INTERNAL]: 'internal',
  [OpenFailureCode.UNRECOGNIZED]: 'internal',
};

const CLOSES: Record<CloseCode, RefusalKind> = {
  [CloseCode.UNSPECIFIED]: 'lost',
  [CloseCode.NORMAL]: 'lost',
  [CloseCode.TERMINATED]: 'terminated',
  [CloseCode.CREDENTIAL_EXPIRED]: 'credential-expired',
  [CloseCode.POLICY_CHANGED]: 'policy-changed',
  [CloseCode.AGENT_DISCONNECTED]: 'lost',
  [CloseCode.IDLE_TIMEOUT]: 'idle-timeout',
  [CloseCode.SHUTDOWN]: 'shutdown',
  [CloseCode.INTERNAL]: 'internal',
  [CloseCode.UNRECOGNIZED]: 'lost',
};

/** The refusal of an OpenResult.Failed. */
export function openFailureRefusal(code: OpenFailureCode, message: string): Refusal {
  return { kind: OPEN_FAILURES[code] ?? 'internal', message };
}

/** How a session the gateway closed (ClientClose / SessionClose) ends for its client. */
export function closeRefusal(code: CloseCode | undefined, reason: string): Refusal {
  return { kind: CLOSES[code ?? CloseCode.UNSPECIFIED] ?? 'lost', message: reason };
}
