import { Injectable } from '@nestjs/common';
import {
  accessRequestRequirement,
  approvalsSatisfied,
  canReview,
  checkAccessRequest,
  evaluateAccess,
  type AccessGrant,
  type ReviewRequirement,
  type Verb,
} from '@tollgate/policy';
import type { Review, ReviewDecision } from '@tollgate/store';
import { ConflictError, ForbiddenError, NotFoundError } from '../../common/errors';
import { AuditWriter } from '../audit/audit-writer';
import type { Principal } from '../identity/principal';
import { ActivePolicyService } from '../identity/rbac/active-policy.service';
import { subjectNames } from '../identity/subjects/subject-names';
import { scopesPermit } from '../identity/tokens/scopes';
import type { FactCache } from '../store/fact-cache';
import { StoreService } from '../store/store.service';
import { ReviewNotifier } from './review-notifier';
import { subjectContext } from './subject-context';

export type ReviewOutcome = 'approved' | 'rejected' | 'expired';

export interface ReviewView {
  readonly id: string;
  readonly kind: 'access' | 'command';
  readonly state: string;
  readonly requester: string;
  /** The requester's e-mail (or name) where the store knows them, for people reading the list. */
  readonly requesterName?: string;
  readonly connection: string;
  readonly verb: string | null;
  readonly durationSeconds: number | null;
  readonly reason: string | null;
  readonly sessionId: string | null;
  readonly command: string | null;
  readonly rule: string;
  readonly approvers: readonly string[];
  readonly minApprovals: number;
  readonly policyVersion: number | null;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly decidedAt: string | null;
  readonly grantExpiresAt: string | null;
  readonly decisions: readonly { reviewer: string; decision: string; comment: string | null; at: string }[];
}

export interface CommandReviewInput {
  readonly sessionId: string;
  readonly requester: { readonly subject: string; readonly actorChain: readonly { subject: string }[] };
  readonly connection: string;
  readonly command: string;
  readonly rule: string;
  readonly approvers: readonly string[];
  readonly minApprovals: number;
  readonly timeoutSeconds: number;
  readonly policyVersion: number | null;
}

/**
 * The longest command a review holds: reviewers decide on the whole text, never on a part of it (a
 * statement cut for the review could hide, past the cut, the clause that matters). A longer command
 * is not held for review at all (it is refused).
 */
export const REVIEWABLE_COMMAND_CHARS = 64 * 1024;

/** How long an access request waits for its reviewers before it expires. */
const ACCESS_REQUEST_PENDING_SECONDS = 24 * 3600;

/**
 * Reviews: just-in-time access requests and commands held for approval. Reviewers are the subjects
 * the policy named when the review was made; nobody reviews their own request, a delegated token
 * cannot review, and one reviewer counts once (@tollgate/policy canReview/approvalsSatisfied).
 * Every request and decision is an audit event.
 */
@Injectable()
export class ReviewsService {
  private readonly waiters = new Map<string, Set<(outcome: ReviewOutcome) => void>>();

  /** Each subject's approved access grants, until an access review changes. */
  private readonly grants: FactCache<readonly AccessGrant[]>;

  constructor(
    private readonly store: StoreService,
    private readonly policies: ActivePolicyService,
    private readonly audit: AuditWriter,
    private readonly notifier: ReviewNotifier,
  ) {
    this.grants = store.facts({ tables: ['reviews'], maxEntries: 20_000 });
  }

