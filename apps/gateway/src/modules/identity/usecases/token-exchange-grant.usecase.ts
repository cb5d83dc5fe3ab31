import { Inject, Injectable } from '@nestjs/common';
import { maxDelegationDepth } from '@tollgate/policy';
import { UnauthenticatedError } from '../../../common/errors';
import { StoreService } from '../../store/store.service';
import { AuditWriter } from '../../audit/audit-writer';
import { AccessTokenVerifier } from '../access-token-verifier';
import { OAuthError } from '../http/oauth.error';
import { IdentityOptionsToken, type IdentityOptions } from '../identity-options';
import type { Actor, Principal } from '../principal';
import { ActivePolicyService } from '../rbac/active-policy.service';
import { parseScopeParameter, uncoveredScopes } from '../tokens/scopes';
import { TokenIssuerService } from '../tokens/token-issuer.service';
import { ACCESS_TOKEN_TYPE_URN, tokenResponse, type TokenResponse } from './token-response';

export interface TokenExchangeInput {
  readonly subjectToken: string;
  readonly subjectTokenType: string;
  readonly scope?: string;
  /** Requested lifetime in seconds (a Tollgate extension); never beyond the subject token's expiry. */
  readonly expiresIn?: number;
  readonly actorToken?: string;
  readonly actorTokenType?: string;
  /** RFC 8693 `audience`, `resource` and `requested_token_type`: refused unless they name what is issued anyway. */
  readonly audience?: string;
  readonly resource?: string;
  readonly requestedTokenType?: string;
}

const TOKEN_TYPES = [ACCESS_TOKEN_TYPE_URN, 'urn:ietf:params:oauth:token-type:jwt'];

/**
 * RFC 8693 token exchange for nested automation: the holder of a token obtains a child token whose
 * scope is a subset of its own, whose expiry is no later, and whose delegation depth stays within
 * the policy's `delegation.max_depth`. The child names the chain in nested `act` claims: the new
 * actor (the actor token's subject, or else the holder) outermost. The child's grant records both
 * tokens it was derived from (subject and actor): revoking either revokes the child, transitively.
 */
@Injectable()
export class TokenExchangeGrantUseCase {
  constructor(
    private readonly verifier: AccessTokenVerifier,
    private readonly issuer: TokenIssuerService,
    private readonly policies: ActivePolicyService,
    private readonly store: StoreService,
    private readonly audit: AuditWriter,
    @Inject(IdentityOptionsToken) private readonly options: IdentityOptions,
  ) {}

