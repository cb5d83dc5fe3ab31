import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { SignJWT } from 'jose';
import { StoreService } from '../../store/store.service';
import { IdentityOptionsToken, type IdentityOptions } from '../identity-options';
import { SIGNING_ALG, SigningKeysService } from '../keys/signing-keys.service';
import type { Actor } from '../principal';
import { actClaimFromChain } from './act-claim';

export interface TokenSubject {
  readonly subject: string;
  readonly displayName: string;
  readonly groups: readonly string[];
}

export interface IssueTokenRequest extends TokenSubject {
  readonly scopes: readonly string[];
  /** Nearest actor first; empty for a token used by its own subject. */
  readonly actorChain?: readonly Actor[];
  /** For a delegated token: the token it was exchanged from. */
  readonly parent?: { readonly jti: string; readonly rootJti: string; readonly depth: number };
  /**
   * For a token obtained by exchange with an actor token: that token's id (a jti, or
   * `apikey:<prefix>`). Revoking it revokes this token.
   */
  readonly actorTokenId?: string;
  /** Defaults to now + the access token lifetime. */
  readonly expiresAt?: Date;
  /** The login (refresh token family) a person's token belongs to; revoking the login revokes it. */
  readonly refreshFamilyId?: string;
}

export interface IssuedToken {
  readonly accessToken: string;
  readonly jti: string;
  readonly expiresAt: Date;
  readonly scopes: readonly string[];
}

export const ACCESS_TOKEN_TYPE = 'at+jwt';

/**
 * Issues gateway access tokens (JWT, ES256). Every token is recorded as a TokenGrant before it is
 * handed out, so it can be revoked, and revoking it revokes the tokens derived from it (exchanged
 * from it, or obtained with it as the actor token).
 */
@Injectable()
export class TokenIssuerService {
  constructor(
    private readonly store: StoreService,
    private readonly keys: SigningKeysService,
    @Inject(IdentityOptionsToken) private readonly options: IdentityOptions,
  ) {}

  async issue(request: IssueTokenRequest): Promise<IssuedToken> {
    const jti = randomUUID();
    const now = new Date();
    const nowSeconds = Math.floor(now.getTime() / 1000);
    const expiresAt = request.expiresAt ?? new Date((nowSeconds + this.options.accessTokenTtlSeconds) * 1000);
    const expSeconds = Math.floor(expiresAt.getTime() / 1000);
    const actorChain = request.actorChain ?? [];
    const depth = request.parent ? request.parent.depth + 1 : 0;

    await this.store.prisma.tokenGrant.create({
      data: {
        jti,
        parentJti: request.parent?.jti ?? null,
        actorTokenId: request.actorTokenId ?? null,
        rootJti: request.parent?.rootJti ?? jti,
        depth,
        subject: request.subject,
        actorChain: actorChain.map((a) => ({ subject: a.subject })),
        scopes: [...request.scopes],
        refreshFamilyId: request.refreshFamilyId ?? null,
        issuedAt: now,
        expiresAt: new Date(expSeconds * 1000),
      },
    });

    const act = actClaimFromChain(actorChain);
    const { kid, key } = await this.keys.signingKey();
    const accessToken = await new SignJWT({
      name: request.displayName,
      groups: [...request.groups],
      scope: request.scopes.join(' '),
      depth,
      ...(act ? { act } : {}),
    })
      .setProtectedHeader({ alg: SIGNING_ALG, kid, typ: ACCESS_TOKEN_TYPE })
      .setIssuer(this.options.tokenIssuer)
      .setAudience(this.options.tokenAudience)
      .setSubject(request.subject)
      .setJti(jti)
      .setIssuedAt(nowSeconds)
      .setNotBefore(nowSeconds)
      .setExpirationTime(expSeconds)
      .sign(key);
    return { accessToken, jti, expiresAt: new Date(expSeconds * 1000), scopes: request.scopes };
  }
}
