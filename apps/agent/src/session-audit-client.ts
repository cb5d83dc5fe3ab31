import {
  ApprovalOutcome,
  CommandDecision,
  type ApprovalAnswer,
  type SessionDown,
  type SessionUp,
} from '@tollgate/proto';
import {
  JournalEventSerializer,
  type CommandEventFields,
  type JournalEventSession,
  type ResultEventFields,
} from './journal/journal-event.serializer';

/** A command and the agent's decision on it, as recorded in the session's audit chain. */
export type CommandRecord = CommandEventFields;

export interface ApprovalAsk {
  readonly command: string;
  readonly rule: string;
  readonly approvers: readonly string[];
  readonly minApprovals: number;
  readonly timeoutSeconds: number;
}

export interface ApprovalResult {
  readonly approved: boolean;
  readonly reviewId: string;
  readonly outcome: 'approved' | 'rejected' | 'expired' | 'unavailable';
  readonly reason: string;
}

/** The gateway did not confirm that an event is durable: the command it guards must not run. */
export class AuditRefusedError extends Error {
  constructor(reason: string) {
    super(`the audit log could not record the command (${reason}), so it was not run`);
    this.name = 'AuditRefusedError';
  }
}

/**
 * The session was ended (a kill, a revoked token, a policy change, the agent draining) while the
 * command's decision was being made durable: the end came first, so the command must not run.
 */
export class SessionEndedError extends AuditRefusedError {
  constructor(reason: string) {
    super(reason);
    this.name = 'SessionEndedError';
    this.message = `the session was ended (${reason}), so the command was not run`;
  }
}

/** What a command did at the target, recorded after it completed. */
export type CommandResultRecord = ResultEventFields;

/**
 * Edge audit mode: the agent's journal makes each event durable before the command runs, and the
 * shipper carries it to the gateway. `refusal` says why no command may run now (the journal is
 * missing or too far behind the gateway).
 */
export interface EdgeAudit {
  readonly journal: EdgeJournal;
  refusal(): string | undefined;
  /** Who and where, as the session's events name them. */
  readonly session: JournalEventSession;
}

/** What a session needs of the agent's journal: events given as canonical JSON text. */
export interface EdgeJournal {
  /** Resolves once the event is durable (the command it records may then run). */
  appendCanonical(text: string): Promise<void>;
  /** Rides along with the next durable write; nobody waits on it (a result, after the fact). */
  appendCanonicalLater(text: string): void;
  /** The journal's chain id. */
  readonly chain: string;
  /**
   * The sequence number the last event appended so far gets in the chain (written, or queued for
   * the next group commit).
   */
  readonly appendedThrough: number;
}

const DECISIONS = {
  allow: CommandDecision.ALLOW,
  deny: CommandDecision.DENY,
  require_approval: CommandDecision.REQUIRE_APPROVAL,
} as const;

const OUTCOMES: Partial<Record<ApprovalOutcome, ApprovalResult['outcome']>> = {
  [ApprovalOutcome.APPROVED]: 'approved',
  [ApprovalOutcome.REJECTED]: 'rejected',
  [ApprovalOutcome.EXPIRED]: 'expired',
};

interface PendingApproval {
  readonly onPending: (reviewId: string) => void;
  readonly resolve: (result: ApprovalResult) => void;
}

/**
 * The agent's side of a session's audit path. In the strict mode (policy `audit: gateway`) over the
 * session's own gRPC stream: `record` sends a CommandAudit and resolves only when the gateway acks
 * it as durable (rejects with AuditRefusedError otherwise, or when no ack arrives in time). In the
 * edge mode (the default) `record` resolves once the event is fdatasync'd in the agent's journal,
 * which is shipped to the gateway on a stream of its own, so nothing but data crosses the session
 * stream per command. `requestApproval` holds a command for review (always through the gateway).
 * Feed every SessionDown to `handle`; it consumes the messages meant for this client.
 */
export class SessionAuditClient {
  private nextId = 1;
  private readonly acks = new Map<number, (error: string | null) => void>();
  private readonly approvals = new Map<number, PendingApproval>();
  private closedReason: string | undefined;
  /** The edge mode's events as canonical text (absent in the strict mode). */
  private readonly events: JournalEventSerializer | undefined;
  /** Where the session's last event sits in the agent's journal (edge mode, once it journaled one). */
  private journaledThrough: number | undefined;
  /** The session's terminal recordings, numbered from 1, and who to tell when one is refused. */
  readonly recordings = new RecordingRefusals();

