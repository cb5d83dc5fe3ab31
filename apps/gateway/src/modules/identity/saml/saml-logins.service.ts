import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { LoginStateStore } from '../oidc/login-state.store';

/** What a SAML login started for: a gateway code for a PKCE client, or a device login. */
export type SamlLoginPurpose =
  | {
      readonly kind: 'code';
      readonly clientRedirectUri: string;
      readonly clientState: string;
      readonly clientCodeChallenge: string;
    }
  | { readonly kind: 'device'; readonly deviceId: string };

export interface SamlLoginTransaction {
  /** The AuthnRequest's ID: the response must answer it (InResponseTo). */
  readonly requestId: string;
  readonly purpose: SamlLoginPurpose;
}

const TRANSACTION_TTL_MS = 10 * 60_000;

/**
 * SAML logins in progress (keyed by the RelayState sent to the IdP) and the assertion IDs already
 * used, both in the store so every replica sees them. Each value is single use.
 */
@Injectable()
export class SamlLoginsService {
  constructor(private readonly states: LoginStateStore) {}

  async start(purpose: SamlLoginPurpose): Promise<{ relayState: string; requestId: string }> {
    const relayState = randomBytes(24).toString('base64url');
    // An xs:ID must not start with a digit.
    const requestId = `_${randomBytes(20).toString('hex')}`;
    await this.states.put(
      'saml-transaction',
      relayState,
      { requestId, purpose } satisfies SamlLoginTransaction,
      TRANSACTION_TTL_MS,
    );
    return { relayState, requestId };
  }

  take(relayState: string): Promise<SamlLoginTransaction | undefined> {
    return this.states.take<SamlLoginTransaction>('saml-transaction', relayState);
  }

  /** Spends an assertion ID: true the first time on any replica, false for a replay. */
  spendAssertion(assertionId: string, idpEntityId: string, usableUntil: Date): Promise<boolean> {
    return this.states.claim(
      'saml-assertion',
      `${idpEntityId}\n${assertionId}`,
      {},
      Math.max(1000, usableUntil.getTime() - Date.now()),
    );
  }
}
