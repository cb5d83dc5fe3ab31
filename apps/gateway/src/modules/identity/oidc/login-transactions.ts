import { createHash, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';

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
}

const TRANSACTION_TTL_MS = 10 * 60_000;
const CODE_TTL_MS = 60_000;

/**
 * Short-lived login state, held in this gateway's memory: a login must finish on the replica that
 * started it (documented limitation until sticky sessions or a shared store are added).
 */
@Injectable()
export class LoginTransactionsService {
  private readonly transactions = new Map<string, { value: LoginTransaction; expires: number }>();
  private readonly codes = new Map<string, { value: PendingCode; expires: number }>();

  start(transaction: LoginTransaction): string {
    this.sweep();
    const state = randomBytes(24).toString('base64url');
    this.transactions.set(state, { value: transaction, expires: Date.now() + TRANSACTION_TTL_MS });
    return state;
  }

  /** One use only. */
  take(state: string): LoginTransaction | undefined {
    const entry = this.transactions.get(state);
    this.transactions.delete(state);
    return entry && entry.expires > Date.now() ? entry.value : undefined;
  }

  issueCode(code: PendingCode): string {
    this.sweep();
    const value = randomBytes(32).toString('base64url');
    this.codes.set(hash(value), { value: code, expires: Date.now() + CODE_TTL_MS });
    return value;
  }

  /** One use only. */
  redeemCode(code: string): PendingCode | undefined {
    const key = hash(code);
    const entry = this.codes.get(key);
    this.codes.delete(key);
    return entry && entry.expires > Date.now() ? entry.value : undefined;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [k, v] of this.transactions) if (v.expires <= now) this.transactions.delete(k);
    for (const [k, v] of this.codes) if (v.expires <= now) this.codes.delete(k);
  }
}

function hash(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}
