import type { ConnectionContext, SubjectContext } from './context.types';
import type { AccessRequestRule, Policy } from './policy.types';
import { anyConnectionMatches, anySubjectMatches } from './selectors';
import type { Verb } from './vocabulary';

/** What a user asks for in a just-in-time access request. */
export interface AccessRequestInput {
  readonly verb: Verb;
  readonly connection: ConnectionContext;
  readonly durationSeconds: number;
  readonly reason: string;
}

export type AccessRequestCheck =
  | {
      readonly ok: true;
      /** The first rule (in document order) under which the request may be made. */
      readonly rule: AccessRequestRule;
    }
  | { readonly ok: false; readonly reason: string };

/** The access-request rules under which `who` may ask for `verb` on `connection`. */
export function accessRequestRulesFor(
  policy: Policy,
  who: SubjectContext,
  verb: Verb,
  connection: ConnectionContext,
): AccessRequestRule[] {
  return policy.accessRequests.filter(
    (rule) =>
      rule.verbs.includes(verb) &&
      anySubjectMatches(rule.requesters, who) &&
      anyConnectionMatches(rule.connections, connection),
  );
}

/**
 * May `who` file this request? It needs a rule naming the subject, the verb and the connection, a
 * duration within that rule's `max_duration`, and a reason. Delegated tokens cannot ask: a person
 * or a service account asks for itself.
 */
export function checkAccessRequest(
  policy: Policy,
  who: SubjectContext,
  request: AccessRequestInput,
): AccessRequestCheck {
  if (who.actorChain.length > 0)
    return { ok: false, reason: 'access cannot be requested with a delegated token' };
  if (request.reason.trim() === '') return { ok: false, reason: 'an access request needs a reason' };
  if (!Number.isInteger(request.durationSeconds) || request.durationSeconds <= 0) {
    return { ok: false, reason: 'the duration must be a positive number of seconds' };
  }
  const rules = accessRequestRulesFor(policy, who, request.verb, request.connection);
  if (rules.length === 0) {
    return {
      ok: false,
      reason: `no access_requests rule lets ${who.subject} request ${request.verb} on ${request.connection.name}`,
    };
  }
  const rule = rules.find((r) => request.durationSeconds <= r.maxDurationSeconds);
  if (!rule) {
    const longest = Math.max(...rules.map((r) => r.maxDurationSeconds));
    return { ok: false, reason: `the longest access that may be requested is ${longest} seconds` };
  }
  return { ok: true, rule };
}

/** Who may approve, and how many distinct approvals are needed: an access-request rule or a command approval. */
export interface ReviewRequirement {
  readonly approvers: readonly string[];
  readonly minApprovals: number;
}

/** The review requirement of an access request made under `rule`. */
export function accessRequestRequirement(rule: AccessRequestRule): ReviewRequirement {
  return { approvers: rule.reviewers, minApprovals: rule.minApprovals };
}

/**
 * May `reviewer` approve or reject a request made by `requesterSubject`? The reviewer must match
 * one of the approvers, must not be the requester (nobody approves their own request) and must act
 * for themselves (not through a delegated token). Nor may anyone who acted in the request's actor
 * chain (`requesterActors`: the automation that asked on the requester's behalf) review it: that
 * would be approving one's own request under another name.
 */
export function canReview(
  requirement: ReviewRequirement,
  reviewer: SubjectContext,
  requesterSubject: string,
  requesterActors: readonly string[] = [],
): { readonly allowed: boolean; readonly reason: string } {
  if (reviewer.subject === requesterSubject)
    return { allowed: false, reason: 'nobody may review their own request' };
  if (requesterActors.includes(reviewer.subject))
    return {
      allowed: false,
      reason: `nobody may review a request they made: ${reviewer.subject} acted in its actor chain`,
    };
  if (reviewer.actorChain.length > 0)
    return { allowed: false, reason: 'reviews cannot be made with a delegated token' };
  if (!anySubjectMatches(requirement.approvers, reviewer)) {
    return {
      allowed: false,
      reason: `${reviewer.subject} is not among the reviewers (${requirement.approvers.join(', ')})`,
    };
  }
  return { allowed: true, reason: 'reviewer' };
}

/**
 * Is the requirement met by these approvals? Counts distinct reviewers allowed by canReview; the
 * requester's own approval and repeated approvals by one reviewer do not count.
 */
export function approvalsSatisfied(
  requirement: ReviewRequirement,
  approvals: readonly SubjectContext[],
  requesterSubject: string,
  requesterActors: readonly string[] = [],
): boolean {
  const counted = new Set(
    approvals
      .filter((a) => canReview(requirement, a, requesterSubject, requesterActors).allowed)
      .map((a) => a.subject),
  );
  return counted.size >= requirement.minApprovals;
}
