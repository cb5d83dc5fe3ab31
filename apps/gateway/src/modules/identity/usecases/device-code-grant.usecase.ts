import { Injectable } from '@nestjs/common';
import * as client from 'openid-client';
import { AuditWriter } from '../../audit/audit-writer';
import { OAuthError, type OAuthErrorCode } from '../http/oauth.error';
import { DeviceLoginsService } from '../oidc/device-logins.service';
import { OidcRelyingPartyService } from '../oidc/oidc-relying-party.service';
import { SyncUserUseCase } from '../subjects/sync-user.usecase';
import { identityFromTokens } from '../oidc/upstream-identity';
import { UserTokensService } from '../oidc/user-tokens.service';
import type { TokenResponse } from './token-response';

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

export interface DeviceAuthorization {
  readonly device_code: string;
  readonly user_code: string;
  readonly verification_uri: string;
  readonly verification_uri_complete?: string;
  readonly expires_in: number;
  readonly interval: number;
}

const PASS_THROUGH: readonly string[] = [
  'authorization_pending',
  'slow_down',
  'expired_token',
  'access_denied',
];

/**
 * The device authorization grant (RFC 8628) for headless machines, relayed to the IdP: the user
 * enters the code at the IdP on any browser; `tollgate login --device` polls the gateway, which
 * asks the IdP once per poll and, when the IdP says yes, issues the gateway's own tokens.
 */
@Injectable()
export class DeviceCodeGrantUseCase {
  constructor(
    private readonly rp: OidcRelyingPartyService,
    private readonly devices: DeviceLoginsService,
    private readonly syncUser: SyncUserUseCase,
    private readonly tokens: UserTokensService,
    private readonly audit: AuditWriter,
  ) {}

  async start(): Promise<DeviceAuthorization> {
    if (!this.rp.enabled)
      throw new OAuthError('unauthorized_client', 'no OIDC identity provider is configured');
    const upstream = await client.initiateDeviceAuthorization(await this.rp.configuration(), {
      scope: this.rp.scopes,
    });
    return {
      device_code: await this.devices.start(upstream.device_code, upstream.expires_in),
      user_code: upstream.user_code,
      verification_uri: upstream.verification_uri,
      ...(upstream.verification_uri_complete
        ? { verification_uri_complete: upstream.verification_uri_complete }
        : {}),
      expires_in: upstream.expires_in,
      interval: upstream.interval ?? 5,
    };
  }

  async poll(deviceCode: string): Promise<TokenResponse> {
    const upstreamCode = await this.devices.find(deviceCode);
    if (!upstreamCode) throw new OAuthError('invalid_grant', 'unknown or expired device_code');
    let upstream;
    try {
      upstream = await client.genericGrantRequest(await this.rp.configuration(), DEVICE_CODE_GRANT, {
        device_code: upstreamCode,
      });
    } catch (error) {
      const code = error instanceof client.ResponseBodyError ? error.error : undefined;
      if (code && PASS_THROUGH.includes(code)) {
        if (code !== 'authorization_pending' && code !== 'slow_down') await this.devices.finish(deviceCode);
        throw new OAuthError(code as OAuthErrorCode, error instanceof Error ? error.message : code);
      }
      await this.devices.finish(deviceCode);
      throw new OAuthError('invalid_grant', 'the identity provider refused the device login');
    }
    await this.devices.finish(deviceCode);
    const identity = await identityFromTokens(this.rp, upstream);
    const synced = await this.syncUser.execute(identity);
    if (!synced.ok) {
      await this.audit
        .record({
          subject: `user:${synced.userId ?? '?'}`,
          action: 'login',
          decision: 'deny',
          reason: synced.reason,
        })
        .catch(() => undefined);
      throw new OAuthError('access_denied', synced.reason);
    }
    const issued = await this.tokens.issue({
      userId: synced.userId,
      upstreamRefreshToken: upstream.refresh_token,
    });
    if ('reason' in issued) throw new OAuthError('access_denied', issued.reason);
    await this.audit.record({
      subject: issued.subject,
      action: 'login',
      target: `token:${issued.jti}`,
      decision: 'allow',
      reason: 'OIDC device login',
    });
    return issued.response;
  }
}
