import { describe, expect, it } from 'vitest';
import { loadCliConfig, loadGatewayConfig } from './index';

describe('identity settings', () => {
  it('has documented defaults', () => {
    expect(loadGatewayConfig({}, {})).toMatchObject({
      tokenIssuer: 'tollgate',
      tokenAudience: 'tollgate',
      accessTokenTtlSeconds: 900,
      refreshTokenTtlSeconds: 28_800,
      oidcScopes: 'openid profile email groups',
      oidcGroupsClaim: 'groups',
      devIdp: false,
      devIdpPort: 8011,
      oidcIssuer: undefined,
      bootstrapAdminSecret: undefined,
    });
  });

  it('stops on a bad identity setting, naming it', () => {
    expect(() => loadGatewayConfig({}, { TOLLGATE_OIDC_ISSUER: 'not a url' })).toThrow(
      /TOLLGATE_OIDC_ISSUER: expected the http\(s\) issuer URL/,
    );
    expect(() => loadGatewayConfig({}, { TOLLGATE_ACCESS_TOKEN_TTL_SECONDS: '0' })).toThrow(
      /TOLLGATE_ACCESS_TOKEN_TTL_SECONDS: expected access token lifetime/,
    );
    expect(() => loadGatewayConfig({}, { TOLLGATE_BOOTSTRAP_ADMIN_SECRET: 'short' })).toThrow(
      /TOLLGATE_BOOTSTRAP_ADMIN_SECRET: expected a secret of at least 24 characters/,
    );
    expect(() => loadGatewayConfig({}, { TOLLGATE_OIDC_SCOPES: 'profile email' })).toThrow(
      /TOLLGATE_OIDC_SCOPES: expected space-separated OAuth scopes including openid/,
    );
    expect(() => loadGatewayConfig({}, { TOLLGATE_DEV_IDP: 'maybe' })).toThrow(
      /TOLLGATE_DEV_IDP: expected true or false/,
    );
    expect(() => loadGatewayConfig({}, { TOLLGATE_STORE_KEY: 'hunter2' })).toThrow(
      /TOLLGATE_STORE_KEY: expected 32 random bytes as base64 or hex/,
    );
    expect(() => loadGatewayConfig({}, { TOLLGATE_STORE_KEY: 'file:/nonexistent/store.key' })).toThrow(
      /TOLLGATE_STORE_KEY: cannot read \/nonexistent\/store.key \(ENOENT\)/,
    );
    const key = Buffer.alloc(32, 7).toString('base64');
    expect(loadGatewayConfig({}, { TOLLGATE_STORE_KEY: key }).storeKey).toBe(key);
  });

  it('refuses settings that conflict', () => {
    expect(() => loadGatewayConfig({}, { TOLLGATE_OIDC_ISSUER: 'https://idp.example' })).toThrow(
      /TOLLGATE_OIDC_CLIENT_ID: expected a client id when TOLLGATE_OIDC_ISSUER is set/,
    );
    expect(() =>
      loadGatewayConfig(
        { devIdp: true },
        { TOLLGATE_OIDC_ISSUER: 'https://idp.example', TOLLGATE_OIDC_CLIENT_ID: 'x' },
      ),
    ).toThrow(/TOLLGATE_DEV_IDP: expected false when TOLLGATE_OIDC_ISSUER is set/);
    expect(loadGatewayConfig({ devIdp: 'on' }, {}).devIdp).toBe(true);
  });

  it('reads the CLI settings: gateway URL, TOLLGATE_TOKEN, credentials file', () => {
    const config = loadCliConfig(
      {},
      { TOLLGATE_URL: 'http://gw.example:8009/', TOLLGATE_TOKEN: 'abc.def.ghi' },
    );
    expect(config.gatewayUrl).toBe('http://gw.example:8009');
    expect(config.token).toBe('abc.def.ghi');
    expect(config.credentialsFile).toMatch(/\.tollgate\/credentials\.json$/);
    expect(() => loadCliConfig({}, { TOLLGATE_TOKEN: 'has spaces in it' })).toThrow(/TOLLGATE_TOKEN/);
  });
});
