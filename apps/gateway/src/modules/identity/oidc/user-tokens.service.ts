import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { StoreService } from '../../store/store.service';
import { IdentityOptionsToken, type IdentityOptions } from '../identity-options';
import { newSecret, secretHash } from '../secrets';
import { SubjectDirectoryService } from '../subjects/subject-directory.service';
import { ALL_SCOPES } from '../tokens/scopes';
import { TokenIssuerService } from '../tokens/token-issuer.service';
import { tokenResponse, type TokenResponse } from '../usecases/token-response';

export const REFRESH_TOKEN_MARK = 'tgr_';

/** Issues a person's access token and a refresh token (a new family at login, the same on rotation). */
@Injectable()
export class UserTokensService {
  constructor(
    private readonly store: StoreService,
    private readonly issuer: TokenIssuerService,
    private readonly subjects: SubjectDirectoryService,
    @Inject(IdentityOptionsToken) private readonly options: IdentityOptions,
  ) {}

  async issue(input: {
    userId: string;
    familyId?: string;
    upstreamRefreshToken?: string | null;
  }): Promise<{ response: TokenResponse; subject: string; jti: string } | { reason: string }> {
    const subject = `user:${input.userId}`;
    const state = await this.subjects.current(subject);
    if (!state.ok) return { reason: state.reason };
    const issued = await this.issuer.issue({
      subject,
      displayName: state.displayName,
      groups: state.groups,
      scopes: ALL_SCOPES,
    });
    const refreshToken = `${REFRESH_TOKEN_MARK}${newSecret()}`;
    await this.store.prisma.refreshToken.create({
      data: {
        familyId: input.familyId ?? randomUUID(),
        hash: secretHash(refreshToken),
        subject,
        userId: input.userId,
        scopes: [...ALL_SCOPES],
        upstreamRefreshToken: input.upstreamRefreshToken ?? null,
        expiresAt: new Date(Date.now() + this.options.refreshTokenTtlSeconds * 1000),
      },
    });
    return { response: tokenResponse(issued, { refresh_token: refreshToken }), subject, jti: issued.jti };
  }

  async revokeFamily(familyId: string): Promise<void> {
    await this.store.prisma.refreshToken.updateMany({
      where: { familyId, revokedAt: null },
      data: { revokedAt: new Date() },
    });
  }
}