  async execute(input: TokenExchangeInput): Promise<TokenResponse> {
    if (!TOKEN_TYPES.includes(input.subjectTokenType)) {
      throw new OAuthError('invalid_request', `subject_token_type must be ${ACCESS_TOKEN_TYPE_URN}`);
    }
    const parent = await this.verified(input.subjectToken, 'subject_token');
    const grant = await this.store.prisma.tokenGrant.findUnique({ where: { jti: parent.tokenId } });
    if (!grant) {
      return this.refuse(parent, [], 'invalid_request', 'subject_token must be a gateway access token');
    }

    // The child is an access token for this gateway, nothing else: a caller asking for another kind
    // of token, or for one another service would accept, is refused rather than handed a token that
    // is not what it asked for (and that it may pass on believing it restricted to that target).
    if (input.requestedTokenType !== undefined && !TOKEN_TYPES.includes(input.requestedTokenType)) {
      return this.refuse(
        parent,
        parent.actorChain,
        'invalid_request',
        `requested_token_type ${input.requestedTokenType} is not issued: token exchange issues access tokens for this gateway only (${ACCESS_TOKEN_TYPE_URN})`,
      );
    }
    for (const [name, value] of [
      ['audience', input.audience],
      ['resource', input.resource],
    ] as const) {
      if (value === undefined || this.isThisGateway(value)) continue;
      return this.refuse(
        parent,
        parent.actorChain,
        'invalid_target',
        `${name} ${value} is not served: token exchange issues tokens for this gateway only (audience ${this.options.tokenAudience})`,
      );
    }

    let newActor: Actor = { subject: parent.actorChain[0]?.subject ?? parent.subject };
    let actorToken: Principal | undefined;
    if (input.actorToken !== undefined) {
      if (!TOKEN_TYPES.includes(input.actorTokenType ?? '')) {
        throw new OAuthError('invalid_request', `actor_token_type must be ${ACCESS_TOKEN_TYPE_URN}`);
      }
      const actor = await this.verified(input.actorToken, 'actor_token');
      if (actor.actorChain.length > 0) {
        // The actor token's own chain would be dropped: whoever holds a token delegated to them could
        // act under its subject's name and vanish from the record. The actor proves itself with its own.
        return this.refuse(
          parent,
          [{ subject: actor.subject }, ...actor.actorChain, ...parent.actorChain],
          'invalid_request',
          `actor_token must be the actor's own token, not a delegated one (it names actors ${actor.actorChain
            .map((a) => a.subject)
            .join(', ')})`,
        );
      }
      newActor = { subject: actor.subject };
      actorToken = actor;
    }
    const chain = [newActor, ...parent.actorChain];

    let scopes = [...parent.scopes];
    if (input.scope !== undefined) {
      const parsed = parseScopeParameter(input.scope);
      if (parsed.unknown.length > 0) {
        return this.refuse(parent, chain, 'invalid_scope', `unknown scope: ${parsed.unknown.join(' ')}`);
      }
      const wider = uncoveredScopes(parent.scopes, parsed.scopes);
      if (wider.length > 0) {
        return this.refuse(
          parent,
          chain,
          'invalid_scope',
          `requested scope widens the subject token's (${parent.scopes.join(' ')}): ${wider.join(' ')} not held`,
        );
      }
      scopes = parsed.scopes;
    }

    // A delegated token never outlives what it was derived from: the subject token, nor the actor's.
    let expiresAt = parent.expiresAt;
    if (actorToken && actorToken.expiresAt.getTime() < expiresAt.getTime()) expiresAt = actorToken.expiresAt;
    if (input.expiresIn !== undefined) {
      const requested = new Date(Date.now() + input.expiresIn * 1000);
      if (requested.getTime() > expiresAt.getTime()) {
        const whose = expiresAt === parent.expiresAt ? "subject token's" : "actor token's";
        return this.refuse(
          parent,
          chain,
          'invalid_request',
          `requested expiry ${requested.toISOString()} is later than the ${whose} ${expiresAt.toISOString()}`,
        );
      }
      expiresAt = requested;
    }

    const { policy } = await this.policies.current();
    const depth = grant.depth + 1;
    const maxDepth = maxDelegationDepth(policy);
    if (depth > maxDepth) {
      return this.refuse(
        parent,
        chain,
        'access_denied',
        `delegation depth ${depth} exceeds the policy's maximum (delegation.max_depth ${maxDepth})`,
      );
    }

    const issued = await this.issuer.issue({
      subject: parent.subject,
      displayName: parent.displayName,
      groups: parent.groups,
      scopes,
      actorChain: chain,
      parent: { jti: grant.jti, rootJti: grant.rootJti, depth: grant.depth },
      ...(actorToken ? { actorTokenId: actorToken.tokenId } : {}),
      expiresAt,
    });
    await this.audit.record({
      subject: parent.subject,
      actorChain: chain,
      action: 'token:exchange',
      target: `token:${issued.jti}`,
      decision: 'allow',
      reason: `delegated from token ${parent.tokenId} at depth ${depth}${
        actorToken ? ` with actor token ${actorToken.tokenId}` : ''
      }`,
      payload: {
        parentJti: parent.tokenId,
        ...(actorToken ? { actorTokenId: actorToken.tokenId } : {}),
        scopes,
        depth,
        expiresAt: issued.expiresAt.toISOString(),
      },
    });
    return tokenResponse(issued, { issued_token_type: ACCESS_TOKEN_TYPE_URN });
  }

  private isThisGateway(target: string): boolean {
    const self = [this.options.tokenAudience, this.options.publicUrl].filter(Boolean);
    return self.some((name) => target === name || target === `${name}/`);
  }

  private async verified(token: string, parameter: string): Promise<Principal> {
    try {
      return await this.verifier.verify(token);
    } catch (error) {
      if (!(error instanceof UnauthenticatedError)) throw error;
      // A revoked or expired token that is ours still names its holder and chain.
      const reason = `${parameter}: ${error.message}`;
      const who = error.attribution;
      await this.audit
        .record({
          subject: who?.subject ?? 'anonymous',
          ...(who?.actorChain.length ? { actorChain: who.actorChain } : {}),
          action: 'token:exchange',
          ...(who?.tokenId ? { target: `token:${who.tokenId}` } : {}),
          decision: 'deny',
          reason,
        })
        .catch(() => undefined);
      throw new OAuthError('invalid_grant', reason, { recorded: true });
    }
  }

  private async refuse(
    parent: Principal,
    chain: readonly Actor[],
    code: 'invalid_request' | 'invalid_scope' | 'invalid_target' | 'access_denied',
    reason: string,
  ): Promise<never> {
    await this.audit
      .record({
        subject: parent.subject,
        actorChain: chain,
        action: 'token:exchange',
        target: `token:${parent.tokenId}`,
        decision: 'deny',
        reason,
      })
      .catch(() => undefined);
    throw new OAuthError(code, reason, { recorded: true });
  }
}
