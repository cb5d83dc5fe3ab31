import { randomUUID } from 'node:crypto';
import { canonicalJson, CanonicalJsonError } from '@tollgate/audit';
import type { CommandResultReport } from '@tollgate/protocol-tcp';

/** Who and where, as a session's journal events name them. */
export interface JournalEventSession {
  readonly id: string;
  readonly actor: { readonly subject: string; readonly actorChain: readonly string[] };
  readonly connection: { readonly name: string; readonly protocol: string };
}

/** A command and the agent's decision on it (the `command` event). */
export interface CommandEventFields {
  readonly command: string;
  readonly decision: 'allow' | 'deny' | 'require_approval';
  readonly rule?: string;
  readonly message?: string;
  readonly masking?: readonly string[];
  readonly reviewId?: string;
}

/** What a command did at the target (the `command.result` event; durationMs recorded to 0.01 ms). */
export type ResultEventFields = CommandResultReport;

/**
 * A session's `command` and `command.result` journal events as canonical JSON text, written
 * straight from their fixed shape: the same bytes `canonicalJson` gives for the event object the
 * agent built before (the spec holds them equal for any fields), without building that object
 * and walking it for every statement. The session's own members (actor, connection, policy version,
 * session id) are serialized once, by `canonicalJson` itself. Members are written in canonical
 * (sorted) order; optional ones are left out when empty, as the event objects leave them out.
 */
export class JournalEventSerializer {
  private readonly actor: string;
  private readonly connection: string;
  private policyVersion: string;
  private readonly sessionId: string;
  /** The last command text and its JSON string: a result names the command recorded just before it. */
  private lastCommand: string | undefined;
  private lastCommandJson = '';

  /**
   * `newId` and `now` give each event its id (a UUID) and time (an ISO 8601 timestamp): text with
   * nothing JSON escapes, written between quotes as it is.
   */
  constructor(
    session: JournalEventSession,
    policyVersion: number,
    private readonly newId: () => string = randomUUID,
    private readonly now: () => string = () => new Date().toISOString(),
  ) {
    const { actor, connection } = session;
    this.actor = `{"actor":${canonicalJson({ subject: actor.subject, actorChain: [...actor.actorChain] })}`;
    this.connection = `,"connection":${canonicalJson({ name: connection.name, protocol: connection.protocol })}`;
    this.policyVersion = `,"policyVersion":${number(policyVersion)}`;
    this.sessionId = `,"sessionId":${JSON.stringify(session.id)}`;
  }

  /** The policy version that decides the session's next events (a version applied while it runs). */
  set version(policyVersion: number) {
    this.policyVersion = `,"policyVersion":${number(policyVersion)}`;
  }

  command(fields: CommandEventFields): string {
    let out = `${this.actor},"command":${this.commandJson(fields.command)}${this.connection},"decision":${DECISIONS[fields.decision] ?? JSON.stringify(fields.decision)},"id":"${this.newId()}"`;
    if (fields.masking?.length) out += `,"masking":${strings(fields.masking)}`;
    if (fields.message) out += `,"message":${JSON.stringify(fields.message)}`;
    out += this.policyVersion;
    if (fields.reviewId) out += `,"reviewId":${JSON.stringify(fields.reviewId)}`;
    if (fields.rule) out += `,"rule":${JSON.stringify(fields.rule)}`;
    return `${out}${this.sessionId},"time":"${this.now()}","type":"command"}`;
  }

  result(fields: ResultEventFields): string {
    let out = this.actor;
    if (fields.bodyNotes?.length) out += `,"bodyNotes":${strings(fields.bodyNotes)}`;
    if (fields.bodyTruncated?.length) out += `,"bodyTruncated":${strings(fields.bodyTruncated)}`;
    out += `,"bytes":${number(fields.bytes)},"command":${this.commandJson(fields.command)}${this.connection},"durationMs":${number(Math.round(fields.durationMs * 100) / 100)}`;
    if (fields.error) out += `,"error":${JSON.stringify(fields.error)}`;
    out += `,"id":"${this.newId()}"`;
    if (fields.masked.length) out += `,"masked":${strings(fields.masked)}`;
    out += this.policyVersion;
    if (fields.requestBody) out += `,"requestBody":${JSON.stringify(fields.requestBody)}`;
    if (fields.responseBody) out += `,"responseBody":${JSON.stringify(fields.responseBody)}`;
    out += `,"rows":${number(fields.rows)}${this.sessionId}`;
    if (fields.status) out += `,"status":${number(fields.status)}`;
    return `${out},"time":"${this.now()}","type":"command.result"}`;
  }

  private commandJson(command: string): string {
    if (command !== this.lastCommand) {
      this.lastCommandJson = JSON.stringify(command);
      this.lastCommand = command;
    }
    return this.lastCommandJson;
  }
}

const DECISIONS: Partial<Record<string, string>> = {
  allow: '"allow"',
  deny: '"deny"',
  require_approval: '"require_approval"',
};

/** A number as canonical JSON writes it; one JSON cannot hold is refused, as canonicalJson refuses it. */
function number(value: number): string {
  if (!Number.isFinite(value)) throw new CanonicalJsonError(`${value} is not representable in JSON`);
  return `${value}`; // what JSON.stringify writes for a finite number (-0 too: "0")
}

function strings(values: readonly string[]): string {
  let out = '[';
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (typeof value !== 'string') throw new CanonicalJsonError(`a ${typeof value} in a list of names`);
    out += `${i === 0 ? '' : ','}${JSON.stringify(value)}`;
  }
  return `${out}]`;
}