  /** The policy version the session's commands are decided under, as their events record it. */
  private version: number;

  constructor(
    private readonly send: (message: SessionUp) => void,
    private readonly options: {
      readonly policyVersion: number;
      readonly ackTimeoutMs?: number;
      /** Present: the edge mode, through the agent's journal. */
      readonly edge?: EdgeAudit;
    },
  ) {
    const edge = options.edge;
    this.version = options.policyVersion;
    this.events = edge ? new JournalEventSerializer(edge.session, options.policyVersion) : undefined;
  }

  get policyVersion(): number {
    return this.version;
  }

  /** A policy version applied while the session runs decides its next commands. */
  set policyVersion(version: number) {
    this.version = version;
    if (this.events) this.events.version = version;
  }

  /**
   * Where the session's last journaled event sits in the agent's chain (edge mode), for the
   * JournalPosition the agent sends as the session's stream ends; undefined if it journaled none.
   */
  journalPosition(): { readonly chain: string; readonly seq: number } | undefined {
    const edge = this.options.edge;
    if (!edge || this.journaledThrough === undefined) return undefined;
    return { chain: edge.journal.chain, seq: this.journaledThrough };
  }

  get mode(): 'edge' | 'gateway' {
    return this.options.edge ? 'edge' : 'gateway';
  }