  async requestAccess(
    principal: Principal,
    input: { connection: string; verb: Verb; durationSeconds: number; reason: string },
  ): Promise<ReviewView> {
    const connection = await this.store.prisma.connection.findUnique({ where: { name: input.connection } });
    if (!connection) throw new NotFoundError('connection', input.connection);
    // A narrowed token (a connection credential, a delegated or scoped token) asks only for what its
    // scopes cover: a `connect:pg-a` credential in a BI tool cannot file a request for `exec` (or for
    // another connection) in its owner's name.
    if (!scopesPermit(principal.scopes, input.verb, connection.name)) {
      throw new ForbiddenError(
        `the token's scope (${principal.scopes.join(' ') || 'none'}) does not include ${input.verb} on connection "${connection.name}", so it cannot ask for it`,
      );
    }
    const active = await this.policies.current();
    const check = checkAccessRequest(active.policy, subjectContext(principal), {
      verb: input.verb,
      connection: {
        name: connection.name,
        protocol: connection.protocol,
        tags: connection.tags as Record<string, string>,
      },
      durationSeconds: input.durationSeconds,
      reason: input.reason,
    });
    if (!check.ok) throw new ForbiddenError(check.reason);
    const requirement = accessRequestRequirement(check.rule);
    const review = await this.store.prisma.review.create({
      data: {
        kind: 'access',
        requester: principal.subject,
        requesterActors: principal.actorChain.map((a) => ({ subject: a.subject })),
        connectionName: connection.name,
        verb: input.verb,
        durationSeconds: input.durationSeconds,
        reason: input.reason,
        rule: check.rule.name,
        approvers: [...requirement.approvers],
        minApprovals: requirement.minApprovals,
        readOnly: check.rule.readOnly,
        policyVersion: active.version,
        expiresAt: new Date(Date.now() + ACCESS_REQUEST_PENDING_SECONDS * 1000),
      },
      include: { decisions: true },
    });
    await this.recordRequest(review.id, {
      subject: principal.subject,
      actorChain: principal.actorChain,
      action: 'review:request',
      target: `connection:${connection.name}`,
      decision: 'allow',
      reason: input.reason,
      payload: {
        reviewId: review.id,
        kind: 'access',
        verb: input.verb,
        durationSeconds: input.durationSeconds,
        rule: check.rule.name,
        policyVersion: active.version,
      },
    });
    const view = toView(review);
    this.notifier.requested(view);
    return view;
  }

  /** A command held by `require_approval`: creates its review (the agent waits for the outcome). */
  async requestCommandApproval(input: CommandReviewInput): Promise<ReviewView> {
    if (input.command.length > REVIEWABLE_COMMAND_CHARS)
      throw new ForbiddenError(commandTooLong(input.command.length));
    const review = await this.store.prisma.review.create({
      data: {
        kind: 'command',
        requester: input.requester.subject,
        requesterActors: input.requester.actorChain.map((a) => ({ subject: a.subject })),
        connectionName: input.connection,
        sessionId: input.sessionId,
        command: input.command,
        rule: input.rule,
        approvers: [...input.approvers],
        minApprovals: input.minApprovals,
        policyVersion: input.policyVersion,
        expiresAt: new Date(Date.now() + input.timeoutSeconds * 1000),
      },
      include: { decisions: true },
    });
    await this.recordRequest(review.id, {
      subject: input.requester.subject,
      actorChain: input.requester.actorChain,
      action: 'review:request',
      target: `connection:${input.connection}`,
      decision: 'allow',
      reason: `command held by ${input.rule}`,
      payload: {
        reviewId: review.id,
        kind: 'command',
        sessionId: input.sessionId,
        command: review.command,
        rule: input.rule,
        policyVersion: input.policyVersion,
      },
    });
    const view = toView(review);
    this.notifier.requested(view);
    return view;
  }

  async list(
    principal: Principal,
    filter: { state?: string; kind?: string },
  ): Promise<{ items: ReviewView[] }> {
    await this.expireOverdue();
    const rows = await this.store.prisma.review.findMany({
      where: {
        ...(filter.state ? { state: filter.state } : {}),
        ...(filter.kind ? { kind: filter.kind } : {}),
      },
      include: { decisions: { orderBy: { createdAt: 'asc' } } },
      orderBy: { createdAt: 'desc' },
      take: 500,
    });
    const othersNamingMe = rows.filter((r) => r.requester !== principal.subject && mayReview(principal, r));
    // Named by the rule is not enough to see another's request: `review` on its connection is too.
    const reviewable = await this.reviewableConnections(
      principal,
      othersNamingMe.map((r) => r.connectionName),
    );
    const visible = rows.filter(
      (r) =>
        r.requester === principal.subject || (mayReview(principal, r) && reviewable.has(r.connectionName)),
    );
    const names = await subjectNames(
      this.store.prisma,
      visible.map((r) => r.requester),
    );
    return { items: visible.map((r) => named(toView(r), names)) };
  }

