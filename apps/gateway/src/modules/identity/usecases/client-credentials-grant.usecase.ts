import { Injectable } from '@nestjs/common';
import { AuditWriter } from '../../audit/audit-writer';
import { OAuthError } from '../http/oauth.error';
import { ServiceAccountsService } from '../service-accounts/service-accounts.service';
import { ALL_SCOPES, parseScopeParameter } from '../tokens/scopes';
import { TokenIssuerService } from '../tokens/token-issuer.service';
import { tokenResponse, type TokenResponse } from './token-response';

/** `grant_type=client_credentials`: a service account obtains an access token. */
@Injectable()
export class ClientCredentialsGrantUseCase {
  constructor(
    private readonly accounts: ServiceAccountsService,
    private readonly issuer: TokenIssuerService,
    private readonly audit: AuditWriter,
  ) {}

  async execute(input: { clientId: string; clientSecret: string; scope?: string }): Promise<TokenResponse> {
    const check = await this.accounts.checkClient(input.clientId, input.clientSecret);
    if (!check.ok) {
      await this.deny(`client:${input.clientId}`, check.reason);
      throw new OAuthError('invalid_client', check.reason, { recorded: true });
    }
    const { account } = check;
    let scopes: readonly string[] = ALL_SCOPES;
    if (input.scope !== undefined) {
      const parsed = parseScopeParameter(input.scope);
      if (parsed.unknown.length > 0) {
        const reason = `unknown scope: ${parsed.unknown.join(' ')}`;
        await this.deny(account.subject, reason);
        throw new OAuthError('invalid_scope', reason, { recorded: true });
      }
      scopes = parsed.scopes;
    }
    const issued = await this.issuer.issue({
      subject: account.subject,
      displayName: account.name,
      groups: account.groups,
      scopes,
    });
    await this.audit.record({
      subject: account.subject,
      action: 'token:client_credentials',
      target: `token:${issued.jti}`,
      decision: 'allow',
      reason: 'client credentials verified',
      payload: { scopes: [...scopes], expiresAt: issued.expiresAt.toISOString() },
    });
    return tokenResponse(issued);
  }

  private async deny(subject: string, reason: string): Promise<void> {
    await this.audit
      .record({ subject, action: 'token:client_credentials', decision: 'deny', reason })
      .catch(() => undefined);
  }
}
