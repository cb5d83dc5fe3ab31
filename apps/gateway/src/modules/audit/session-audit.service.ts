import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type {
  AuditActor,
  CommandEvent,
  CommandResultEvent,
  SessionCancelEvent,
  SessionCloseEvent,
  SessionCloseReason,
  SessionOpenEvent,
  SessionRecordingEvent,
} from '@tollgate/audit';
import { AuditWriter } from './audit-writer';
import type { AppendOptions, CommittedAudit, SessionEnd, SessionRow } from './audit-committer';

export interface SessionAuditContext {
  readonly sessionId: string;
  readonly subject: string;
  readonly actorChain: readonly { readonly subject: string }[];
  readonly connection: { readonly name: string; readonly protocol: string };
  readonly policyVersion: number | null;
}

export type CommandResultAudit = Omit<
  CommandResultEvent,
  'id' | 'time' | 'type' | 'sessionId' | 'actor' | 'connection' | 'policyVersion'
>;

export type CommandAudit = Omit<
  CommandEvent,
  'id' | 'time' | 'type' | 'sessionId' | 'actor' | 'connection'
> & {
  readonly time?: string;
};

/**
 * Session events (open, every command with its decision, close) on both chains: the session's own
 * and the global one. Each resolves once durable; the data path forwards only after that.
 */
@Injectable()
export class SessionAuditService {
  constructor(private readonly writer: AuditWriter) {}

  opened(
    session: SessionAuditContext,
    details: {
      verb?: SessionOpenEvent['verb'];
      source?: string;
      agent?: string;
      limits?: SessionOpenEvent['limits'];
    } = {},
    /** The session's row, written in the same transaction as the event. */
    row?: SessionRow,
  ): Promise<CommittedAudit> {
    const event: SessionOpenEvent = {
      ...base(session),
      type: 'session.open',
      actor: actor(session),
      connection: session.connection,
      ...(details.verb ? { verb: details.verb } : {}),
      ...(details.source ? { source: details.source } : {}),
      ...(details.agent ? { agent: details.agent } : {}),
      ...(details.limits ? { limits: details.limits } : {}),
    };
    return this.write(
      session,
      event,
      'allow',
      `session opened on ${session.connection.name}`,
      undefined,
      row,
    );
  }

  command(session: SessionAuditContext, command: CommandAudit): Promise<CommittedAudit> {
    const event: CommandEvent = {
      ...base(session),
      ...command,
      ...(command.time ? { time: command.time } : {}),
      type: 'command',
      sessionId: session.sessionId,
      actor: actor(session),
      connection: session.connection,
    };
    return this.write(session, event, command.decision, command.message ?? command.rule ?? null);
  }

  /** What a forwarded command did at the target (rows, bytes, time), on both chains. */
  commandResult(session: SessionAuditContext, result: CommandResultAudit): Promise<CommittedAudit> {
    const event: CommandResultEvent = {
      ...base(session),
      ...result,
      type: 'command.result',
      actor: actor(session),
      connection: session.connection,
    };
    // Nothing waits on a result before acting, so it rides along with the next commit instead of
    // starting one that the session's next command would queue behind.
    return this.write(session, event, result.error ? 'error' : 'allow', result.error ?? null, {
      defer: true,
    });
  }

  /** A recording stored whole, with its sha256, on both chains (not awaited by the data path). */
  recording(
    session: SessionAuditContext,
    recording: Omit<SessionRecordingEvent, 'id' | 'time' | 'type' | 'sessionId' | 'policyVersion' | 'format'>,
  ): Promise<CommittedAudit> {
    const event: SessionRecordingEvent = {
      ...base(session),
      ...recording,
      type: 'session.recording',
      format: 'asciicast-v2',
    };
    const what = `recording ${recording.recording} (${recording.kind}, ${recording.bytes} bytes${recording.truncated ? ', truncated' : ''})`;
    return this.write(session, event, 'allow', what, { defer: true });
  }

  /**
   * A client's cancel for the session's running statement, on both chains. Not awaited by the data
   * path: the cancel goes to the agent at once (it only stops work), the record follows.
   */
  cancelled(session: SessionAuditContext, source: string): Promise<CommittedAudit> {
    const event: SessionCancelEvent = { ...base(session), type: 'session.cancel', source };
    return this.write(session, event, 'allow', `cancel request from ${source}`, { defer: true });
  }

