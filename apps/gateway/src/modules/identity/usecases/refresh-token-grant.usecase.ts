import { Injectable, Logger } from '@nestjs/common';
import * as client from 'openid-client';
import { AuditWriter } from '../../audit/audit-writer';
import { StoreService } from '../../store/store.service';
import { OAuthError } from '../http/oauth.error';
import { OidcRelyingPartyService } from '../oidc/oidc-relying-party.service';
import { SyncUserUseCase } from '../subjects/sync-user.usecase';
import { identityFromTokens } from '../oidc/upstream-identity';
import { UserTokensService } from '../oidc/user-tokens.service';
import { secretHash } from '../secrets';
import type { TokenResponse } from './token-response';

/**
 * `grant_type=refresh_token`: rotation with reuse detection. A refresh token works once; presenting
 * it again revokes its whole family. Each refresh re-reads the user at the IdP (groups, and whether
 * the IdP still accepts them) and in Tollgate (disabled, deleted), so removed access ends here.
 */
@Injectable()
export class RefreshTokenGrantUseCase {
  private readonly logger = new Logger('refresh');

  constructor(
    private readonly store: StoreService,
    private readonly tokens: UserTokensService,
    private readonly rp: OidcRelyingPartyService,
    private readonly syncUser: SyncUserUseCase,
    private readonly audit: AuditWriter,
  ) {}

  async execute(refreshToken: string): Promise<TokenResponse> {
    const row = await this.store.prisma.refreshToken.findUnique({
      where: { hash: secretHash(refreshToken) },
    });
    if (!row) throw new OAuthError('invalid_grant', 'unknown refresh token');
    if (row.revokedAt) return this.refuse(row.subject, row.familyId, 'the refresh token has been revoked');
    if (row.usedAt) {
      await this.tokens.revokeFamily(row.familyId);
      return this.refuse(
        row.subject,
        row.familyId,
        'reuse of a rotated refresh token: every refresh token of this login is now revoked',
      );
    }
    if (row.expiresAt.getTime() <= Date.now())
      return this.refuse(row.subject, row.familyId, 'the refresh token has expired');
    const { count } = await this.store.prisma.refreshToken.updateMany({
      where: { id: row.id, usedAt: null },
      data: { usedAt: new Date() },
    });
    if (count !== 1) {
      await this.tokens.revokeFamily(row.familyId);
      return this.refuse(
        row.subject,
        row.familyId,
        'reuse of a rotated refresh token: every refresh token of this login is now revoked',
      );
    }
    if (!row.userId) return this.refuse(row.subject, row.familyId, 'the refresh token has no user');

    let upstreamRefreshToken = this.tokens.upstreamRefreshToken(row.familyId, row.upstreamRefreshToken);
    if (upstreamRefreshToken && this.rp.enabled) {
      try {
        const config = await this.rp.configuration();
        const upstream = await client.refreshTokenGrant(config, upstreamRefreshToken);
        const user = await this.store.prisma.user.findUnique({ where: { id: row.userId } });
        const identity = await identityFromTokens(this.rp, upstream, user?.subject);
        const synced = await this.syncUser.execute(identity);
        if (!synced.ok) {
          await this.tokens.revokeFamily(row.familyId);
          return this.refuse(row.subject, row.familyId, synced.reason);
        }
        upstreamRefreshToken = upstream.refresh_token ?? upstreamRefreshToken;
      } catch (error) {
        if (error instanceof OAuthError) throw error;
        this.logger.warn({ err: error }, 'the identity provider refused the refresh');
        await this.tokens.revokeFamily(row.familyId);
        return this.refuse(
          row.subject,
          row.familyId,
          'the identity provider no longer accepts this login; log in again',
        );
      }
    }

    const issued = await this.tokens.issue({
      userId: row.userId,
      familyId: row.familyId,
      upstreamRefreshToken,
    });
    if ('reason' in issued) {
      await this.tokens.revokeFamily(row.familyId);
      return this.refuse(row.subject, row.familyId, issued.reason);
    }
    await this.audit.record({
      subject: issued.subject,
      action: 'token:refresh',
      target: `token:${issued.jti}`,
      decision: 'allow',
      reason: 'refresh token rotated',
      payload: { family: row.familyId },
    });
    return issued.response;
  }

  private async refuse(subject: string, familyId: string, reason: string): Promise<never> {
    await this.audit
      .record({ subject, action: 'token:refresh', decision: 'deny', reason, payload: { family: familyId } })
      .catch(() => undefined);
    throw new OAuthError('invalid_grant', reason, { recorded: true });
  }
}
