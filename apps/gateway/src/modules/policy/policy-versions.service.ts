import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import {
  diffPolicies,
  evaluateAccess,
  parsePolicy,
  sessionsAffected,
  type LiveSession,
  type Policy,
  type PolicyChange,
  type SessionImpact,
  type SubjectContext,
} from '@tollgate/policy';
import { CloseCode } from '@tollgate/proto';
import { NotFoundError } from '../../common/errors';
import { AuditWriter } from '../audit/audit-writer';
import type { Principal } from '../identity/principal';
import { ActivePolicyService, type ActivePolicy } from '../identity/rbac/active-policy.service';
import { policyValidationError } from '../identity/rbac/policy-validation.error';
import { ReviewsService } from '../reviews/reviews.service';
import { StoreService } from '../store/store.service';
import { AgentRegistry } from '../tunnel/agent-registry';
import { unifiedDiff } from './text-diff';

export interface PolicyVersionSummary {
  readonly version: number;
  readonly author: string;
  readonly comment: string | null;
  readonly sha256: string;
  readonly active: boolean;
  readonly createdAt: string;
}

export interface PolicyVersionDetail extends PolicyVersionSummary {
  readonly document: string;
  /** The version it replaced (null for the first) and what changed against it. */
  readonly previousVersion: number | null;
  readonly changes: readonly PolicyChange[];
  readonly diff: string;
}

export interface DryRunResult {
  /** The active version the document is compared with (null: the built-in default). */
  readonly activeVersion: number | null;
  readonly changes: readonly PolicyChange[];
  readonly diff: string;
  /** Live sessions the change would affect, and how. */
  readonly sessions: readonly (SessionImpact & { subject: string; connection: string })[];
  /** Why applying the document would be refused (it would lock every administrator out), or null. */
  readonly refused: string | null;
}

/**
 * The versioned policy workflow on top of ActivePolicyService (which validates, stores and caches
 * the active version): list, show with its diff, restore an old version as a new one, dry-run a
 * document against the live sessions, and push every applied version to the agents.
 */
@Injectable()
export class PolicyVersionsService implements OnModuleInit {
  constructor(
    private readonly store: StoreService,
    private readonly policies: ActivePolicyService,
    private readonly registry: AgentRegistry,
    private readonly audit: AuditWriter,
    private readonly reviews: ReviewsService,
  ) {}

  private readonly logger = new Logger('policy');

  onModuleInit(): void {
    // Agents enforce the active version: every apply (API, CLI, restore) re-sends their bundles,
    // and live sessions the new version no longer allows are ended.
    this.policies.onApplied((applied) => {
      this.registry.pushBundlesSoon();
      this.endRevokedSessions(applied, `policy version ${applied.version ?? 'default'}`).catch(
        (error: unknown) =>
          this.logger.error({ err: error }, 'could not check live sessions against the new policy'),
      );
    });
    // Roles cover connections by name and tags: a connection changed (retagged, renamed) through any
    // replica is checked against the sessions open on it as a new policy version is.
    this.store.onChange(['connections'], () => {
      this.policies
        .current()
        .then((active) =>
          this.endRevokedSessions(
            active,
            `its connection changed, and policy version ${active.version ?? 'default'}`,
          ),
        )
        .catch((error: unknown) =>
          this.logger.error({ err: error }, 'could not check live sessions against the changed connection'),
        );
    });
    // Roles name groups: a subject removed from a group (a service account's groups changed, a
    // person's memberships replaced at login or refresh) no longer has that group's access on the
    // sessions it holds open either, through any replica.
    this.store.onChange(['users', 'groups', 'memberships', 'service_accounts'], () => {
      this.policies
        .current()
        .then((active) =>
          this.endRevokedSessions(
            active,
            `its subject's groups changed, and policy version ${active.version ?? 'default'}`,
          ),
        )
        .catch((error: unknown) =>
          this.logger.error({ err: error }, "could not check live sessions against their subjects' groups"),
        );
    });
  }

  /**
   * Ends the live sessions on this replica that `applied` no longer allows, with their connections as
   * the store has them now (CloseCode.POLICY_CHANGED); `because` names what changed.
   */
  private async endRevokedSessions(applied: ActivePolicy, because: string): Promise<void> {
    for (const { session } of await this.liveSessions(applied.policy)) {
      const grants = await this.reviews.grantsFor(session.subject.subject);
      const decision = evaluateAccess(applied.policy, session.subject, session.verb, session.connection, {
        grants,
      });
      if (decision.allowed) continue;
      for (const agent of this.registry.all()) {
        agent.sessions.get(session.id)?.(
          `${because} no longer allows this session: ${decision.reason}`,
          CloseCode.POLICY_CHANGED,
        );
      }
    }
  }

  async list(): Promise<{ items: PolicyVersionSummary[] }> {
    const rows = await this.store.prisma.policyVersion.findMany({
      orderBy: { version: 'desc' },
      select: { version: true, author: true, comment: true, sha256: true, active: true, createdAt: true },
    });
    return { items: rows.map((r) => ({ ...r, createdAt: r.createdAt.toISOString() })) };
  }