  /**
   * A command or result the agent journaled (edge audit mode), shipped on its Journal stream: the
   * session's chain stores the event as the agent hashed it, plus `journal` (its place in the
   * agent's chain), so `audit verify` can recompute the agent's chain; the global record names it too.
   */
  journaled(
    session: SessionAuditContext,
    event: CommandEvent | CommandResultEvent,
    link: JournalLink,
  ): Promise<CommittedAudit> {
    const decision = event.type === 'command' ? event.decision : event.error ? 'error' : 'allow';
    const reason = event.type === 'command' ? (event.message ?? event.rule ?? null) : (event.error ?? null);
    return this.write(session, event, decision, reason, undefined, undefined, link);
  }

  /**
   * With `end`, the session's row is marked closed in the same transaction as the event. With
   * `{ defer: true }` the event rides along with the audit log's next commit (or goes alone after
   * a few milliseconds) instead of starting one: for a close nobody waits on.
   */
  closed(
    session: SessionAuditContext,
    reason: SessionCloseReason,
    detail?: string,
    end?: SessionEnd,
    options?: AppendOptions,
  ): Promise<CommittedAudit> {
    const event: SessionCloseEvent = {
      ...base(session),
      type: 'session.close',
      reason,
      ...(detail ? { detail: detail.slice(0, 500) } : {}),
    };
    return this.write(session, event, 'allow', detail ?? reason, options, undefined, undefined, end);
  }

  private write(
    session: SessionAuditContext,
    event: SessionEvent,
    decision: string,
    reason: string | null,
    options?: AppendOptions,
    row?: SessionRow,
    journal?: JournalLink,
    end?: SessionEnd,
  ): Promise<CommittedAudit> {
    const link = journal
      ? { agent: journal.agent, chain: journal.chain, seq: journal.seq, hash: journal.hash }
      : undefined;
    return this.writer.append(
      {
        ...(row ? { sessionRow: row } : {}),
        ...(end ? { sessionEnd: end } : {}),
        subject: session.subject,
        actorChain: session.actorChain,
        action: event.type,
        target: `connection:${session.connection.name}`,
        decision,
        reason,
        payload: {
          policyVersion: event.policyVersion ?? session.policyVersion,
          ...exportedFields(event),
          ...(link ? { journal: link } : {}),
        },
        session: {
          id: session.sessionId,
          kind: event.type,
          event: journal
            ? {
                ...(event as unknown as Record<string, unknown>),
                journal: { ...link, prevHash: journal.prevHash },
              }
            : (event as unknown as Record<string, unknown>),
        },
      },
      options,
    );
  }
}

/** Where a journaled event sits in its agent's chain. */
export interface JournalLink {
  /** The agent's name, for people reading the log. */
  readonly agent: string;
  readonly chain: string;
  readonly seq: number;
  readonly prevHash: string;
  readonly hash: string;
}

/** Longest statement text copied into the global record (the session's own chain keeps it whole). */
export const EXPORTED_COMMAND_CHARS = 64 * 1024;

/**
 * What the global record (and so `audit export` and the webhook) carries of a session event: the
 * event's own fields, without those the record already has (subject, actor chain, connection, time).
 * A command names its statement (as the agent recorded it, masked by the session's masking rules),
 * decision and rule; a result its rows, bytes, time and outcome (`ok` or `error`).
 */
function exportedFields(event: SessionEvent): Record<string, unknown> {
  const fields: Record<string, unknown> = { eventId: event.id };
  for (const [key, value] of Object.entries(event)) {
    if (!IN_THE_RECORD_ALREADY.has(key)) fields[key] = value;
  }
  if (event.type === 'command' || event.type === 'command.result') {
    if (event.command.length > EXPORTED_COMMAND_CHARS) {
      fields.command = event.command.slice(0, EXPORTED_COMMAND_CHARS);
      fields.commandLength = event.command.length;
    }
  }
  if (event.type === 'command.result') fields.outcome = event.error ? 'error' : 'ok';
  return fields;
}

type SessionEvent =
  | SessionOpenEvent
  | SessionCloseEvent
  | SessionCancelEvent
  | CommandEvent
  | CommandResultEvent
  | SessionRecordingEvent;

const IN_THE_RECORD_ALREADY: ReadonlySet<string> = new Set([
  'id',
  'type',
  'time',
  'actor',
  'connection',
  'policyVersion',
]);

function base(session: SessionAuditContext) {
  return {
    id: randomUUID(),
    time: new Date().toISOString(),
    policyVersion: session.policyVersion,
    sessionId: session.sessionId,
  };
}

function actor(session: SessionAuditContext): AuditActor {
  return { subject: session.subject, actorChain: session.actorChain.map((a) => a.subject) };
}
