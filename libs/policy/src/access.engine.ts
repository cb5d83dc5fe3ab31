import type { ConnectionContext, SubjectContext } from './context.types';
import type { Policy, Role } from './policy.types';
import { anyConnectionMatches, anySubjectMatches } from './selectors';
import { CONNECTION_VERBS, type Verb } from './vocabulary';

export interface AccessDecision {
  readonly allowed: boolean;
  /** Why: the roles that allowed it, or what was missing. Safe to show to the caller. */
  readonly reason: string;
  /** Names of the roles that grant the request (empty when denied). */
  readonly roles: readonly string[];
  /**
   * Limits for a session opened under this decision (present when allowed): the longest duration
   * any granting role allows, capped by `sessions.max_duration`; read-only when every granting role
   * is read-only or `sessions.read_only` is set.
   */
  readonly session?: { readonly maxDurationSeconds: number; readonly readOnly: boolean };
  /** The just-in-time grant that allowed the request, when no role did. */
  readonly grant?: string;
}

/**
 * Just-in-time access approved through an access request: the subject may use `verbs` on the
 * connection named `connection` until `expiresAt`. The gateway keeps grants; the policy only says
 * who may ask (see access-requests.ts).
 */
export interface AccessGrant {
  readonly id: string;
  /** The subject the grant was made to (`user:<id>` or `sa:<name>`). */
  readonly subject: string;
  readonly connection: string;
  readonly verbs: readonly Verb[];
  readonly expiresAt: Date;
  readonly readOnly: boolean;
}

export interface EvaluateAccessOptions {
  /** The subject's grants; expired ones and other subjects' are ignored. */
  readonly grants?: readonly AccessGrant[];
  /** The time to judge grant expiry against (default: now). */
  readonly now?: Date;
}

/** The longest actor chain a delegated token may carry (`delegation.max_depth`, default 2). */
export function maxDelegationDepth(policy: Policy): number {
  return policy.delegation.maxDepth;
}

/**
 * RBAC: may `who` perform `verb` (on `connection`)? Roles are additive: the request is allowed when
 * any role names the subject (directly, by group or by glob), grants the verb and, when a connection
 * is given, covers it. `connect` and `exec` always need a connection. A delegated request whose actor
 * chain is longer than `delegation.max_depth` is denied whatever the roles say. When no role allows
 * a request on a connection, an unexpired just-in-time grant (`options.grants`) may; its session ends
 * when the grant does.
 */
export function evaluateAccess(
  policy: Policy,
  who: SubjectContext,
  verb: Verb,
  connection?: ConnectionContext,
  options: EvaluateAccessOptions = {},
): AccessDecision {
  const depth = who.actorChain.length;
  const maxDepth = maxDelegationDepth(policy);
  if (depth > maxDepth) {
    return {
      allowed: false,
      reason: `delegation depth ${depth} exceeds the policy's maximum of ${maxDepth}`,
      roles: [],
    };
  }
  if (connection === undefined && CONNECTION_VERBS.includes(verb)) {
    return { allowed: false, reason: `${verb} needs a connection`, roles: [] };
  }

  const granting = policy.roles.filter((role) => grants(role, who, verb, connection));
  if (granting.length === 0 && connection !== undefined && options.grants) {
    const decision = evaluateGrants(policy, who, verb, connection, options.grants, options.now ?? new Date());
    if (decision) return decision;
  }
  if (granting.length === 0) {
    const target = connection ? ` on ${connection.name}` : '';
    return { allowed: false, reason: `no role grants ${verb}${target} to ${who.subject}`, roles: [] };
  }
  const roles = granting.map((r) => r.name);
  return {
    allowed: true,
    reason: `allowed by role${roles.length > 1 ? 's' : ''} ${roles.join(', ')}`,
    roles,
    session: sessionLimits(policy, granting),
  };
}

/**
 * Which connections a verb reaches for `who` through the roles of the policy, for verbs whose
 * answers are narrowed to connections rather than refused (`audit:read` reads what the connections
 * its roles cover recorded): `everywhere` when a granting role names no `connections` or names `*`,
 * else the granting roles' selectors together. null when no role grants the verb (or the actor
 * chain is longer than `delegation.max_depth`).
 */
export function verbReach(
  policy: Policy,
  who: SubjectContext,
  verb: Verb,
): { readonly everywhere: boolean; readonly selectors: readonly string[] } | null {
  if (who.actorChain.length > maxDelegationDepth(policy)) return null;
  const granting = policy.roles.filter((role) => grants(role, who, verb));
  if (granting.length === 0) return null;
  const everywhere = granting.some((role) => role.connections.length === 0 || role.connections.includes('*'));
  return { everywhere, selectors: [...new Set(granting.flatMap((role) => role.connections))] };
}

function grants(role: Role, who: SubjectContext, verb: Verb, connection?: ConnectionContext): boolean {
  if (!role.verbs.includes(verb)) return false;
  if (!anySubjectMatches(role.subjects, who)) return false;
  if (connection === undefined) return true;
  return anyConnectionMatches(role.connections, connection);
}

function sessionLimits(policy: Policy, granting: readonly Role[]) {
  const cap = policy.sessions.maxDurationSeconds;
  const maxDurationSeconds = Math.min(cap, Math.max(...granting.map((r) => r.maxDurationSeconds ?? cap)));
  const readOnly = policy.sessions.readOnly || granting.every((r) => r.readOnly);
  return { maxDurationSeconds, readOnly };
}

function evaluateGrants(
  policy: Policy,
  who: SubjectContext,
  verb: Verb,
  connection: ConnectionContext,
  grants: readonly AccessGrant[],
  now: Date,
): AccessDecision | null {
  const remaining = (g: AccessGrant) => Math.floor((g.expiresAt.getTime() - now.getTime()) / 1000);
  const usable = grants
    .filter((g) => g.subject === who.subject && g.connection === connection.name && g.verbs.includes(verb))
    .filter((g) => remaining(g) > 0)
    // Prefer a read-write grant, then the one that lasts longest.
    .sort((a, b) => Number(a.readOnly) - Number(b.readOnly) || remaining(b) - remaining(a));
  const grant = usable[0];
  if (!grant) return null;
  return {
    allowed: true,
    reason: `allowed by access grant ${grant.id} until ${grant.expiresAt.toISOString()}`,
    roles: [],
    grant: grant.id,
    session: {
      maxDurationSeconds: Math.min(policy.sessions.maxDurationSeconds, remaining(grant)),
      readOnly: policy.sessions.readOnly || grant.readOnly,
    },
  };
}