  async show(version: number): Promise<PolicyVersionDetail> {
    const row = await this.store.prisma.policyVersion.findUnique({ where: { version } });
    if (!row) throw new NotFoundError('policy version', String(version));
    const previous = await this.store.prisma.policyVersion.findFirst({
      where: { version: { lt: version } },
      orderBy: { version: 'desc' },
    });
    const before = previous ? parseStored(previous.document, previous.version) : undefined;
    const after = parseStored(row.document, row.version);
    return {
      version: row.version,
      author: row.author,
      comment: row.comment,
      sha256: row.sha256,
      active: row.active,
      createdAt: row.createdAt.toISOString(),
      document: row.document,
      previousVersion: previous?.version ?? null,
      changes: before && after ? diffPolicies(before, after) : [],
      diff: unifiedDiff(previous?.document ?? '', row.document),
    };
  }

  /** Makes an old version active again, as a new version (history is never rewritten). */
  async restore(version: number, principal: Principal): Promise<ActivePolicy> {
    const row = await this.store.prisma.policyVersion.findUnique({ where: { version } });
    if (!row) throw new NotFoundError('policy version', String(version));
    const previous = await this.policies.current();
    const applied = await this.policies.apply(
      row.document,
      principal.subject,
      `restore of version ${version}`,
      `policy-v${version}.yaml`,
    );
    await this.audit.record({
      subject: principal.subject,
      actorChain: principal.actorChain,
      action: 'policy:restore',
      target: `policy:v${applied.version}`,
      decision: 'allow',
      reason: `version ${version} restored as version ${applied.version}`,
      payload: {
        restoredVersion: version,
        previousVersion: previous.version,
        policyVersion: applied.version,
      },
    });
    return applied;
  }

  async dryRun(document: string, fileName = 'policy.yaml'): Promise<DryRunResult> {
    const parsed = parsePolicy(document, fileName);
    if (!parsed.ok) throw policyValidationError(parsed.errors);
    const active = await this.policies.current();
    const live = await this.liveSessions(active.policy);
    const impacts = sessionsAffected(
      active.policy,
      parsed.policy,
      live.map((l) => l.session),
    );
    const byId = new Map(live.map((l) => [l.session.id, l]));
    return {
      refused: await this.policies.lockOut(parsed.policy),
      activeVersion: active.version,
      changes: diffPolicies(active.policy, parsed.policy),
      diff: unifiedDiff(active.document, document),
      sessions: impacts.map((impact) => ({
        ...impact,
        subject: byId.get(impact.sessionId)?.session.subject.subject ?? '',
        connection: byId.get(impact.sessionId)?.session.connection.name ?? '',
      })),
    };
  }

  /** Open sessions as the policy engine sees them, with their limits under the active policy. */
  private async liveSessions(policy: Policy): Promise<{ session: LiveSession }[]> {
    const rows = await this.store.prisma.session.findMany({
      where: { state: { in: ['opening', 'open'] } },
      include: { connection: { select: { tags: true, protocol: true } } },
    });
    const userIds = rows.flatMap((r) => (r.subject.startsWith('user:') ? [r.subject.slice(5)] : []));
    const accountNames = rows.flatMap((r) => (r.subject.startsWith('sa:') ? [r.subject.slice(3)] : []));
    const uuid = /^[0-9a-f-]{36}$/i;
    const [users, accounts] = await Promise.all([
      this.store.prisma.user.findMany({
        where: { id: { in: userIds.filter((id) => uuid.test(id)) } },
        select: { id: true, email: true, memberships: { select: { group: { select: { name: true } } } } },
      }),
      this.store.prisma.serviceAccount.findMany({
        where: { name: { in: [...new Set(accountNames)] } },
        select: { name: true, groups: true },
      }),
    ]);
    const emails = new Map(users.map((u) => [u.id, u.email]));
    // The groups each subject has now: a session keeps only those of its groups (recorded when it
    // opened) that its subject still has, as a token does at every verification.
    const groupsNow = new Map<string, ReadonlySet<string>>([
      ...users.map((u) => [`user:${u.id}`, new Set(u.memberships.map((m) => m.group.name))] as const),
      ...accounts.map(
        (a) => [`sa:${a.name}`, new Set(Array.isArray(a.groups) ? a.groups.map(String) : [])] as const,
      ),
    ]);
    return rows.map((r) => {
      const held = groupsNow.get(r.subject);
      const subject: SubjectContext = {
        subject: r.subject,
        ...(emails.get(r.subject.slice(5)) ? { email: emails.get(r.subject.slice(5))! } : {}),
        groups: (Array.isArray(r.groups) ? r.groups.map(String) : []).filter((g) => held?.has(g) ?? false),
        actorChain: Array.isArray(r.actorChain) ? (r.actorChain as { subject: string }[]) : [],
      };
      const connection = {
        name: r.connectionName,
        protocol: r.connection?.protocol ?? r.protocol,
        tags: (r.connection?.tags ?? {}) as Record<string, string>,
      };
      const verb = r.verb === 'exec' ? ('exec' as const) : ('connect' as const);
      const now = evaluateAccess(policy, subject, verb, connection);
      return {
        session: {
          id: r.id,
          subject,
          verb,
          connection,
          readOnly: now.session?.readOnly ?? false,
          maxDurationSeconds: now.session?.maxDurationSeconds ?? policy.sessions.maxDurationSeconds,
        },
      };
    });
  }
}

function parseStored(document: string, version: number): Policy | undefined {
  const parsed = parsePolicy(document, `policy-v${version}.yaml`);
  return parsed.ok ? parsed.policy : undefined;
}
