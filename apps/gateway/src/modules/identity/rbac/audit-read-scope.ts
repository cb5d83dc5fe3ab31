import { Injectable } from '@nestjs/common';
import { connectionMatches, verbReach } from '@tollgate/policy';
import type { Prisma } from '@tollgate/store';
import { subjectContext } from '../../reviews/subject-context';
import { StoreService } from '../../store/store.service';
import type { Principal } from '../principal';
import { globMatches, scopeReach } from '../tokens/scopes';
import { ActivePolicyService } from './active-policy.service';

/** A connection whose recorded sessions and audit records a reader may see. */
export interface ReadableConnection {
  readonly id: string;
  readonly name: string;
  /**
   * When it took its name (created or renamed): records written under that name before then are
   * another connection's (one deleted or renamed away).
   */
  readonly namedAt: Date;
}

/**
 * What a caller's `audit:read` reads: everything, or only what the listed connections recorded.
 * Every route that answers with sessions, recordings or audit records narrows its query with it.
 */
export type AuditReadScope =
  | { readonly unrestricted: true }
  | { readonly unrestricted: false; readonly connections: readonly ReadableConnection[] };

/**
 * Resolves a caller's audit read scope from the active policy and the token's scopes, with the
 * matcher every verb uses (names, globs, tags). Unrestricted needs both a role granting
 * `audit:read` without `connections` (or with `*`) and the bare `audit:read` scope. Otherwise the
 * caller reads what the connections that exist now, covered by a granting role and by its
 * `audit:read[:glob]` scopes, recorded under their current names since they took them: records of
 * deleted connections, written under a former name, or bound to no connection (logins, policy
 * changes, admin routes, agents) are for unrestricted readers only.
 */
@Injectable()
export class AuditReadScopes {
  constructor(
    private readonly policies: ActivePolicyService,
    private readonly store: StoreService,
  ) {}

  async of(principal: Principal): Promise<AuditReadScope> {
    const { policy } = await this.policies.current();
    const roles = verbReach(policy, subjectContext(principal), 'audit:read');
    const scopes = scopeReach(principal.scopes, 'audit:read');
    if (!roles || !scopes) return { unrestricted: false, connections: [] };
    if (roles.everywhere && scopes.everywhere) return { unrestricted: true };
    const rows = await this.store.prisma.connection.findMany({
      select: { id: true, name: true, protocol: true, tags: true, namedAt: true },
    });
    const connections = rows.filter((row) => {
      const connection = { name: row.name, protocol: row.protocol, tags: row.tags as Record<string, string> };
      return (
        (roles.everywhere || roles.selectors.some((s) => connectionMatches(s, connection))) &&
        (scopes.everywhere || scopes.globs.some((glob) => globMatches(glob, row.name)))
      );
    });
    return {
      unrestricted: false,
      connections: connections.map(({ id, name, namedAt }) => ({ id, name, namedAt })),
    };
  }
}

/** Sessions the scope reads: those opened on a readable connection, under its current name. */
export function sessionsWithin(scope: AuditReadScope): Prisma.SessionWhereInput {
  if (scope.unrestricted) return {};
  if (scope.connections.length === 0) return { id: { in: [] } };
  return { OR: scope.connections.map((c) => ({ connectionId: c.id, connectionName: c.name })) };
}

/**
 * Audit records the scope reads: those whose target is a readable connection, written since it took
 * its name (the records name connections only by name).
 */
export function auditEntriesWithin(scope: AuditReadScope): Prisma.AuditEntryWhereInput {
  if (scope.unrestricted) return {};
  if (scope.connections.length === 0) return { seq: { in: [] } };
  return {
    OR: scope.connections.map((c) => ({ target: `connection:${c.name}`, at: { gte: c.namedAt } })),
  };
}
