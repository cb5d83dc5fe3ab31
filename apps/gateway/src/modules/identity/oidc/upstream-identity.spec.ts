import type * as client from 'openid-client';
import { describe, expect, it } from 'vitest';
import type { OidcRelyingPartyService } from './oidc-relying-party.service';
import { identityFromTokens } from './upstream-identity';

const rp = {
  issuer: 'https://idp.example.test',
  groupsClaim: 'groups',
} as unknown as OidcRelyingPartyService;

/** An IdP token response whose ID token carries these claims (groups and e-mail: no userinfo call). */
const tokens = (claims: Record<string, unknown>) =>
  ({
    access_token: 'at',
    token_type: 'bearer',
    claims: () => ({ sub: 'u-1', groups: ['developers'], ...claims }),
  }) as unknown as client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;

/**
 * Policies bind people by e-mail (`user:boss@example.com`): an address the IdP itself says it has
 * not verified (a user may have typed anyone's) is not taken as theirs.
 */
describe('upstream identity: the e-mail the IdP vouches for', () => {
  it('drops an e-mail the IdP marks unverified', async () => {
    for (const emailVerified of [false, 'false']) {
      const identity = await identityFromTokens(
        rp,
        tokens({ email: 'boss@example.com', email_verified: emailVerified, name: 'Mallory' }),
      );
      expect({ emailVerified, email: identity.email }).toEqual({ emailVerified, email: undefined });
      expect(identity).toMatchObject({ subject: 'u-1', displayName: 'Mallory', groups: ['developers'] });
    }
  });

  it('keeps an e-mail the IdP verified, or sends without saying (most enterprise IdPs)', async () => {
    for (const claims of [{ email_verified: true }, { email_verified: 'true' }, {}]) {
      const identity = await identityFromTokens(rp, tokens({ email: 'dev@example.com', ...claims }));
      expect(identity.email).toBe('dev@example.com');
    }
  });
});
