import { Controller, Get, Logger, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import * as client from 'openid-client';
import { NotFoundError, ValidationError } from '../../../common/errors';
import { AuditWriter } from '../../audit/audit-writer';
import { LoginTransactionsService } from '../oidc/login-transactions';
import { OidcRelyingPartyService } from '../oidc/oidc-relying-party.service';
import { SamlServiceProviderService } from '../saml/saml-service-provider.service';
import { SyncUserUseCase } from '../subjects/sync-user.usecase';
import { StartSamlLoginUseCase } from '../usecases/start-saml-login.usecase';
import { identityFromTokens } from '../oidc/upstream-identity';
import { Public } from './access.decorators';
import { escapeHtml, identityPageHeaders, identityPage } from './identity-pages';

type IdpKind = 'oidc' | 'saml';

/**
 * Browser login through the configured identity provider: OIDC (authorization code + PKCE at both
 * legs) or SAML (see SamlController). `tollgate login` opens `/auth/login` with its loopback
 * redirect URI and its own PKCE challenge (the web console likewise, with a redirect URI under the
 * gateway's `/console/`); after the IdP login the gateway redirects there with a one-time gateway
 * code, which the CLI redeems at `POST /oauth/token` (grant_type=authorization_code). With both
 * OIDC and SAML configured, `idp=oidc|saml` picks one; without it the user picks on a page.
 */
@ApiExcludeController()
@Public()
@Controller('auth')
export class LoginController {
  private readonly logger = new Logger('login');

  constructor(
    private readonly rp: OidcRelyingPartyService,
    private readonly logins: LoginTransactionsService,
    private readonly syncUser: SyncUserUseCase,
    private readonly audit: AuditWriter,
    private readonly saml: SamlServiceProviderService,
    private readonly startSamlLogin: StartSamlLoginUseCase,
  ) {}

  @Get('login')
  async login(@Query() query: Record<string, string | undefined>, @Res() reply: FastifyReply): Promise<void> {
    const offered: IdpKind[] = [
      ...(this.rp.enabled ? (['oidc'] as const) : []),
      ...(this.saml.enabled ? (['saml'] as const) : []),
    ];
    if (offered.length === 0) {
      throw new NotFoundError('identity provider', 'TOLLGATE_OIDC_ISSUER or TOLLGATE_SAML_IDP_METADATA');
    }
    const redirectUri = query.redirect_uri ?? '';
    const problems = [];
    if (query.idp !== undefined && !offered.includes(query.idp as IdpKind)) {
      problems.push({
        field: 'idp',
        message: `${['oidc', 'saml'].includes(query.idp) ? 'not configured on this gateway' : 'unknown'}; expected ${offered.join(' or ')}`,
      });
    }
    if (!isLoopbackRedirect(redirectUri) && !this.isConsoleRedirect(redirectUri)) {
      problems.push({
        field: 'redirect_uri',
        message: `must be an http loopback URL (127.0.0.1, [::1] or localhost) or under ${this.rp.publicBaseUrl}/console/`,
      });
    }
    if (
      !/^[A-Za-z0-9_-]{43,128}$/.test(query.code_challenge ?? '') ||
      query.code_challenge_method !== 'S256'
    ) {
      problems.push({ field: 'code_challenge', message: 'PKCE with code_challenge_method=S256 is required' });
    }
    if (!query.state || query.state.length > 200)
      problems.push({ field: 'state', message: 'required, up to 200 characters' });
    if (problems.length > 0) throw new ValidationError(problems);

    const idp = (query.idp as IdpKind | undefined) ?? (offered.length === 1 ? offered[0] : undefined);
    if (idp === undefined) return this.chooseIdp(query, reply);
    if (idp === 'saml') {
      const location = await this.startSamlLogin.execute({
        kind: 'code',
        clientRedirectUri: redirectUri,
        clientState: query.state!,
        clientCodeChallenge: query.code_challenge!,
      });
      void reply.status(302).header('location', location).header('cache-control', 'no-store').send();
      return;
    }
    const config = await this.rp.configuration();
    const idpCodeVerifier = client.randomPKCECodeVerifier();
    const nonce = client.randomNonce();
    const state = await this.logins.start({
      idpCodeVerifier,
      nonce,
      clientRedirectUri: redirectUri,
      clientState: query.state!,
      clientCodeChallenge: query.code_challenge!,
    });
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: this.rp.callbackUrl(),
      scope: this.rp.scopes,
      code_challenge: await client.calculatePKCECodeChallenge(idpCodeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    void reply.status(302).header('location', url.href).header('cache-control', 'no-store').send();
  }

  /** Both OIDC and SAML are configured and the client did not say which: the user picks. */
  private chooseIdp(query: Record<string, string | undefined>, reply: FastifyReply): void {
    const link = (idp: IdpKind) => {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, v);
      params.set('idp', idp);
      return `login?${params.toString()}`;
    };
    void reply
      .status(200)
      .headers(identityPageHeaders())
      .send(
        identityPage(
          'Sign in to Tollgate',
          `<p>Choose how to sign in:</p>
<ul>
<li><a href="${escapeHtml(link('oidc'))}">Sign in with OpenID Connect</a> (${escapeHtml(this.rp.issuer)})</li>
<li><a href="${escapeHtml(link('saml'))}">Sign in with SAML</a> (${escapeHtml(this.saml.idpEntityId)})</li>
</ul>
<p>From the command line, <code>tollgate login --idp oidc</code> or <code>--idp saml</code> skips this page.</p>`,
        ),
      );
  }

  /** The web console (a public client in the browser, same origin) logs in the same way, with PKCE. */
  private isConsoleRedirect(value: string): boolean {
    try {
      const url = new URL(value);
      const base = new URL(`${this.rp.publicBaseUrl}/console/`);
      return url.origin === base.origin && url.pathname.startsWith(base.pathname) && url.hash === '';
    } catch {
      return false;
    }
  }

  @Get('callback')
  async callback(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const current = new URL(request.url, this.rp.publicBaseUrl);
    const transaction = await this.logins.take(current.searchParams.get('state') ?? '');
    if (!transaction) {
      throw new ValidationError([{ field: 'state', message: 'unknown or expired login; start again' }]);
    }
    const back = (params: Record<string, string>) => {
      const target = new URL(transaction.clientRedirectUri);
      for (const [k, v] of Object.entries({ ...params, state: transaction.clientState }))
        target.searchParams.set(k, v);
      void reply.status(302).header('location', target.href).header('cache-control', 'no-store').send();
    };
    let identity;
    let upstreamRefreshToken: string | undefined;
    try {
      const tokens = await client.authorizationCodeGrant(await this.rp.configuration(), current, {
        pkceCodeVerifier: transaction.idpCodeVerifier,
        expectedState: current.searchParams.get('state') ?? undefined,
        expectedNonce: transaction.nonce,
        idTokenExpected: true,
      });
      identity = await identityFromTokens(this.rp, tokens);
      upstreamRefreshToken = tokens.refresh_token;
    } catch (error) {
      const reason = `the identity provider login failed: ${error instanceof Error ? error.message : String(error)}`;
      this.logger.warn({ err: error }, 'OIDC callback failed');
      await this.audit
        .record({ subject: 'anonymous', action: 'login', decision: 'deny', reason })
        .catch(() => undefined);
      return back({ error: 'access_denied', error_description: 'the identity provider login failed' });
    }
    const synced = await this.syncUser.execute(identity);
    if (!synced.ok) {
      await this.audit
        .record({
          subject: synced.userId ? `user:${synced.userId}` : `oidc:${identity.subject}`,
          action: 'login',
          decision: 'deny',
          reason: synced.reason,
        })
        .catch(() => undefined);
      return back({ error: 'access_denied', error_description: synced.reason });
    }
    const code = await this.logins.issueCode({
      userId: synced.userId,
      redirectUri: transaction.clientRedirectUri,
      codeChallenge: transaction.clientCodeChallenge,
      upstreamRefreshToken,
    });
    back({ code });
  }
}

function isLoopbackRedirect(value: string): boolean {
  try {
    const url = new URL(value);
    return (
      url.protocol === 'http:' &&
      ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname) &&
      url.hash === ''
    );
  } catch {
    return false;
  }
}
