import { Injectable } from '@nestjs/common';
import { AuditWriter } from '../../audit/audit-writer';
import { OAuthError } from '../http/oauth.error';
import { UserTokensService } from '../oidc/user-tokens.service';
import {
  DEVICE_LOGIN_TTL_SECONDS,
  DEVICE_POLL_INTERVAL_SECONDS,
  SamlDeviceLoginsService,
} from '../saml/saml-device-logins.service';
import type { DeviceAuthorization } from './device-code-grant.usecase';
import type { TokenResponse } from './token-response';

/**
 * The device authorization grant (RFC 8628) for SAML, which has no device flow of its own: the
 * gateway hands out the codes, the user enters the user code at the gateway's `/auth/device` page
 * in any browser, signs in at the SAML IdP there, and `tollgate login --device` polls until then.
 */
@Injectable()
export class SamlDeviceGrantUseCase {
  constructor(
    private readonly devices: SamlDeviceLoginsService,
    private readonly tokens: UserTokensService,
    private readonly audit: AuditWriter,
  ) {}

  async start(publicBaseUrl: string): Promise<DeviceAuthorization> {
    const { deviceCode, userCode } = await this.devices.start();
    const verification = `${publicBaseUrl}/auth/device`;
    return {
      device_code: deviceCode,
      user_code: userCode,
      verification_uri: verification,
      verification_uri_complete: `${verification}?user_code=${userCode}`,
      expires_in: DEVICE_LOGIN_TTL_SECONDS,
      interval: DEVICE_POLL_INTERVAL_SECONDS,
    };
  }

  async poll(deviceCode: string): Promise<TokenResponse> {
    const result = await this.devices.poll(deviceCode);
    switch (result.state) {
      case 'unknown':
        throw new OAuthError('expired_token', 'unknown or expired device_code; start the device login again');
      case 'pending':
        if (result.tooFast) throw new OAuthError('slow_down', 'polling faster than the interval');
        throw new OAuthError('authorization_pending', 'the user has not signed in yet');
      case 'denied':
        throw new OAuthError('access_denied', result.reason);
      case 'approved': {
        const issued = await this.tokens.issue({ userId: result.userId });
        if ('reason' in issued) {
          await this.audit
            .record({
              subject: `user:${result.userId}`,
              action: 'login',
              decision: 'deny',
              reason: issued.reason,
            })
            .catch(() => undefined);
          throw new OAuthError('access_denied', issued.reason);
        }
        await this.audit.record({
          subject: issued.subject,
          action: 'login',
          target: `token:${issued.jti}`,
          decision: 'allow',
          reason: 'SAML device login',
        });
        return issued.response;
      }
    }
  }
}
