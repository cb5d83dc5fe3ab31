import { Body, Controller, Get, Headers, HttpCode, Inject, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiExcludeEndpoint, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AccessTokenVerifier } from '../access-token-verifier';
import { ApiKeysService } from '../api-keys/api-keys.service';
import { IdentityOptionsToken, type IdentityOptions } from '../identity-options';
import { SigningKeysService } from '../keys/signing-keys.service';
import { OidcRelyingPartyService } from '../oidc/oidc-relying-party.service';
import { ALL_SCOPES } from '../tokens/scopes';
import { REFRESH_TOKEN_MARK, UserTokensService } from '../oidc/user-tokens.service';
import { AuthorizationCodeGrantUseCase } from '../usecases/authorization-code-grant.usecase';
import { ClientCredentialsGrantUseCase } from '../usecases/client-credentials-grant.usecase';
import {
  DEVICE_CODE_GRANT,
  DeviceCodeGrantUseCase,
  type DeviceAuthorization,
} from '../usecases/device-code-grant.usecase';
import { RefreshTokenGrantUseCase } from '../usecases/refresh-token-grant.usecase';
import { SamlDeviceGrantUseCase } from '../usecases/saml-device-grant.usecase';
import { GATEWAY_DEVICE_CODE_MARK } from '../saml/saml-device-logins.service';
import { SamlServiceProviderService } from '../saml/saml-service-provider.service';
import { TokenExchangeGrantUseCase } from '../usecases/token-exchange-grant.usecase';
import { TOKEN_EXCHANGE_GRANT, type TokenResponse } from '../usecases/token-response';
import { TokenRevocationService } from '../tokens/token-revocation.service';
import { UnauthenticatedError, type RefusedTokenAttribution } from '../../../common/errors';
import { AuditWriter } from '../../audit/audit-writer';
import { Public } from './access.decorators';
import { OAuthError } from './oauth.error';

type Params = Record<string, unknown>;

/** The audit action of a refused request, by grant type (the names the grants record under). */
const GRANT_ACTIONS = new Map<string, string>([
  ['client_credentials', 'token:client_credentials'],
  [TOKEN_EXCHANGE_GRANT, 'token:exchange'],
  ['authorization_code', 'login'],
  ['refresh_token', 'token:refresh'],
  [DEVICE_CODE_GRANT, 'token:device_code'],
]);

/** Device-login polls that are answered "not yet": the protocol's normal rhythm, not refusals. */
const STILL_WAITING: ReadonlySet<string> = new Set(['authorization_pending', 'slow_down']);

/** The gateway's OAuth endpoints: token (RFC 6749, RFC 8693), revocation (RFC 7009), JWKS. */
@ApiTags('oauth')
@Controller()
export class TokenController {
  constructor(
    private readonly clientCredentials: ClientCredentialsGrantUseCase,
    private readonly tokenExchange: TokenExchangeGrantUseCase,
    private readonly authorizationCode: AuthorizationCodeGrantUseCase,
    private readonly refreshToken: RefreshTokenGrantUseCase,
    private readonly deviceCode: DeviceCodeGrantUseCase,
    private readonly keys: SigningKeysService,
    private readonly verifier: AccessTokenVerifier,
    private readonly revocation: TokenRevocationService,
    private readonly audit: AuditWriter,
    private readonly userTokens: UserTokensService,
    private readonly rp: OidcRelyingPartyService,
    private readonly saml: SamlServiceProviderService,
    private readonly samlDevice: SamlDeviceGrantUseCase,
    private readonly apiKeys: ApiKeysService,
    @Inject(IdentityOptionsToken) private readonly options: IdentityOptions,
  ) {}

