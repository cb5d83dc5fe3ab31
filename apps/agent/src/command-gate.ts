import {
  decideCommand,
  type ApprovalRequirement,
  type CommandContext,
  type CommandFacts,
  type MaskingRules,
  type Policy,
} from '@tollgate/policy';
import { AuditRefusedError, type SessionAuditClient } from './session-audit-client';

export type GateResult =
  | { readonly allow: true; readonly masking: MaskingRules }
  /** `rule`: the policy rule that refused the command; absent when the audit log refused it. */
  | { readonly allow: false; readonly message: string; readonly rule?: string };

export interface GateInput {
  readonly policy: Policy;
  readonly context: CommandContext;
  readonly facts: CommandFacts;
  /** The command as the client sent it, for the audit record. */
  readonly text: string;
  readonly audit: SessionAuditClient;
  /** Tells the client something while it waits (a NOTICE in PostgreSQL, stderr in SSH). */
  readonly notify: (message: string) => void;
  /**
   * The policy in force once reviewers approved (a version may be applied while a command waits):
   * a command it denies does not run on the strength of the approval.
   */
  readonly policyNow?: () => Policy;
}

/**
 * One command through policy and audit, for any protocol engine: decides it (@tollgate/policy),
 * holds it for review when the policy asks, and records the decision durably before answering. The
 * engine forwards the command only on `allow: true`; a denial, a rejected or expired review, or an
 * audit log that cannot record it all come back as `allow: false` with the client's message.
 */
export async function gateCommand(input: GateInput): Promise<GateResult> {
  const { audit, text } = input;
  const decision = decideCommand(input.policy, input.context, input.facts);
  if (decision.decision === 'deny') {
    // The denial is recorded too, but a command that is refused anyway need not wait for it.
    await audit
      .record({ command: text, decision: 'deny', rule: decision.rule, message: decision.message })
      .catch(() => undefined);
    return { allow: false, message: decision.message, rule: decision.rule };
  }
  const reviewIds: string[] = [];
  if (decision.decision === 'require_approval') {
    for (const requirement of decision.requirements) {
      const result = await audit.requestApproval(
        {
          command: text,
          rule: requirement.rule,
          approvers: requirement.approvers,
          minApprovals: requirement.minApprovals,
          timeoutSeconds: requirement.timeoutSeconds,
        },
        (reviewId) =>
          input.notify(
            `${sentence(requirement.message)} Waiting for approval by ${requirement.approvers.join(', ')}: review ${reviewId} (tollgate reviews approve ${reviewId}).`,
          ),
      );
      reviewIds.push(result.reviewId);
      if (!result.approved) {
        const review = result.reviewId ? `review ${result.reviewId}` : 'the review';
        // A review the gateway would not hold says why (a command too long to review).
        const message =
          result.outcome === 'unavailable' && result.reason
            ? `${requirement.message}: ${result.reason}`
            : `${requirement.message}: ${review} was ${result.outcome}, so the command was not run`;
        await audit
          .record({
            command: text,
            decision: 'deny',
            rule: requirement.rule,
            message,
            ...(result.reviewId ? { reviewId: result.reviewId } : {}),
          })
          .catch(() => undefined);
        return { allow: false, message, rule: requirement.rule };
      }
    }
  }
  const now = input.policyNow?.();
  if (decision.decision === 'require_approval' && now !== undefined && now !== input.policy) {
    const again = decideCommand(now, input.context, input.facts);
    if (again.decision === 'deny') {
      await audit
        .record({ command: text, decision: 'deny', rule: again.rule, message: again.message })
        .catch(() => undefined);
      return { allow: false, message: again.message, rule: again.rule };
    }
    // The version now in force asks other reviewers (or more of them) than those who approved.
    if (again.decision === 'require_approval' && !sameReviews(decision.requirements, again.requirements)) {
      const message = `the policy changed while the command waited for review (rule ${again.rule} now asks for other approvals), so the command was not run; send it again`;
      await audit
        .record({ command: text, decision: 'deny', rule: decision.rule, message })
        .catch(() => undefined);
      return { allow: false, message, rule: decision.rule };
    }
  }
  try {
    await audit.record({
      command: text,
      decision: 'allow',
      ...(decision.decision === 'require_approval'
        ? { rule: decision.rule, reviewId: reviewIds.join(',') }
        : {}),
      masking: decision.masking.rules,
    });
  } catch (error) {
    return {
      allow: false,
      message:
        error instanceof AuditRefusedError ? error.message : 'the audit log could not record the command',
    };
  }
  return { allow: true, masking: decision.masking };
}

/** A rule's message as a sentence: ended with a full stop unless it ends in punctuation already. */
function sentence(message: string): string {
  return /[.!?]$/.test(message) ? message : `${message}.`;
}

/** Whether two decisions ask the same reviews: the same rules, approvers and number of approvals. */
function sameReviews(a: readonly ApprovalRequirement[], b: readonly ApprovalRequirement[]): boolean {
  const key = (requirements: readonly ApprovalRequirement[]) =>
    JSON.stringify(requirements.map((r) => [r.rule, [...r.approvers].sort(), r.minApprovals]));
  return key(a) === key(b);
}