  record(record: CommandRecord): Promise<void> {
    if (this.closedReason !== undefined) return Promise.reject(new AuditRefusedError(this.closedReason));
    const edge = this.options.edge;
    if (edge) {
      const refusal = edge.refusal();
      if (refusal !== undefined) return Promise.reject(new AuditRefusedError(refusal));
      let text: string;
      try {
        text = this.events!.command(record);
      } catch (error) {
        return Promise.reject(new AuditRefusedError(error instanceof Error ? error.message : String(error)));
      }
      const durable = edge.journal.appendCanonical(text);
      this.journaledThrough = edge.journal.appendedThrough;
      return durable.then(
        () => this.stillOpen(record),
        (error: unknown) => {
          throw new AuditRefusedError(error instanceof Error ? error.message : String(error));
        },
      );
    }
    const requestId = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => settle('no acknowledgement from the gateway in time'),
        this.options.ackTimeoutMs ?? 10_000,
      );
      const settle = (error: string | null) => {
        clearTimeout(timer);
        this.acks.delete(requestId);
        if (error === null) resolve();
        else reject(new AuditRefusedError(error));
      };
      this.acks.set(requestId, settle);
      this.send({
        kind: {
          $case: 'commandAudit',
          commandAudit: {
            requestId,
            command: record.command,
            decision: DECISIONS[record.decision],
            rule: record.rule ?? '',
            message: record.message ?? '',
            masking: [...(record.masking ?? [])],
            reviewId: record.reviewId ?? '',
            policyVersion: this.version,
          },
        },
      });
    });
  }

  /** Records what a forwarded command did; nobody waits on it (the command already ran). */
  result(result: CommandResultRecord): void {
    const edge = this.options.edge;
    if (edge) {
      let text: string;
      try {
        text = this.events!.result(result);
      } catch {
        return; // not representable (a non-finite count): the command ran; nothing waits on this
      }
      edge.journal.appendCanonicalLater(text);
      this.journaledThrough = edge.journal.appendedThrough;
      return;
    }
    this.send({
      kind: {
        $case: 'commandResult',
        commandResult: {
          command: result.command,
          rows: result.rows,
          bytes: result.bytes,
          durationUs: Math.round(result.durationMs * 1000),
          error: result.error ?? '',
          masked: [...result.masked],
          status: result.status ?? 0,
          requestBody: result.requestBody ?? '',
          responseBody: result.responseBody ?? '',
          bodyTruncated: [...(result.bodyTruncated ?? [])],
          bodyNotes: [...(result.bodyNotes ?? [])],
        },
      },
    });
  }

  /** Holds until reviewers decide; `onPending` learns the review id first (to tell the client). */
  requestApproval(
    ask: ApprovalAsk,
    onPending: (reviewId: string) => void = () => undefined,
  ): Promise<ApprovalResult> {
    if (this.closedReason !== undefined) {
      return Promise.resolve({
        approved: false,
        reviewId: '',
        outcome: 'unavailable',
        reason: this.closedReason,
      });
    }
    const requestId = this.nextId++;
    return new Promise<ApprovalResult>((resolve) => {
      this.approvals.set(requestId, { onPending, resolve });
      this.send({
        kind: {
          $case: 'approvalRequest',
          approvalRequest: {
            requestId,
            command: ask.command,
            rule: ask.rule,
            approvers: [...ask.approvers],
            minApprovals: ask.minApprovals,
            timeoutSeconds: ask.timeoutSeconds,
            policyVersion: this.version,
          },
        },
      });
    });
  }

  /** Consumes the gateway's answers; returns false for messages that are not for this client. */
  handle(message: SessionDown): boolean {
    switch (message.kind?.$case) {
      case 'commandAuditAck': {
        const ack = message.kind.commandAuditAck;
        this.acks.get(ack.requestId)?.(ack.durable ? null : ack.error || 'not recorded');
        return true;
      }
      case 'approvalPending': {
        const pending = message.kind.approvalPending;
        this.approvals.get(pending.requestId)?.onPending(pending.reviewId);
        return true;
      }
      case 'approvalAnswer':
        this.answer(message.kind.approvalAnswer);
        return true;
      case 'recordingRefused':
        this.recordings.refused(message.kind.recordingRefused.recording, message.kind.recordingRefused.error);
        return true;
      default:
        return false;
    }
  }

  /** The session is ending: outstanding records fail, outstanding approvals are refused. */
  close(reason: string): void {
    this.endCommands(reason);
    this.recordings.close(reason);
  }

  /**
   * The session is being ended from outside (kill, revoked token, policy change, drain): no command
   * runs from now on. Records still being made durable, and those asked for later, are refused;
   * outstanding approvals are refused. Results and recordings of what already ran still go.
   */
  endCommands(reason: string): void {
    this.closedReason ??= reason;
    for (const settle of [...this.acks.values()]) settle(reason);
    for (const [requestId, approval] of [...this.approvals]) {
      this.approvals.delete(requestId);
      approval.resolve({ approved: false, reviewId: '', outcome: 'unavailable', reason });
    }
  }

  /**
   * A record just became durable: if the session was ended meanwhile, the command it allows must not
   * run (the end came first), and its result says so, so the log does not show it as run.
   */
  private stillOpen(record: CommandRecord): void {
    const reason = this.closedReason;
    if (reason === undefined || record.decision === 'deny') return;
    this.result({
      command: record.command,
      rows: 0,
      bytes: 0,
      durationMs: 0,
      error: `not run: the session was ended (${reason})`,
      masked: [],
    });
    throw new SessionEndedError(reason);
  }

  private answer(answer: ApprovalAnswer): void {
    const approval = this.approvals.get(answer.requestId);
    if (!approval) return;
    this.approvals.delete(answer.requestId);
    const outcome = OUTCOMES[answer.outcome] ?? 'unavailable';
    approval.resolve({
      approved: outcome === 'approved',
      reviewId: answer.reviewId,
      outcome,
      reason: answer.reason,
    });
  }
}

/**
 * Numbers a session's recordings and calls a recording's `onRefused` once when the gateway could not
 * store it, or when the session's stream closes while it runs (nothing more of it can be stored).
 */
export class RecordingRefusals {
  private next = 1;
  private readonly listeners = new Map<number, (reason: string) => void>();

  open(onRefused: (reason: string) => void): number {
    const recording = this.next++;
    this.listeners.set(recording, onRefused);
    return recording;
  }

  /** The recording was sent whole: nothing more to refuse. */
  done(recording: number): void {
    this.listeners.delete(recording);
  }

  refused(recording: number, reason: string): void {
    const listener = this.listeners.get(recording);
    this.listeners.delete(recording);
    listener?.(reason || 'the gateway could not store the recording');
  }

  close(reason: string): void {
    for (const recording of [...this.listeners.keys()]) this.refused(recording, reason);
  }
}