  async get(principal: Principal, id: string): Promise<ReviewView> {
    await this.expireOverdue();
    const row = await this.find(id);
    if (
      row.requester !== principal.subject &&
      (!mayReview(principal, row) ||
        !(await this.reviewableConnections(principal, [row.connectionName])).has(row.connectionName))
    )
      throw new NotFoundError('review', id);
    return named(toView(row), await subjectNames(this.store.prisma, [row.requester]));
  }

  async decide(
    principal: Principal,
    id: string,
    decision: 'approve' | 'reject',
    comment?: string,
  ): Promise<ReviewView> {
    await this.expireOverdue();
    const row = await this.find(id);
    const me = subjectContext(principal);
    // A refused decision changes nothing, and the log shows who tried.
    const refuse = async (reason: string): Promise<never> => {
      await this.audit
        .record({
          subject: principal.subject,
          actorChain: principal.actorChain,
          action: `review:${decision}`,
          target: `review:${id}`,
          decision: 'deny',
          reason,
          payload: { reviewId: id, kind: row.kind, requester: row.requester },
        })
        .catch(() => undefined);
      throw new ForbiddenError(reason);
    };
    // The rule names who reviews; the token must also carry the `review` scope (a token narrowed to
    // other verbs cannot approve).
    if (!scopesPermit(principal.scopes, 'review')) {
      await refuse(
        `review denied: the token's scope (${principal.scopes.join(' ') || 'none'}) does not include review`,
      );
    }
    const allowed = canReview(requirementOf(row), me, row.requester, actorsOf(row));
    if (!allowed.allowed) await refuse(allowed.reason);
    // One person, two accounts (an OIDC and a SAML login are two users): the same e-mail, which
    // the policy names them by, is the requester reviewing their own request under another account;
    // so is an account of a person who acted in the request's actor chain (their automation asked).
    if (me.email) {
      for (const [who, how] of [
        [row.requester, 'asked for it'],
        ...actorsOf(row).map((actor) => [actor, 'acted in its actor chain'] as const),
      ] as const) {
        const email = await this.emailOf(who);
        if (email && me.email.toLowerCase() === email.toLowerCase()) {
          await refuse(
            `nobody may review their own request: ${who} ${how}, and ${principal.subject} is the same person (${email})`,
          );
        }
      }
    }
    // Nor does one person count twice toward min_approvals: an approval by another account with the
    // same e-mail is theirs already (a two-person rule met by one person's OIDC and SAML accounts).
    if (me.email) {
      for (const earlier of row.decisions) {
        if (earlier.reviewer === principal.subject) continue;
        const email = await this.emailOf(earlier.reviewer);
        if (email && email.toLowerCase() === me.email.toLowerCase()) {
          await refuse(
            `${earlier.reviewer} has already decided review "${id}", and ${principal.subject} is the same person (${email}): one person counts once`,
          );
        }
      }
    }
    // Being named by the rule is not enough: a role must grant the reviewer `review` on the
    // review's connection, as for every other verb.
    const verb = await this.reviewVerbOn(principal, row.connectionName);
    if (!verb.allowed) await refuse(verb.reason);
    if (row.state !== 'pending') throw new ConflictError(`review "${id}" is already ${row.state}`);
    const already = `${principal.subject} has already decided review "${id}"`;
    if (row.decisions.some((d) => d.reviewer === principal.subject)) throw new ConflictError(already);
    const mine = { reviewer: principal.subject, decision };
    // An approval counts while its reviewer stands: one disabled or deleted since (an account found
    // compromised) no longer approves anything, as its tokens no longer do. Rejections stay.
    const gone = await this.notStanding(row.decisions.map((d) => d.reviewer));
    const counted = <D extends { reviewer: string; decision: string }>(decisions: readonly D[]) =>
      decisions.filter((d) => d.decision !== 'approve' || !gone.has(d.reviewer));
    const expected = stateAfter(row, counted([...row.decisions, mine]));
    // The decision is durable in the audit log before it takes effect: one the log cannot record
    // changes nothing (fail closed), so no approval lets a command or a grant through unrecorded.
    await this.audit.record({
      subject: principal.subject,
      actorChain: principal.actorChain,
      action: `review:${decision}`,
      target: `review:${id}`,
      decision: 'allow',
      reason: comment ?? `${decision} ${row.kind} review by ${row.requester} on ${row.connectionName}`,
      payload: { reviewId: id, kind: row.kind, requester: row.requester, state: expected },
    });
    const updated = await this.store.prisma.$transaction(async (tx) => {
      const existing = await tx.reviewDecision.findUnique({
        where: { reviewId_reviewer: { reviewId: id, reviewer: principal.subject } },
      });
      if (existing) throw new ConflictError(already);
      await tx.reviewDecision.create({
        data: { reviewId: id, reviewer: principal.subject, decision, comment: comment ?? null },
      });
      const state = stateAfter(row, counted(await tx.reviewDecision.findMany({ where: { reviewId: id } })));
      // Another reviewer decided meanwhile: what was recorded is not what would happen.
      if (state !== expected)
        throw new ConflictError(`review "${id}" was decided by another reviewer meanwhile; look again`);
      if (state === 'pending')
        return tx.review.findUniqueOrThrow({ where: { id }, include: { decisions: true } });
      const now = new Date();
      // Only a still-pending, unexpired review moves (a concurrent decision or expiry wins otherwise).
      const moved = await tx.review.updateMany({
        where: { id, state: 'pending', expiresAt: { gt: now } },
        data: {
          state,
          decidedAt: now,
          ...(state === 'approved' && row.kind === 'access' && row.durationSeconds
            ? { grantExpiresAt: new Date(now.getTime() + row.durationSeconds * 1000) }
            : {}),
        },
      });
      if (moved.count === 0) throw new ConflictError(`review "${id}" is no longer pending`);
      return tx.review.findUniqueOrThrow({ where: { id }, include: { decisions: true } });
    });
    const view = toView(updated);
    if (updated.state !== 'pending') {
      this.settle(id, updated.state as ReviewOutcome);
      this.notifier.decided(view, principal.subject);
    }
    return view;
  }

