import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { StoreService } from '../../store/store.service';
import { IdentityOptionsToken, type IdentityOptions } from '../identity-options';
import { SecretBox } from '../keys/secret-box';
import { newSecret, secretHash } from '../secrets';
import { SubjectDirectoryService } from '../subjects/subject-directory.service';
import { ALL_SCOPES } from '../tokens/scopes';
import { TokenIssuerService } from '../tokens/token-issuer.service';
import { TokenRevocationService } from '../tokens/token-revocation.service';
import { tokenResponse, type TokenResponse } from '../usecases/token-response';

export const REFRESH_TOKEN_MARK = 'tgr_';

/** Issues a person's access token and a refresh token (a new family at login, the same on rotation). */
@Injectable()
export class UserTokensService {
  constructor(
    private readonly store: StoreService,
    private readonly issuer: TokenIssuerService,
    private readonly subjects: SubjectDirectoryService,
    private readonly revocation: TokenRevocationService,
    @Inject(IdentityOptionsToken) private readonly options: IdentityOptions,
    private readonly box: SecretBox,
  ) {}

  /** The IdP refresh token kept with a login's refresh token, opened (see SecretBox). */
  upstreamRefreshToken(familyId: string, stored: string | null): string | null {
    return stored === null ? null : this.box.open(stored, `idp-refresh-token:${familyId}`);
  }

  async issue(input: {
    userId: string;
    familyId?: string;
    upstreamRefreshToken?: string | null;
  }): Promise<{ response: TokenResponse; subject: string; jti: string } | { reason: string }> {
    const subject = `user:${input.userId}`;
    const state = await this.subjects.current(subject);
    if (!state.ok) return { reason: state.reason };
    const familyId = input.familyId ?? randomUUID();
    const issued = await this.issuer.issue({
      subject,
      displayName: state.displayName,
      groups: state.groups,
      scopes: ALL_SCOPES,
      refreshFamilyId: familyId,
    });
    const refreshToken = `${REFRESH_TOKEN_MARK}${newSecret()}`;
    await this.store.prisma.refreshToken.create({
      data: {
        familyId,
        hash: secretHash(refreshToken),
        subject,
        userId: input.userId,
        scopes: [...ALL_SCOPES],
        upstreamRefreshToken: input.upstreamRefreshToken
          ? this.box.seal(input.upstreamRefreshToken, `idp-refresh-token:${familyId}`)
          : null,
        expiresAt: new Date(Date.now() + this.options.refreshTokenTtlSeconds * 1000),
      },
    });
    return { response: tokenResponse(issued, { refresh_token: refreshToken }), subject, jti: issued.jti };
  }

  /** Ends a login: its refresh tokens and every access token issued in it (and their descendants). */
  async revokeFamily(familyId: string): Promise<void> {
    await this.store.prisma.refreshToken.updateMany({
      where: { familyId, revokedAt: null },
      data: { revokedAt: new Date() },
    });
    await this.revocation.revokeLogin(familyId);
  }

  /** The login a refresh token belongs to, by the token itself (for RFC 7009 revocation). */
  async findFamily(refreshToken: string): Promise<{ familyId: string; subject: string } | undefined> {
    const row = await this.store.prisma.refreshToken.findUnique({
      where: { hash: secretHash(refreshToken) },
      select: { familyId: true, subject: true },
    });
    return row ?? undefined;
  }
}
