import { Inject, Injectable } from '@nestjs/common';
import * as client from 'openid-client';
import { IdentityOptionsToken, type IdentityOptions } from '../identity-options';

export interface UpstreamIssuer {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret?: string;
}

/**
 * The gateway as an OIDC relying party (openid-client). The issuer comes from configuration
 * (TOLLGATE_OIDC_*) or, in the quickstart, from the development IdP started next to the gateway.
 */
@Injectable()
export class OidcRelyingPartyService {
  private upstream: UpstreamIssuer | undefined;
  private discovered: Promise<client.Configuration> | undefined;
  private baseUrl = '';

  constructor(@Inject(IdentityOptionsToken) private readonly options: IdentityOptions) {
    if (options.oidcIssuer && options.oidcClientId) {
      this.upstream = {
        issuer: options.oidcIssuer,
        clientId: options.oidcClientId,
        clientSecret: options.oidcClientSecret,
      };
    }
  }

  /** Called once the gateway listens: its public base URL, and the dev IdP when it runs. */
  configure(baseUrl: string, upstream?: UpstreamIssuer): void {
    this.baseUrl = (this.options.publicUrl ?? baseUrl).replace(/\/+$/, '');
    if (upstream) {
      this.upstream = upstream;
      this.discovered = undefined;
    }
  }

  get enabled(): boolean {
    return this.upstream !== undefined;
  }

  get issuer(): string {
    return this.requireUpstream().issuer;
  }

  get scopes(): string {
    return this.options.oidcScopes;
  }

  get groupsClaim(): string {
    return this.options.oidcGroupsClaim;
  }

  get publicBaseUrl(): string {
    return this.baseUrl;
  }

  callbackUrl(): string {
    return `${this.baseUrl}/auth/callback`;
  }

  configuration(): Promise<client.Configuration> {
    const upstream = this.requireUpstream();
    this.discovered ??= client
      .discovery(
        new URL(upstream.issuer),
        upstream.clientId,
        upstream.clientSecret,
        undefined,
        // http is allowed only for an issuer on this machine (the dev IdP or a local test IdP).
        isLoopbackHttp(upstream.issuer) ? { execute: [client.allowInsecureRequests] } : undefined,
      )
      .catch((error: unknown) => {
        this.discovered = undefined;
        throw error;
      });
    return this.discovered;
  }

  private requireUpstream(): UpstreamIssuer {
    if (!this.upstream) throw new Error('no OIDC identity provider is configured');
    return this.upstream;
  }
}

function isLoopbackHttp(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  return protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]', '::1'].includes(hostname);
}