  /**
   * Resolves when the review is decided or expires (at its expiresAt). Decisions made on this
   * replica resolve at once; the store is polled for decisions made elsewhere.
   */
  async waitForOutcome(id: string, signal?: AbortSignal): Promise<ReviewOutcome> {
    const row = await this.find(id);
    if (row.state !== 'pending') return row.state as ReviewOutcome;
    return new Promise<ReviewOutcome>((resolve) => {
      const listeners = this.waiters.get(id) ?? new Set();
      this.waiters.set(id, listeners);
      const finish = (outcome: ReviewOutcome) => {
        clearTimeout(timer);
        clearInterval(poll);
        listeners.delete(finish);
        if (listeners.size === 0) this.waiters.delete(id);
        resolve(outcome);
      };
      listeners.add(finish);
      const timer = setTimeout(
        () =>
          void this.expire(id).then(
            (outcome) => finish(outcome),
            () => finish('expired'),
          ),
        Math.max(0, row.expiresAt.getTime() - Date.now()),
      );
      const poll = setInterval(() => {
        void this.store.prisma.review
          .findUnique({ where: { id }, select: { state: true } })
          .then((r) => {
            if (r && r.state !== 'pending') finish(r.state as ReviewOutcome);
          })
          .catch(() => undefined);
      }, 1000);
      signal?.addEventListener('abort', () => finish('expired'), { once: true });
    });
  }

  /** The subject's approved, unexpired access grants (evaluateAccess honours them). */
  async grantsFor(subject: string): Promise<AccessGrant[]> {
    const grants = await this.grants.get(subject, async () => {
      const rows = await this.store.prisma.review.findMany({
        where: { kind: 'access', state: 'approved', requester: subject, grantExpiresAt: { gt: new Date() } },
      });
      return rows.map((r) => ({
        id: r.id,
        subject: r.requester,
        connection: r.connectionName,
        verbs: [r.verb as Verb],
        expiresAt: r.grantExpiresAt!,
        readOnly: r.readOnly,
      }));
    });
    // Kept grants run out by themselves.
    const now = Date.now();
    return (grants ?? []).filter((grant) => grant.expiresAt.getTime() > now);
  }

  /**
   * A held command's session ended before anyone decided (the client quit, the session was killed):
   * the review can no longer run anything, so it stops being pending now instead of at its timeout,
   * and nobody approves a command that will never run. Recorded as `review:withdrawn`.
   */
  async withdraw(id: string, why: string): Promise<void> {
    const moved = await this.store.prisma.review.updateMany({
      where: { id, state: 'pending' },
      data: { state: 'expired', decidedAt: new Date() },
    });
    if (moved.count === 0) return;
    const row = await this.find(id);
    await this.audit
      .record({
        subject: 'system',
        action: 'review:withdrawn',
        target: `review:${id}`,
        decision: 'deny',
        reason: `${row.kind} review by ${row.requester} on ${row.connectionName} withdrawn: ${why}`,
        payload: { reviewId: id, kind: row.kind },
      })
      .catch(() => undefined);
    this.settle(id, 'expired');
  }

