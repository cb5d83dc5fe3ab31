import { z } from 'zod';
import { boolean, httpUrl, port, positiveInt } from './setting-schemas';
import { decodeStoreKey } from './store-key';

/** Identity settings of the gateway: its own tokens, the OIDC identity provider, the dev IdP. */
export const identitySettings = {
  publicUrl: {
    env: 'TOLLGATE_PUBLIC_URL',
    flag: '--public-url',
    schema: httpUrl.optional(),
    expected: 'the http(s) URL users reach the gateway at (default: the address it listens on)',
  },
  tokenIssuer: {
    env: 'TOLLGATE_TOKEN_ISSUER',
    schema: z.string().min(1).max(200).default('tollgate'),
    expected: 'the `iss` of the gateway access tokens, 1-200 characters (default tollgate)',
  },
  tokenAudience: {
    env: 'TOLLGATE_TOKEN_AUDIENCE',
    schema: z.string().min(1).max(200).default('tollgate'),
    expected: 'the `aud` of the gateway access tokens, 1-200 characters (default tollgate)',
  },
  accessTokenTtlSeconds: {
    env: 'TOLLGATE_ACCESS_TOKEN_TTL_SECONDS',
    schema: positiveInt(900, 86_400),
    expected: 'access token lifetime in seconds, 1 to 86400 (default 900)',
  },
  refreshTokenTtlSeconds: {
    env: 'TOLLGATE_REFRESH_TOKEN_TTL_SECONDS',
    schema: positiveInt(8 * 3600, 90 * 86_400),
    expected: 'refresh token lifetime in seconds, 1 to 7776000 (default 28800)',
  },
  signingKeyRotationSeconds: {
    env: 'TOLLGATE_SIGNING_KEY_ROTATION_SECONDS',
    schema: positiveInt(30 * 86_400, 365 * 86_400),
    expected: 'age in seconds after which the signing key is replaced at start-up (default 2592000)',
  },
  bootstrapAdminSecret: {
    env: 'TOLLGATE_BOOTSTRAP_ADMIN_SECRET',
    secret: true,
    schema: z.string().min(24).max(512).optional(),
    expected:
      'a secret of at least 24 characters; it becomes the client secret of the service account `bootstrap-admin` (group tollgate-admins)',
  },
  storeKey: {
    env: 'TOLLGATE_STORE_KEY',
    secret: true,
    schema: z.string().min(1).max(4096).optional(),
    expected:
      '32 random bytes as base64 or hex (openssl rand -base64 32), or file:/path to them; seals signing keys and IdP refresh tokens in the store',
  },
  oidcIssuer: {
    env: 'TOLLGATE_OIDC_ISSUER',
    flag: '--oidc-issuer',
    schema: httpUrl.optional(),
    expected: 'the http(s) issuer URL of the OIDC identity provider',
  },
  oidcClientId: {
    env: 'TOLLGATE_OIDC_CLIENT_ID',
    schema: z.string().min(1).max(500).optional(),
    expected: 'the client id registered for Tollgate at the identity provider',
  },
  oidcClientSecret: {
    env: 'TOLLGATE_OIDC_CLIENT_SECRET',
    secret: true,
    schema: z.string().min(1).max(2000).optional(),
    expected: 'the client secret registered for Tollgate at the identity provider',
  },
  oidcScopes: {
    env: 'TOLLGATE_OIDC_SCOPES',
    schema: z
      .string()
      .regex(/^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/)
      .refine((value) => value.split(' ').includes('openid'))
      .default('openid profile email groups'),
    expected: 'space-separated OAuth scopes including openid (default "openid profile email groups")',
  },
  oidcGroupsClaim: {
    env: 'TOLLGATE_OIDC_GROUPS_CLAIM',
    schema: z
      .string()
      .regex(/^[A-Za-z0-9_:./-]+$/)
      .default('groups'),
    expected: 'the name of the ID token / userinfo claim that lists the user groups (default groups)',
  },
  devIdp: {
    env: 'TOLLGATE_DEV_IDP',
    flag: '--dev-idp',
    schema: boolean(false),
    expected: 'true or false: run the development identity provider with demo users in process',
  },
  devIdpPort: {
    env: 'TOLLGATE_DEV_IDP_PORT',
    flag: '--dev-idp-port',
    schema: port(8011),
    expected: 'a TCP port number 0-65535 for the development identity provider (default 8011)',
  },
} as const;

interface IdentityValues {
  readonly storeKey?: string;
  readonly oidcIssuer?: string;
  readonly oidcClientId?: string;
  readonly devIdp: boolean;
}

/** Settings that are valid alone but not together. */
export function identityProblems(config: IdentityValues): string[] {
  const problems: string[] = [];
  if (config.storeKey !== undefined) {
    const decoded = decodeStoreKey(config.storeKey);
    if ('problem' in decoded) problems.push(`TOLLGATE_STORE_KEY: ${decoded.problem}`);
  }
  if (config.oidcIssuer && !config.oidcClientId) {
    problems.push('TOLLGATE_OIDC_CLIENT_ID: expected a client id when TOLLGATE_OIDC_ISSUER is set');
  }
  if (config.oidcIssuer && config.devIdp) {
    problems.push(
      'TOLLGATE_DEV_IDP: expected false when TOLLGATE_OIDC_ISSUER is set (the dev IdP is the issuer otherwise)',
    );
  }
  return problems;
}