  @Post('oauth/token')
  @Public()
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Token endpoint (form or JSON): client_credentials, authorization_code (PKCE), refresh_token, urn:ietf:params:oauth:grant-type:token-exchange',
  })
  async token(
    @Body() body: unknown,
    @Headers('authorization') authorization?: string,
  ): Promise<TokenResponse> {
    const params = (typeof body === 'object' && body !== null ? body : {}) as Params;
    try {
      return await this.grant(params, authorization);
    } catch (error) {
      // Every refused token request is an audit record: the grants record their own refusals with
      // what they know; what is refused before (or without) that is recorded here.
      if (error instanceof OAuthError && !error.recorded && !STILL_WAITING.has(error.error)) {
        await this.recordRefusal(params, authorization, error).catch(() => undefined);
      }
      throw error;
    }
  }

  private async grant(params: Params, authorization: string | undefined): Promise<TokenResponse> {
    const grantType = param(params, 'grant_type', true);
    switch (grantType) {
      case 'client_credentials': {
        const basic = basicCredentials(authorization);
        return this.clientCredentials.execute({
          clientId: basic?.id ?? param(params, 'client_id', true),
          clientSecret: basic?.secret ?? param(params, 'client_secret', true),
          scope: param(params, 'scope'),
        });
      }
      case TOKEN_EXCHANGE_GRANT: {
        const expiresIn = param(params, 'expires_in');
        if (expiresIn !== undefined && !/^[1-9][0-9]{0,8}$/.test(expiresIn)) {
          throw new OAuthError('invalid_request', 'expires_in must be a positive number of seconds');
        }
        return this.tokenExchange.execute({
          subjectToken: param(params, 'subject_token', true),
          subjectTokenType: param(params, 'subject_token_type', true),
          scope: param(params, 'scope'),
          expiresIn: expiresIn === undefined ? undefined : Number(expiresIn),
          actorToken: param(params, 'actor_token'),
          actorTokenType: param(params, 'actor_token_type'),
          audience: param(params, 'audience'),
          resource: param(params, 'resource'),
          requestedTokenType: param(params, 'requested_token_type'),
        });
      }
      case 'authorization_code':
        return this.authorizationCode.execute({
          code: param(params, 'code', true),
          codeVerifier: param(params, 'code_verifier', true),
          redirectUri: param(params, 'redirect_uri', true),
        });
      case 'refresh_token':
        return this.refreshToken.execute(param(params, 'refresh_token', true));
      case DEVICE_CODE_GRANT: {
        const deviceCode = param(params, 'device_code', true);
        return deviceCode.startsWith(GATEWAY_DEVICE_CODE_MARK)
          ? this.samlDevice.poll(deviceCode)
          : this.deviceCode.poll(deviceCode);
      }
      default:
        throw new OAuthError('unsupported_grant_type', `grant_type "${grantType}" is not supported`);
    }
  }

  private async recordRefusal(
    params: Params,
    authorization: string | undefined,
    error: OAuthError,
  ): Promise<void> {
    const grantType = typeof params.grant_type === 'string' ? params.grant_type : undefined;
    let who: RefusedTokenAttribution | undefined;
    if (grantType === TOKEN_EXCHANGE_GRANT && typeof params.subject_token === 'string') {
      who = await this.verifier.verify(params.subject_token).then(
        (principal) => ({
          subject: principal.subject,
          actorChain: principal.actorChain,
          tokenId: principal.tokenId,
        }),
        (refused: unknown) => (refused instanceof UnauthenticatedError ? refused.attribution : undefined),
      );
    } else if (grantType === 'client_credentials') {
      const clientId = safe(() => basicCredentials(authorization)?.id) ?? params.client_id;
      if (typeof clientId === 'string' && clientId) who = { subject: `client:${clientId}`, actorChain: [] };
    }
    await this.audit.record({
      subject: who?.subject ?? 'anonymous',
      ...(who?.actorChain.length ? { actorChain: who.actorChain } : {}),
      action: GRANT_ACTIONS.get(grantType ?? '') ?? 'token:request',
      ...(who?.tokenId ? { target: `token:${who.tokenId}` } : {}),
      decision: 'deny',
      reason: error.message,
      payload: { grantType: grantType ?? null, error: error.error },
    });
  }

  /**
   * RFC 8628: starts a device login; poll the token endpoint with the device_code. With OIDC the
   * login is relayed to the IdP's own device flow; with SAML (`idp=saml`, or SAML alone configured)
   * the user enters the code at the gateway's `/auth/device` page and signs in at the SAML IdP.
   */
  @Post('oauth/device_authorization')
  @Public()
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Start a device login (RFC 8628) for a headless machine; idp=oidc|saml picks the identity provider',
  })
  deviceAuthorization(@Body() body: unknown): Promise<DeviceAuthorization> {
    const params = (typeof body === 'object' && body !== null ? body : {}) as Params;
    const idp = param(params, 'idp');
    if (idp !== undefined && idp !== 'oidc' && idp !== 'saml') {
      throw new OAuthError('invalid_request', 'idp must be oidc or saml');
    }
    const useSaml = idp === 'saml' || (idp === undefined && !this.rp.enabled && this.saml.enabled);
    if (useSaml) {
      if (!this.saml.enabled)
        throw new OAuthError('unauthorized_client', 'no SAML identity provider is configured');
      return this.samlDevice.start(this.rp.publicBaseUrl);
    }
    return this.deviceCode.start();
  }

  /**
   * RFC 7009: the holder revokes its token; every token exchanged from it stops working too. A
   * refresh token ends the whole login (its refresh tokens and the access tokens issued in it).
   * Presenting the token is the proof of possession; an unknown or invalid token is answered 200.
   */
  @Post('oauth/revoke')
  @Public()
  @HttpCode(200)
  @ApiOperation({ summary: 'Revoke an access token and every token exchanged from it (RFC 7009)' })
  async revoke(@Body() body: unknown): Promise<Record<string, never>> {
    const params = (typeof body === 'object' && body !== null ? body : {}) as Params;
    const token = param(params, 'token', true);
    if (token.startsWith(REFRESH_TOKEN_MARK)) {
      const login = await this.userTokens.findFamily(token);
      if (login) {
        await this.userTokens.revokeFamily(login.familyId);
        await this.audit.record({
          subject: login.subject,
          action: 'token:revoke',
          target: `login:${login.familyId}`,
          decision: 'allow',
          reason: 'login revoked by its holder (refresh tokens and the access tokens issued in it)',
        });
      }
      return {};
    }
    try {
      const principal = await this.verifier.verify(token);
      if (principal.tokenId.startsWith('apikey:')) {
        // An API key or connection credential presented here is revoked like a token: answering 200
        // and recording a revocation while the key kept working would leave a leaked key live.
        const prefix = principal.tokenId.slice('apikey:'.length);
        await this.apiKeys.revoke(prefix);
        await this.audit.record({
          subject: principal.subject,
          action: 'apikey:revoke',
          target: `apikey:${prefix}`,
          decision: 'allow',
          reason: 'API key revoked by its holder (RFC 7009 revocation endpoint)',
        });
        return {};
      }
      const revoked = await this.revocation.revoke(principal.tokenId);
      await this.audit.record({
        subject: principal.subject,
        actorChain: principal.actorChain,
        action: 'token:revoke',
        target: `token:${principal.tokenId}`,
        decision: 'allow',
        reason: `revoked by its holder (${revoked} token(s) including descendants)`,
      });
    } catch (error) {
      if (!(error instanceof UnauthenticatedError)) throw error;
    }
    return {};
  }

  /** RFC 8414 metadata of the gateway's own authorization server (its tokens, not the IdP's). */
  @Get('.well-known/oauth-authorization-server')
  @Public()
  @ApiExcludeEndpoint()
  metadata(@Req() request: FastifyRequest): Record<string, unknown> {
    const base = this.rp.publicBaseUrl || `${request.protocol}://${request.host}`;
    return {
      issuer: this.options.tokenIssuer,
      authorization_endpoint: `${base}/auth/login`,
      token_endpoint: `${base}/oauth/token`,
      revocation_endpoint: `${base}/oauth/revoke`,
      device_authorization_endpoint: `${base}/oauth/device_authorization`,
      jwks_uri: `${base}/.well-known/jwks.json`,
      grant_types_supported: [
        'client_credentials',
        'authorization_code',
        'refresh_token',
        DEVICE_CODE_GRANT,
        TOKEN_EXCHANGE_GRANT,
      ],
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      scopes_supported: [...ALL_SCOPES],
    };
  }

  @Get('.well-known/jwks.json')
  @Public()
  @ApiExcludeEndpoint()
  jwks(): Promise<{ keys: unknown[] }> {
    return this.keys.jwks();
  }
}

function param(params: Params, name: string, required: true): string;
function param(params: Params, name: string, required?: false): string | undefined;
function param(params: Params, name: string, required = false): string | undefined {
  const value = params[name];
  if (value === undefined || value === '') {
    if (required) throw new OAuthError('invalid_request', `${name} is required`);
    return undefined;
  }
  if (typeof value !== 'string') throw new OAuthError('invalid_request', `${name} must be a string`);
  return value;
}

function safe<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

function basicCredentials(header: string | undefined): { id: string; secret: string } | undefined {
  const match = /^Basic +([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new OAuthError('invalid_client', 'malformed Basic credentials');
  return {
    id: decodeURIComponent(decoded.slice(0, colon)),
    secret: decodeURIComponent(decoded.slice(colon + 1)),
  };
}
