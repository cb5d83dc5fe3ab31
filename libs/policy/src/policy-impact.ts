import { evaluateAccess, type EvaluateAccessOptions } from './access.engine';
import type { ConnectionContext, SubjectContext } from './context.types';
import type { Policy } from './policy.types';
import { matchApplies } from './selectors';

export type PolicySection =
  'metadata' | 'roles' | 'guardrails' | 'masking' | 'access_requests' | 'audit' | 'delegation' | 'sessions';

export interface PolicyChange {
  readonly section: PolicySection;
  /** The named item (role, guardrail, masking rule, access-request rule); absent for settings. */
  readonly name?: string;
  readonly change: 'added' | 'removed' | 'changed';
}

/**
 * What changed between two policies, item by item (by name), in document order: enough for a
 * `--dry-run` summary next to the textual diff of the documents.
 */
export function diffPolicies(before: Policy, after: Policy): PolicyChange[] {
  const changes: PolicyChange[] = [];
  if (!sameValue(before.metadata, after.metadata)) changes.push({ section: 'metadata', change: 'changed' });
  const lists = [
    ['roles', before.roles, after.roles],
    ['guardrails', before.guardrails, after.guardrails],
    ['masking', before.masking, after.masking],
    ['access_requests', before.accessRequests, after.accessRequests],
    ['audit', before.audit, after.audit],
  ] as const;
  for (const [section, old, now] of lists) {
    const oldByName = new Map<string, unknown>(old.map((item) => [item.name, item]));
    const newNames = new Set(now.map((item) => item.name));
    for (const item of old)
      if (!newNames.has(item.name)) changes.push({ section, name: item.name, change: 'removed' });
    for (const item of now) {
      const previous = oldByName.get(item.name);
      if (previous === undefined) changes.push({ section, name: item.name, change: 'added' });
      else if (!sameValue(previous, item)) changes.push({ section, name: item.name, change: 'changed' });
    }
  }
  if (!sameValue(before.delegation, after.delegation))
    changes.push({ section: 'delegation', change: 'changed' });
  if (!sameValue(before.sessions, after.sessions)) changes.push({ section: 'sessions', change: 'changed' });
  return changes;
}

/** A live session, as the gateway knows it. */
export interface LiveSession {
  readonly id: string;
  readonly subject: SubjectContext;
  readonly verb: 'connect' | 'exec';
  readonly connection: ConnectionContext;
  readonly readOnly: boolean;
  readonly maxDurationSeconds: number;
}

export type SessionImpactKind =
  /** The new policy no longer allows the session at all. */
  | 'revoked'
  /** The session would become read-only. */
  | 'read_only'
  /** The session's maximum duration would shrink. */
  | 'shorter'
  /** The guardrails that apply to the session's commands would change. */
  | 'guardrails'
  /** The masking applied to the session's results would change. */
  | 'masking';

export interface SessionImpact {
  readonly sessionId: string;
  readonly impacts: readonly SessionImpactKind[];
  /** For `revoked`: why the new policy denies it. */
  readonly reason?: string;
}

/**
 * Which live sessions a change from `before` to `after` would affect, and how. Sessions it does not
 * affect are left out. Access is judged as at session open (roles, delegation depth, `options.grants`).
 */
export function sessionsAffected(
  before: Policy,
  after: Policy,
  sessions: readonly LiveSession[],
  options: EvaluateAccessOptions = {},
): SessionImpact[] {
  const result: SessionImpact[] = [];
  for (const session of sessions) {
    const decision = evaluateAccess(after, session.subject, session.verb, session.connection, options);
    if (!decision.allowed) {
      result.push({ sessionId: session.id, impacts: ['revoked'], reason: decision.reason });
      continue;
    }
    const impacts: SessionImpactKind[] = [];
    if (decision.session && decision.session.readOnly && !session.readOnly) impacts.push('read_only');
    if (decision.session && decision.session.maxDurationSeconds < session.maxDurationSeconds)
      impacts.push('shorter');
    const applying = (policy: Policy, key: 'guardrails' | 'masking') =>
      policy[key].filter((rule) => matchApplies(rule.match, session.subject, session.connection));
    if (!sameValue(applying(before, 'guardrails'), applying(after, 'guardrails'))) impacts.push('guardrails');
    if (!sameValue(applying(before, 'masking'), applying(after, 'masking'))) impacts.push('masking');
    if (impacts.length > 0) result.push({ sessionId: session.id, impacts });
  }
  return result;
}

/** Structural equality of plain policy data (objects compared regardless of key order). */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => sameValue(item, b[i]));
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ra), ...Object.keys(rb)]);
  return [...keys].every((key) => sameValue(ra[key], rb[key]));
}
