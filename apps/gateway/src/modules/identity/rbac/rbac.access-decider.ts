import { Injectable, Logger } from '@nestjs/common';
import { evaluateAccess } from '@tollgate/policy';
import { AuditWriter } from '../../audit/audit-writer';
import { ReviewsService } from '../../reviews/reviews.service';
import { subjectContext } from '../../reviews/subject-context';
import {
  AccessDecider,
  type AccessDecision,
  type AccessRequest,
  type AssessedAccess,
} from '../access-decider';
import { scopesPermit } from '../tokens/scopes';
import { ActivePolicyService } from './active-policy.service';

/**
 * RBAC decisions: the token's scopes must permit the verb AND a role of the active policy must
 * grant it. Each decision is recorded in the audit log before it is returned; a decision that
 * cannot be recorded becomes a denial (fail closed).
 */
@Injectable()
export class RbacAccessDecider extends AccessDecider {
  private readonly logger = new Logger('rbac');

  constructor(
    private readonly policies: ActivePolicyService,
    private readonly audit: AuditWriter,
    private readonly reviews: ReviewsService,
  ) {
    super();
  }

  override async decide(request: AccessRequest): Promise<AccessDecision> {
    const { decision, record } = await this.assess(request);
    if (!decision.allowed && request.recordDenial === false) return decision;
    try {
      await this.audit.record(record);
    } catch (error) {
      this.logger.error({ err: error }, 'authorization decision could not be audited; denying');
      return {
        allowed: false,
        reason: 'the decision could not be recorded in the audit log, so it is denied',
        policyVersion: decision.policyVersion,
      };
    }
    return decision;
  }

  override async assess(request: AccessRequest): Promise<AssessedAccess> {
    const { principal, verb, connection } = request;
    const active = await this.policies.current();
    let allowed: boolean;
    let reason: string;
    let session: AccessDecision['session'];
    if (!scopesPermit(principal.scopes, verb, connection?.name)) {
      allowed = false;
      reason = `the token's scope (${principal.scopes.join(' ') || 'none'}) does not include ${verb}${
        connection ? ` on connection "${connection.name}"` : ''
      }`;
    } else {
      ({ allowed, reason, session } = evaluateAccess(
        active.policy,
        subjectContext(principal),
        verb,
        connection,
        // Approved just-in-time access requests (reviews) that have not expired.
        connection && (verb === 'connect' || verb === 'exec')
          ? { grants: await this.reviews.grantsFor(principal.subject).catch(() => []) }
          : {},
      ));
      if (!allowed)
        reason += principal.groups.length ? ` (groups: ${principal.groups.join(', ')})` : ' (no groups)';
    }
    return {
      decision: {
        allowed,
        reason,
        policyVersion: active.version,
        ...(allowed && session ? { session } : {}),
      },
      record: {
        subject: principal.subject,
        actorChain: principal.actorChain,
        action: `authorize:${verb}`,
        target: request.target ?? (connection ? `connection:${connection.name}` : request.resource),
        decision: allowed ? 'allow' : 'deny',
        reason,
        payload: {
          displayName: principal.displayName,
          groups: [...principal.groups],
          tokenId: principal.tokenId,
          policyVersion: active.version,
          policySource: active.source,
          ...(connection ? { protocol: connection.protocol } : {}),
          ...(request.source ? { source: request.source } : {}),
        },
      },
    };
  }
}
