import { Injectable } from '@nestjs/common';
import {
  ApprovalOutcome,
  CommandDecision,
  type ApprovalRequest,
  type CommandAudit,
  type CommandResult,
  type SessionDown,
  type SessionUp,
} from '@tollgate/proto';
import { SessionAuditService, type SessionAuditContext } from '../audit/session-audit.service';
import {
  commandTooLong,
  REVIEWABLE_COMMAND_CHARS,
  ReviewsService,
  type ReviewOutcome,
} from '../reviews/reviews.service';
import type { AgentSessionCall } from './pending-sessions';
import { SessionRecordings } from './session-recordings';
import { TunnelLogger } from './tunnel-logger';

const DECISIONS: Partial<Record<CommandDecision, 'allow' | 'deny' | 'require_approval'>> = {
  [CommandDecision.ALLOW]: 'allow',
  [CommandDecision.DENY]: 'deny',
  [CommandDecision.REQUIRE_APPROVAL]: 'require_approval',
};

const OUTCOMES: Record<ReviewOutcome, ApprovalOutcome> = {
  approved: ApprovalOutcome.APPROVED,
  rejected: ApprovalOutcome.REJECTED,
  expired: ApprovalOutcome.EXPIRED,
};

/**
 * The gateway's half of a session's command path: the agent sends each command with its decision
 * (CommandAudit) and forwards it only after the ack says it is durable; held commands become
 * reviews (ApprovalRequest → ApprovalPending → ApprovalAnswer).
 */
@Injectable()
export class SessionCommands {
  constructor(
    private readonly audit: SessionAuditService,
    private readonly reviews: ReviewsService,
    private readonly logger: TunnelLogger,
    private readonly recordings: SessionRecordings,
  ) {}

  /** Handles one non-frame message from the agent's Session stream. */
  handle(context: SessionAuditContext | undefined, message: SessionUp, agent: AgentSessionCall): void {
    const reply = (down: SessionDown) => {
      if (!agent.writableEnded) agent.write(down);
    };
    switch (message.kind?.$case) {
      case 'commandAudit':
        void this.record(context, message.kind.commandAudit).then((ack) =>
          reply({ kind: { $case: 'commandAuditAck', commandAuditAck: ack } }),
        );
        return;
      case 'approvalRequest':
        void this.hold(context, message.kind.approvalRequest, reply, agent);
        return;
      case 'commandResult':
        void this.recordResult(context, message.kind.commandResult);
        return;
      case 'recordingChunk':
        this.recordings.append(context, message.kind.recordingChunk, (recording, error) =>
          reply({ kind: { $case: 'recordingRefused', recordingRefused: { recording, error } } }),
        );
        return;
      default:
        return;
    }
  }

  /** The session's stream is gone: what it left unfinished is dropped from memory. */
  ended(sessionId: string): void {
    this.recordings.forget(sessionId);
  }

  private async record(
    context: SessionAuditContext | undefined,
    command: CommandAudit,
  ): Promise<{ requestId: number; durable: boolean; error: string }> {
    const decision = DECISIONS[command.decision];
    if (!context || !decision) {
      return { requestId: command.requestId, durable: false, error: 'not a recorded session or decision' };
    }
    try {
      await this.audit.command(
        { ...context, policyVersion: command.policyVersion || context.policyVersion },
        {
          command: command.command,
          decision,
          ...(command.rule ? { rule: command.rule } : {}),
          ...(command.message ? { message: command.message } : {}),
          ...(command.masking.length ? { masking: command.masking } : {}),
          ...(command.reviewId ? { reviewId: command.reviewId } : {}),
        },
      );
      return { requestId: command.requestId, durable: true, error: '' };
    } catch (error) {
      this.logger.log.error({ err: error, sessionId: context.sessionId }, 'command could not be recorded');
      return {
        requestId: command.requestId,
        durable: false,
        error: 'the audit store refused the event',
      };
    }
  }

