import { createHash, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { LoginStateStore } from './login-state.store';

/** A login in progress between the gateway and the IdP (keyed by the state sent to the IdP). */
export interface LoginTransaction {
  readonly idpCodeVerifier: string;
  readonly nonce: string;
  /** Where the caller wants the gateway's authorization code (a loopback URL for `tollgate login`). */
  readonly clientRedirectUri: string;
  readonly clientState: string;
  readonly clientCodeChallenge: string;
}

/** A gateway authorization code waiting for `POST /oauth/token` with the matching PKCE verifier. */
export interface PendingCode {
  readonly userId: string;
  readonly redirectUri: string;
  readonly codeChallenge: string;
  readonly upstreamRefreshToken?: string;
  /** How the user signed in (the audit record says so); OIDC when absent. */
  readonly method?: 'oidc' | 'saml';
}

const TRANSACTION_TTL_MS = 10 * 60_000;
const CODE_TTL_MS = 60_000;

/** Browser login state (shared by replicas through the store); every value is single use. */
@Injectable()
export class LoginTransactionsService {
  constructor(private readonly states: LoginStateStore) {}

  async start(transaction: LoginTransaction): Promise<string> {
    const state = randomBytes(24).toString('base64url');
    await this.states.put('transaction', state, transaction, TRANSACTION_TTL_MS);
    return state;
  }

  take(state: string): Promise<LoginTransaction | undefined> {
    return this.states.take<LoginTransaction>('transaction', state);
  }

  async issueCode(code: PendingCode): Promise<string> {
    const value = randomBytes(32).toString('base64url');
    await this.states.put('code', value, code, CODE_TTL_MS);
    return value;
  }

  redeemCode(code: string): Promise<PendingCode | undefined> {
    return this.states.take<PendingCode>('code', code);
  }
}

export function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}
