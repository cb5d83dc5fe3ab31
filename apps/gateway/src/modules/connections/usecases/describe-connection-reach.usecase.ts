import { Injectable } from '@nestjs/common';
import type { AccessGrant, ConnectionContext, SubjectContext, Verb } from '@tollgate/policy';
import { AccessExplorer, type ConnectionVerb, type RoleReach } from '../../identity/rbac/access-explorer';
import { StoreService } from '../../store/store.service';
import { findConnectionOrThrow } from './find-connection';

/** Known people and service accounts considered; a directory larger than this is cut (and says so). */
const MAX_SUBJECTS = 1000;

export interface ReachingSubjectView {
  readonly subject: string;
  readonly displayName: string;
  readonly kind: 'user' | 'service-account';
  readonly verbs: ConnectionVerb[];
  /** The roles (or `grant <id>`) that give the verbs. */
  readonly via: string[];
}

export interface ConnectionReachView {
  readonly connection: string;
  readonly policyVersion: number | null;
  /** Roles of the active policy that cover the connection with connect or exec. */
  readonly roles: RoleReach[];
  /** Known users (from logins) and service accounts that may reach it now. */
  readonly subjects: ReachingSubjectView[];
  /** Unexpired just-in-time grants on it. */
  readonly grants: { id: string; subject: string; verb: string; expiresAt: string }[];
  /** True when there were more known subjects than were evaluated. */
  readonly truncated: boolean;
}

/**
 * Who can reach a connection, and with which verbs: the policy's roles that cover it, the people
 * and service accounts those roles (and unexpired grants) resolve to today, and the grants.
 */
@Injectable()
export class DescribeConnectionReachUseCase {
  constructor(
    private readonly store: StoreService,
    private readonly explorer: AccessExplorer,
  ) {}

  async execute(ref: string): Promise<ConnectionReachView> {
    const prisma = this.store.prisma;
    const row = await findConnectionOrThrow(prisma, ref);
    const connection: ConnectionContext = {
      name: row.name,
      protocol: row.protocol,
      tags: row.tags as Record<string, string>,
    };
    const [{ version, roles }, users, accounts, grantRows] = await Promise.all([
      this.explorer.rolesReaching(connection),
      prisma.user.findMany({
        where: { disabled: false },
        include: { memberships: { include: { group: { select: { name: true } } } } },
        orderBy: { createdAt: 'asc' },
        take: MAX_SUBJECTS + 1,
      }),
      prisma.serviceAccount.findMany({
        where: { disabled: false },
        orderBy: { name: 'asc' },
        take: MAX_SUBJECTS + 1,
      }),
      prisma.review.findMany({
        where: {
          kind: 'access',
          state: 'approved',
          connectionName: row.name,
          grantExpiresAt: { gt: new Date() },
        },
        orderBy: { grantExpiresAt: 'asc' },
      }),
    ]);
    const grants: AccessGrant[] = grantRows.map((g) => ({
      id: g.id,
      subject: g.requester,
      connection: g.connectionName,
      verbs: [g.verb as Verb],
      expiresAt: g.grantExpiresAt!,
      readOnly: g.readOnly,
    }));
    const candidates: { who: SubjectContext; displayName: string; kind: ReachingSubjectView['kind'] }[] = [
      ...users.slice(0, MAX_SUBJECTS).map((u) => ({
        who: {
          subject: `user:${u.id}`,
          ...(u.email ? { email: u.email } : {}),
          groups: u.memberships.map((m) => m.group.name),
          actorChain: [],
        },
        displayName: u.email ?? u.displayName ?? u.subject,
        kind: 'user' as const,
      })),
      ...accounts.slice(0, MAX_SUBJECTS).map((a) => ({
        who: { subject: `sa:${a.name}`, groups: a.groups as string[], actorChain: [] },
        displayName: a.name,
        kind: 'service-account' as const,
      })),
    ];
    const subjects: ReachingSubjectView[] = [];
    for (const { who, displayName, kind } of candidates) {
      const { verbs, roles: via } = await this.explorer.subjectVerbs(who, connection, grants);
      if (verbs.length > 0) subjects.push({ subject: who.subject, displayName, kind, verbs, via });
    }
    return {
      connection: row.name,
      policyVersion: version,
      roles,
      subjects,
      grants: grantRows.map((g) => ({
        id: g.id,
        subject: g.requester,
        verb: g.verb ?? 'connect',
        expiresAt: g.grantExpiresAt!.toISOString(),
      })),
      truncated: users.length > MAX_SUBJECTS || accounts.length > MAX_SUBJECTS,
    };
  }
}
