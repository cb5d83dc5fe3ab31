import { Injectable } from '@nestjs/common';
import { AuditWriter } from '../../audit/audit-writer';
import { OAuthError } from '../http/oauth.error';
import { LoginTransactionsService, s256 } from '../oidc/login-transactions';
import { UserTokensService } from '../oidc/user-tokens.service';
import type { TokenResponse } from './token-response';

/**
 * `grant_type=authorization_code` for the gateway's own codes (handed to `tollgate login`'s
 * loopback redirect after the IdP login): PKCE S256 is required, the code is single use.
 */
@Injectable()
export class AuthorizationCodeGrantUseCase {
  constructor(
    private readonly logins: LoginTransactionsService,
    private readonly tokens: UserTokensService,
    private readonly audit: AuditWriter,
  ) {}

  async execute(input: { code: string; codeVerifier: string; redirectUri: string }): Promise<TokenResponse> {
    const pending = await this.logins.redeemCode(input.code);
    if (!pending) throw new OAuthError('invalid_grant', 'the authorization code is unknown, used or expired');
    const subject = `user:${pending.userId}`;
    if (pending.redirectUri !== input.redirectUri || s256(input.codeVerifier) !== pending.codeChallenge) {
      const reason = 'redirect_uri or PKCE code_verifier does not match the authorization request';
      await this.audit.record({ subject, action: 'login', decision: 'deny', reason }).catch(() => undefined);
      throw new OAuthError('invalid_grant', reason, { recorded: true });
    }
    const issued = await this.tokens.issue({
      userId: pending.userId,
      upstreamRefreshToken: pending.upstreamRefreshToken,
    });
    if ('reason' in issued) {
      await this.audit
        .record({ subject, action: 'login', decision: 'deny', reason: issued.reason })
        .catch(() => undefined);
      throw new OAuthError('invalid_grant', issued.reason, { recorded: true });
    }
    await this.audit.record({
      subject,
      action: 'login',
      target: `token:${issued.jti}`,
      decision: 'allow',
      reason: pending.method === 'saml' ? 'SAML login' : 'OIDC login',
    });
    return issued.response;
  }
}