  /** Results are recorded after the fact; the command already ran under a durable CommandAudit. */
  private async recordResult(context: SessionAuditContext | undefined, result: CommandResult): Promise<void> {
    if (!context) return;
    try {
      await this.audit.commandResult(context, {
        command: result.command,
        rows: result.rows,
        bytes: result.bytes,
        durationMs: Math.round(result.durationUs / 10) / 100,
        ...(result.error ? { error: result.error } : {}),
        ...(result.masked.length ? { masked: result.masked } : {}),
        ...(result.status ? { status: result.status } : {}),
        ...(result.requestBody ? { requestBody: result.requestBody } : {}),
        ...(result.responseBody ? { responseBody: result.responseBody } : {}),
        ...(result.bodyTruncated.length ? { bodyTruncated: result.bodyTruncated } : {}),
        ...(result.bodyNotes.length ? { bodyNotes: result.bodyNotes } : {}),
      });
    } catch (error) {
      this.logger.log.error(
        { err: error, sessionId: context.sessionId },
        'command result could not be recorded',
      );
    }
  }

  private async hold(
    context: SessionAuditContext | undefined,
    request: ApprovalRequest,
    reply: (down: SessionDown) => void,
    agent: AgentSessionCall,
  ): Promise<void> {
    const answer = (reviewId: string, outcome: ApprovalOutcome, reason: string) =>
      reply({
        kind: {
          $case: 'approvalAnswer',
          approvalAnswer: { requestId: request.requestId, reviewId, outcome, reason },
        },
      });
    if (!context) return answer('', ApprovalOutcome.UNAVAILABLE, 'not a recorded session');
    if (request.command.length > REVIEWABLE_COMMAND_CHARS)
      return answer('', ApprovalOutcome.UNAVAILABLE, commandTooLong(request.command.length));
    let reviewId: string;
    try {
      const review = await this.reviews.requestCommandApproval({
        sessionId: context.sessionId,
        requester: { subject: context.subject, actorChain: context.actorChain },
        connection: context.connection.name,
        command: request.command,
        rule: request.rule,
        approvers: request.approvers,
        minApprovals: Math.max(1, request.minApprovals),
        timeoutSeconds: Math.max(1, request.timeoutSeconds),
        policyVersion: request.policyVersion || context.policyVersion,
      });
      reviewId = review.id;
    } catch (error) {
      this.logger.log.error(
        { err: error, sessionId: context.sessionId },
        'command review could not be created',
      );
      return answer(
        '',
        ApprovalOutcome.UNAVAILABLE,
        'the review could not be recorded, so the command is refused',
      );
    }
    reply({
      kind: { $case: 'approvalPending', approvalPending: { requestId: request.requestId, reviewId } },
    });
    // A session that ends while its command waits stops waiting, and its review is withdrawn: it
    // can no longer run anything, so it must not wait in a reviewer's inbox until it times out.
    const gone = new AbortController();
    agent.once('close', () => gone.abort());
    const outcome = await this.reviews.waitForOutcome(reviewId, gone.signal).catch(() => 'expired' as const);
    if (gone.signal.aborted) {
      const why = 'the session ended while the command waited';
      await this.reviews
        .withdraw(reviewId, why)
        .catch((error: unknown) =>
          this.logger.log.warn({ err: error, reviewId }, 'review could not be withdrawn (it will expire)'),
        );
      // The agent can no longer record the command's end (its session is gone): the session's
      // timeline says it here, so a held command never vanishes from it.
      await this.audit
        .command(
          { ...context, policyVersion: request.policyVersion || context.policyVersion },
          {
            command: request.command,
            decision: 'deny',
            rule: request.rule,
            message: `review ${reviewId} was withdrawn: ${why}, so the command was not run`,
            reviewId,
          },
        )
        .catch((error: unknown) =>
          this.logger.log.error({ err: error, reviewId }, 'withdrawn command could not be recorded'),
        );
    }
    answer(reviewId, OUTCOMES[outcome], `review ${reviewId} ${outcome}`);
  }
}