  /**
   * Records a new review's request; a request the audit log cannot record is closed at once (state
   * expired), so nobody can approve what the log does not show was asked.
   */
  private async recordRequest(id: string, record: Parameters<AuditWriter['record']>[0]): Promise<void> {
    try {
      await this.audit.record(record);
    } catch (error) {
      await this.store.prisma.review
        .updateMany({ where: { id, state: 'pending' }, data: { state: 'expired', decidedAt: new Date() } })
        .catch(() => undefined);
      throw error;
    }
  }

  /** Whether a role of the active policy grants the caller `review` on the connection. */
  /** Of these connections, those a role grants the caller `review` on (one read, one policy). */
  private async reviewableConnections(principal: Principal, names: readonly string[]): Promise<Set<string>> {
    const wanted = [...new Set(names)];
    if (wanted.length === 0) return new Set();
    const connections = await this.store.prisma.connection.findMany({ where: { name: { in: wanted } } });
    const { policy } = await this.policies.current();
    const me = subjectContext(principal);
    return new Set(
      connections
        .filter(
          (connection) =>
            evaluateAccess(policy, me, 'review', {
              name: connection.name,
              protocol: connection.protocol,
              tags: connection.tags as Record<string, string>,
            }).allowed,
        )
        .map((connection) => connection.name),
    );
  }

  /** A person's e-mail as the store has it (undefined for service accounts and unknown users). */
  /** Which of these subjects are disabled, deleted, or of no kind the store knows. */
  private async notStanding(subjects: readonly string[]): Promise<Set<string>> {
    const all = [...new Set(subjects)];
    const uuid = /^[0-9a-f-]{36}$/i;
    const userIds = all.flatMap((s) => (s.startsWith('user:') && uuid.test(s.slice(5)) ? [s.slice(5)] : []));
    const names = all.flatMap((s) => (s.startsWith('sa:') ? [s.slice(3)] : []));
    const [users, accounts] = await Promise.all([
      userIds.length > 0
        ? this.store.prisma.user.findMany({
            where: { id: { in: userIds }, disabled: false },
            select: { id: true },
          })
        : [],
      names.length > 0
        ? this.store.prisma.serviceAccount.findMany({
            where: { name: { in: names }, disabled: false },
            select: { name: true },
          })
        : [],
    ]);
    const standing = new Set([...users.map((u) => `user:${u.id}`), ...accounts.map((a) => `sa:${a.name}`)]);
    return new Set(all.filter((s) => !standing.has(s)));
  }

  private async emailOf(subject: string): Promise<string | undefined> {
    const id = subject.startsWith('user:') ? subject.slice('user:'.length) : undefined;
    if (!id || !/^[0-9a-f-]{36}$/i.test(id)) return undefined;
    const user = await this.store.prisma.user.findUnique({ where: { id }, select: { email: true } });
    return user?.email ?? undefined;
  }

  private async reviewVerbOn(
    principal: Principal,
    connectionName: string,
  ): Promise<{ readonly allowed: boolean; readonly reason: string }> {
    const connection = await this.store.prisma.connection.findUnique({ where: { name: connectionName } });
    if (!connection)
      return { allowed: false, reason: `review denied: connection "${connectionName}" no longer exists` };
    const { policy } = await this.policies.current();
    const decision = evaluateAccess(policy, subjectContext(principal), 'review', {
      name: connection.name,
      protocol: connection.protocol,
      tags: connection.tags as Record<string, string>,
    });
    return decision.allowed ? decision : { allowed: false, reason: `review denied: ${decision.reason}` };
  }

