import { Injectable } from '@nestjs/common';
import {
  accessRequestRulesFor,
  connectionMatches,
  evaluateAccess,
  type AccessGrant,
  type ConnectionContext,
  type Policy,
  type SubjectContext,
  type Verb,
} from '@tollgate/policy';
import { ReviewsService } from '../../reviews/reviews.service';
import { subjectContext } from '../../reviews/subject-context';
import type { Principal } from '../principal';
import { scopesPermit } from '../tokens/scopes';
import { ActivePolicyService } from './active-policy.service';

/** Verbs that act on the gateway itself rather than on a connection. */
export const GATEWAY_VERBS = ['admin', 'audit:read', 'review'] as const satisfies readonly Verb[];
export const CONNECTION_VERBS = ['connect', 'exec'] as const satisfies readonly Verb[];
export type ConnectionVerb = (typeof CONNECTION_VERBS)[number];

export interface ConnectionVerbs {
  /** Verbs the caller holds on the connection now (a role, or an unexpired just-in-time grant). */
  readonly verbs: ConnectionVerb[];
  /** Verbs the caller may ask for through an access request (policy `access_requests`). */
  readonly requestable: ConnectionVerb[];
  /** The latest expiry of a just-in-time grant in use, when one gives a verb. */
  readonly grantExpiresAt?: string;
}

export interface RoleReach {
  readonly role: string;
  readonly subjects: readonly string[];
  readonly verbs: ConnectionVerb[];
  readonly readOnly: boolean;
}

/**
 * Answers "what may this caller do?" and "who may reach this connection?" from the active policy,
 * the callers' token scopes and the just-in-time grants, with the same pure functions RBAC decides
 * with (@tollgate/policy evaluateAccess). These are read-only views for the console and `tollgate ls`:
 * they grant nothing, so they are not authorization decisions and are not audit records; every real
 * use still goes through AccessDecider.
 */
@Injectable()
export class AccessExplorer {
  constructor(
    private readonly policies: ActivePolicyService,
    private readonly reviews: ReviewsService,
  ) {}

  /** The gateway verbs (admin, audit:read, review) the caller holds under its roles and scopes. */
  async gatewayVerbs(principal: Principal): Promise<Verb[]> {
    const { policy } = await this.policies.current();
    const who = subjectContext(principal);
    return GATEWAY_VERBS.filter(
      (verb) => scopesPermit(principal.scopes, verb) && evaluateAccess(policy, who, verb).allowed,
    );
  }

  /** For each connection, what the caller holds and may ask for. */
  async connectionVerbs(
    principal: Principal,
    connections: readonly ConnectionContext[],
  ): Promise<Map<string, ConnectionVerbs>> {
    const { policy } = await this.policies.current();
    const who = subjectContext(principal);
    const grants = await this.reviews.grantsFor(principal.subject);
    const now = new Date();
    const out = new Map<string, ConnectionVerbs>();
    for (const connection of connections) {
      const verbs: ConnectionVerb[] = [];
      let grantExpiresAt: Date | undefined;
      for (const verb of CONNECTION_VERBS) {
        if (!scopesPermit(principal.scopes, verb, connection.name)) continue;
        const decision = evaluateAccess(policy, who, verb, connection, { grants, now });
        if (!decision.allowed) continue;
        verbs.push(verb);
        const grant = decision.grant ? grants.find((g) => g.id === decision.grant) : undefined;
        if (grant && (!grantExpiresAt || grant.expiresAt > grantExpiresAt)) grantExpiresAt = grant.expiresAt;
      }
      const requestable = CONNECTION_VERBS.filter(
        (verb) =>
          who.actorChain.length === 0 && accessRequestRulesFor(policy, who, verb, connection).length > 0,
      );
      out.set(connection.name, {
        verbs,
        requestable,
        ...(grantExpiresAt ? { grantExpiresAt: grantExpiresAt.toISOString() } : {}),
      });
    }
    return out;
  }

  /** The roles of the active policy that let someone connect to or exec on `connection`. */
  async rolesReaching(
    connection: ConnectionContext,
  ): Promise<{ version: number | null; roles: RoleReach[] }> {
    const { policy, version } = await this.policies.current();
    const roles: RoleReach[] = [];
    for (const role of policy.roles) {
      const verbs = CONNECTION_VERBS.filter((verb) => role.verbs.includes(verb));
      if (verbs.length === 0) continue;
      if (!role.connections.some((selector) => connectionMatches(selector, connection))) continue;
      roles.push({ role: role.name, subjects: role.subjects, verbs, readOnly: role.readOnly });
    }
    return { version, roles };
  }

  /** What `who` (a known user or service account) holds on `connection` through roles and grants. */
  async subjectVerbs(
    who: SubjectContext,
    connection: ConnectionContext,
    grants: readonly AccessGrant[],
  ): Promise<{ verbs: ConnectionVerb[]; roles: string[] }> {
    const { policy } = await this.policies.current();
    return verbsOn(policy, who, connection, grants);
  }
}

function verbsOn(
  policy: Policy,
  who: SubjectContext,
  connection: ConnectionContext,
  grants: readonly AccessGrant[],
): { verbs: ConnectionVerb[]; roles: string[] } {
  const verbs: ConnectionVerb[] = [];
  const roles = new Set<string>();
  for (const verb of CONNECTION_VERBS) {
    const decision = evaluateAccess(policy, who, verb, connection, { grants });
    if (!decision.allowed) continue;
    verbs.push(verb);
    for (const role of decision.roles) roles.add(role);
    if (decision.grant) roles.add(`grant ${decision.grant}`);
  }
  return { verbs, roles: [...roles] };
}
