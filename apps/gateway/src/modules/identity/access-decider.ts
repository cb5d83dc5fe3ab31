import type { Verb } from '@tollgate/policy';
import type { AuditRecord } from '../audit/audit-writer';
import type { Principal } from './principal';

/** The verbs of `@tollgate/policy` (roles, token scopes, grants and audit records share them). */
export type { Verb };

export interface AccessRequest {
  readonly principal: Principal;
  readonly verb: Verb;
  /** The connection acted on, for connect/exec; absent for admin and audit verbs. */
  readonly connection?: {
    readonly name: string;
    readonly protocol: string;
    readonly tags: Readonly<Record<string, string>>;
  };
  /** Where the request came from, for the audit record. */
  readonly source?: string;
  /** What is acted on when it is not a connection (e.g. `GET /api/v1/agents`), for the audit record. */
  readonly resource?: string;
  /** The audit record's target when it is neither (e.g. `agent:edge-ci` for register). */
  readonly target?: string;
  /**
   * false: a denial is not recorded, because the caller tries another verb next (admin, then
   * register) and records that decision instead. Allowed decisions are always recorded.
   */
  readonly recordDenial?: boolean;
}

export interface AccessDecision {
  readonly allowed: boolean;
  /** Why: the role that allowed it, or what was missing. Shown to the caller when denied. */
  readonly reason: string;
  readonly policyVersion: number | null;
  /**
   * For an allowed connect/exec: the session's limits. `maxDurationSeconds` is also the time left
   * on a just-in-time grant, so a session opened under one ends when the grant does.
   */
  readonly session?: { readonly maxDurationSeconds: number; readonly readOnly: boolean };
}

/**
 * RBAC: decides whether a principal may perform a verb (on a connection). Every decision, allowed or
 * denied, is written as an audit record with subject, actor chain and reason before it is returned;
 * if it cannot be recorded the answer is a denial (fail closed). Implemented and bound by the
 * IdentityModule.
 */
export abstract class AccessDecider {
  abstract decide(request: AccessRequest): Promise<AccessDecision>;

  /**
   * The decision with its audit record still to be written, for a caller that writes it together
   * with what the decision guards (a session open: one transaction). The caller must act on an
   * allowed decision only once the record is durable.
   */
  abstract assess(request: AccessRequest): Promise<AssessedAccess>;
}

export interface AssessedAccess {
  readonly decision: AccessDecision;
  readonly record: AuditRecord;
}