  private async expire(id: string): Promise<ReviewOutcome> {
    const moved = await this.store.prisma.review.updateMany({
      where: { id, state: 'pending' },
      data: { state: 'expired', decidedAt: new Date() },
    });
    const row = await this.find(id);
    if (moved.count > 0) {
      await this.audit
        .record({
          subject: 'system',
          action: 'review:timeout',
          target: `review:${id}`,
          decision: 'deny',
          reason: `${row.kind} review by ${row.requester} on ${row.connectionName} timed out`,
          payload: { reviewId: id, kind: row.kind },
        })
        .catch(() => undefined);
      this.settle(id, 'expired');
    }
    return row.state as ReviewOutcome;
  }

  private async expireOverdue(): Promise<void> {
    const overdue = await this.store.prisma.review.findMany({
      where: { state: 'pending', expiresAt: { lte: new Date() } },
      select: { id: true },
    });
    for (const { id } of overdue) await this.expire(id);
  }

  private settle(id: string, outcome: ReviewOutcome): void {
    for (const listener of [...(this.waiters.get(id) ?? [])]) listener(outcome);
  }

  private async find(id: string): Promise<Review & { decisions: ReviewDecision[] }> {
    const row = await this.store.prisma.review.findUnique({
      where: { id },
      include: { decisions: { orderBy: { createdAt: 'asc' } } },
    });
    if (!row) throw new NotFoundError('review', id);
    return row;
  }
}

/** Why a command is not held for review: reviewers would not see all of it. */
export function commandTooLong(length: number): string {
  return `the command is too long to be reviewed (${length} characters; a review shows at most ${REVIEWABLE_COMMAND_CHARS}), so it is refused`;
}

/** The state a review is in after these decisions: one rejection rejects, enough approvals approve. */
function stateAfter(
  row: Review,
  decisions: readonly { readonly reviewer: string; readonly decision: string }[],
): 'pending' | 'approved' | 'rejected' {
  if (decisions.some((d) => d.decision === 'reject')) return 'rejected';
  const approvals = decisions
    .filter((d) => d.decision === 'approve')
    .map((d) => ({ subject: d.reviewer, groups: [], actorChain: [] }));
  // Approvers were checked when they decided; count them by subject only.
  return approvalsSatisfied(
    { approvers: ['*'], minApprovals: row.minApprovals },
    approvals,
    row.requester,
    actorsOf(row),
  )
    ? 'approved'
    : 'pending';
}

/** Who acted in the request's actor chain (they may not review it). */
/**
 * Whether the caller may see (and so decide) a review it did not ask for: named by the rule's
 * reviewers AND holding a token whose scopes include `review`. A credential narrowed to other verbs
 * (a `connect:pg-a` key in a BI tool, an `audit:read` key) sees only its own requests, as it cannot
 * approve.
 */
function mayReview(principal: Principal, row: Review): boolean {
  return (
    scopesPermit(principal.scopes, 'review') &&
    canReview(requirementOf(row), subjectContext(principal), row.requester, actorsOf(row)).allowed
  );
}

function actorsOf(row: Review): string[] {
  const actors = Array.isArray(row.requesterActors) ? row.requesterActors : [];
  return actors.flatMap((a) =>
    a !== null && typeof a === 'object' && typeof (a as { subject?: unknown }).subject === 'string'
      ? [(a as { subject: string }).subject]
      : [],
  );
}

function requirementOf(row: Review): ReviewRequirement {
  return { approvers: row.approvers as string[], minApprovals: row.minApprovals };
}

function named(view: ReviewView, names: ReadonlyMap<string, string>): ReviewView {
  const name = names.get(view.requester);
  return name ? { ...view, requesterName: name } : view;
}

function toView(row: Review & { decisions: ReviewDecision[] }): ReviewView {
  return {
    id: row.id,
    kind: row.kind as ReviewView['kind'],
    state: row.state,
    requester: row.requester,
    connection: row.connectionName,
    verb: row.verb,
    durationSeconds: row.durationSeconds,
    reason: row.reason,
    sessionId: row.sessionId,
    command: row.command,
    rule: row.rule,
    approvers: row.approvers as string[],
    minApprovals: row.minApprovals,
    policyVersion: row.policyVersion,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
    decidedAt: row.decidedAt?.toISOString() ?? null,
    grantExpiresAt: row.grantExpiresAt?.toISOString() ?? null,
    decisions: row.decisions.map((d) => ({
      reviewer: d.reviewer,
      decision: d.decision,
      comment: d.comment,
      at: d.createdAt.toISOString(),
    })),
  };
}
