/**
 * Audit events. Plain JSON (times as ISO 8601 strings, no Dates or class instances), so that the
 * canonical form hashed when an event is chained is exactly what is stored and read back.
 */

/** Who acted: the subject and every party acting on its behalf (RFC 8693 `act`), nearest first. */
export interface AuditActor {
  readonly subject: string;
  readonly actorChain: readonly string[];
}

export interface AuditConnectionRef {
  readonly name: string;
  readonly protocol: string;
}

interface EventBase {
  /** Unique id (a UUID), assigned by the writer. */
  readonly id: string;
  /** When it happened, ISO 8601 in UTC (`2026-11-25T18:00:00.000Z`). */
  readonly time: string;
  /** The policy version that made the decision this event records (null: the built-in default). */
  readonly policyVersion?: number | null;
}

export interface SessionOpenEvent extends EventBase {
  readonly type: 'session.open';
  readonly sessionId: string;
  readonly actor: AuditActor;
  readonly connection: AuditConnectionRef;
  /** What the session was authorized for: `connect` (interactive) or `exec` (one request). */
  readonly verb?: 'connect' | 'exec';
  /** Where the client came from (address, or `exec`/`console`). */
  readonly source?: string;
  /** The agent serving the session. */
  readonly agent?: string;
  readonly limits?: { readonly maxDurationSeconds: number; readonly readOnly: boolean };
}

/**
 * Why a session ended: `normal` when both sides finished on their own (psql quit, an exec ran its
 * query); `client` or `target` when one side went away or reset; `killed` by an operator or a policy
 * change; `expired` at its maximum duration or its grant's end; `error`; `agent-lost` when the agent
 * serving it went away; `lost` when the gateway replica relaying it stopped (closed by a survivor).
 */
export type SessionCloseReason =
  'normal' | 'client' | 'target' | 'killed' | 'expired' | 'error' | 'agent-lost' | 'lost';

export interface SessionCloseEvent extends EventBase {
  readonly type: 'session.close';
  readonly sessionId: string;
  readonly reason: SessionCloseReason;
  readonly detail?: string;
  /** Present when the session was recorded (SSH shells, as asciicast v2). */
  readonly recording?: {
    readonly format: 'asciicast-v2';
    readonly location: string;
    readonly sha256: string;
  };
}

/**
 * A client's cancel reached the session (a PostgreSQL CancelRequest carrying the session's key, on
 * the gateway's listener): the statement running at the target, if any, is cancelled there, and its
 * `command.result` says so (`cancelled (...)`). The cancel carries no credential: the key, which
 * only the session's client was given, is what ties it to the session.
 */
export interface SessionCancelEvent extends EventBase {
  readonly type: 'session.cancel';
  readonly sessionId: string;
  /** Where the cancel came from (`postgres listener 10.0.0.7:52144`). */
  readonly source: string;
}

export type CommandDecisionKind = 'allow' | 'deny' | 'require_approval';

export interface CommandEvent extends EventBase {
  readonly type: 'command';
  readonly sessionId: string;
  readonly actor: AuditActor;
  readonly connection: AuditConnectionRef;
  /** The command as the user sent it: SQL text, a command line, `GET /api/v1/pods`. */
  readonly command: string;
  readonly decision: CommandDecisionKind;
  /** The policy rule behind a denial or an approval requirement. */
  readonly rule?: string;
  /** The message shown to the client on a denial. */
  readonly message?: string;
  /** Masking rules applied to the results. */
  readonly masking?: readonly string[];
  /** For a held command: the review that decides it. */
  readonly reviewId?: string;
}

/** What a forwarded command did at the target: rows, bytes and time, recorded after it completed. */
export interface CommandResultEvent extends EventBase {
  readonly type: 'command.result';
  readonly sessionId: string;
  readonly actor: AuditActor;
  readonly connection: AuditConnectionRef;
  readonly command: string;
  readonly rows: number;
  readonly bytes: number;
  readonly durationMs: number;
  /** The target's error, when the command failed there. */
  readonly error?: string;
  /** Why values were masked in the results (detector names, `column:table.column`). */
  readonly masked?: readonly string[];
  /** The response's status code (http and kubernetes requests). */
  readonly status?: number;
  /**
   * The first bytes of the request's and the response's body, masked, where the policy's audit rules
   * record bodies (http and kubernetes requests).
   */
  readonly requestBody?: string;
  readonly responseBody?: string;
  /** Which bodies were recorded in part (`request`, `response`). */
  readonly bodyTruncated?: readonly string[];
  /** Why a body the policy would record was not (compressed, binary, another content type). */
  readonly bodyNotes?: readonly string[];
}

/**
 * A terminal recording of one stream of a session (asciicast v2), once it was stored whole: its
 * size and sha256 on the session's chain make the stored recording tamper-evident.
 */
export interface SessionRecordingEvent extends EventBase {
  readonly type: 'session.recording';
  readonly sessionId: string;
  /** 1-based within the session (GET /api/v1/sessions/:id/recording?n=). */
  readonly recording: number;
  readonly kind: string;
  readonly command?: string;
  readonly format: 'asciicast-v2';
  readonly bytes: number;
  readonly sha256: string;
  /** The size limit was reached: the end of the stream is not in the recording. */
  readonly truncated: boolean;
}

export interface AuthorizationEvent extends EventBase {
  readonly type: 'authorization';
  readonly actor: AuditActor;
  readonly verb: string;
  readonly connection?: AuditConnectionRef;
  readonly allowed: boolean;
  readonly reason: string;
  readonly roles: readonly string[];
  readonly source?: string;
}

export interface PolicyChangeEvent extends EventBase {
  readonly type: 'policy.change';
  readonly actor: AuditActor;
  readonly action: 'apply' | 'restore';
  /** The version now active, and the one it replaced (null for the first). */
  readonly version: number;
  readonly previousVersion: number | null;
  /** sha256 of the applied document's text. */
  readonly documentSha256: string;
}

export interface ReviewRequestEvent extends EventBase {
  readonly type: 'review.request';
  readonly reviewId: string;
  readonly kind: 'access' | 'command';
  readonly actor: AuditActor;
  readonly connection?: AuditConnectionRef;
  readonly sessionId?: string;
  readonly reason?: string;
  readonly rule: string;
}

export interface ReviewDecisionEvent extends EventBase {
  readonly type: 'review.decision';
  readonly reviewId: string;
  readonly actor: AuditActor;
  readonly decision: 'approve' | 'reject' | 'timeout';
  readonly comment?: string;
}

export type AuditEvent =
  | SessionOpenEvent
  | SessionCloseEvent
  | SessionCancelEvent
  | CommandEvent
  | CommandResultEvent
  | SessionRecordingEvent
  | AuthorizationEvent
  | PolicyChangeEvent
  | ReviewRequestEvent
  | ReviewDecisionEvent;

export type AuditEventType = AuditEvent['type'];
