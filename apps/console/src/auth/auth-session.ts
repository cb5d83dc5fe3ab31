import { ApiProblem } from '../api/problem';
import { pkceChallenge, randomToken } from './pkce';

/** The console's OIDC redirect URI: a path under /console/, which the gateway accepts for its origin. */
export const CALLBACK_PATH = '/console/callback';
const LOGIN_KEY = 'tollgate.console.login';
const REFRESH_KEY = 'tollgate.console.refresh';
/** Refresh this long before the access token expires. */
const REFRESH_MARGIN_MS = 60_000;

interface PendingLogin {
  readonly state: string;
  readonly verifier: string;
  readonly returnTo: string;
}

interface TokenResponse {
  readonly access_token: string;
  readonly expires_in: number;
  readonly refresh_token?: string;
}

/**
 * Starts the browser login: the gateway's /auth/login with PKCE (S256) and a redirect back to the
 * console. The verifier and state stay in this tab's sessionStorage until the callback.
 */
export async function startLogin(returnTo: string): Promise<void> {
  const verifier = randomToken(32);
  const state = randomToken(16);
  const pending: PendingLogin = { state, verifier, returnTo };
  sessionStorage.setItem(LOGIN_KEY, JSON.stringify(pending));
  const params = new URLSearchParams({
    redirect_uri: `${location.origin}${CALLBACK_PATH}`,
    state,
    code_challenge: await pkceChallenge(verifier),
    code_challenge_method: 'S256',
  });
  location.assign(`/auth/login?${params.toString()}`);
}

/**
 * The access token lives in memory only; the refresh token (rotated at every use) in this tab's
 * sessionStorage, so a reload keeps the login and closing the tab ends it. The strict CSP keeps
 * other scripts from reading either.
 */
export class AuthSession {
  private accessToken: string;
  private expiresAt: number;
  private refreshToken: string | undefined;
  private refreshing: Promise<void> | undefined;
  private readonly endedListeners = new Set<(reason: string) => void>();

  private constructor(tokens: TokenResponse) {
    this.accessToken = tokens.access_token;
    this.expiresAt = Date.now() + tokens.expires_in * 1000;
    this.refreshToken = tokens.refresh_token;
    this.store();
  }

  /** Finishes a login at the callback URL: checks the state, redeems the code with the verifier. */
  static async complete(url: URL): Promise<{ session: AuthSession; returnTo: string }> {
    const raw = sessionStorage.getItem(LOGIN_KEY);
    sessionStorage.removeItem(LOGIN_KEY);
    const pending = raw ? (JSON.parse(raw) as PendingLogin) : undefined;
    const error = url.searchParams.get('error');
    if (error) {
      throw new ApiProblem(401, 'Sign-in failed', url.searchParams.get('error_description') ?? error);
    }
    if (!pending || url.searchParams.get('state') !== pending.state) {
      throw new ApiProblem(
        400,
        'Sign-in failed',
        'this sign-in was not started here (or was already used); start again',
      );
    }
    const tokens = await tokenRequest({
      grant_type: 'authorization_code',
      code: url.searchParams.get('code') ?? '',
      code_verifier: pending.verifier,
      redirect_uri: `${location.origin}${CALLBACK_PATH}`,
    });
    return { session: new AuthSession(tokens), returnTo: safeReturnPath(pending.returnTo) };
  }

  /** Picks up the login of this tab after a reload, if its refresh token still works. */
  static async restore(): Promise<AuthSession | undefined> {
    const refreshToken = sessionStorage.getItem(REFRESH_KEY);
    if (!refreshToken) return undefined;
    try {
      return new AuthSession(
        await tokenRequest({ grant_type: 'refresh_token', refresh_token: refreshToken }),
      );
    } catch {
      sessionStorage.removeItem(REFRESH_KEY);
      return undefined;
    }
  }

  /** A valid access token, refreshed first when it is about to expire. */
  async token(): Promise<string> {
    if (Date.now() > this.expiresAt - REFRESH_MARGIN_MS && this.refreshToken) await this.refresh();
    return this.accessToken;
  }

  /** Gets a new access token (one refresh at a time); a refused refresh ends the session. */
  refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        if (!this.refreshToken) throw new ApiProblem(401, 'Signed out', 'the login cannot be renewed');
        const tokens = await tokenRequest({ grant_type: 'refresh_token', refresh_token: this.refreshToken });
        this.accessToken = tokens.access_token;
        this.expiresAt = Date.now() + tokens.expires_in * 1000;
        this.refreshToken = tokens.refresh_token ?? this.refreshToken;
        this.store();
      } catch (error) {
        const reason = error instanceof ApiProblem && error.detail ? error.detail : 'the login expired';
        this.end(`Your session ended: ${reason}. Sign in again.`);
        throw error;
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  /** Signs out: the gateway revokes the login (its refresh tokens and the access tokens issued in it). */
  async logout(): Promise<void> {
    const token = this.refreshToken ?? this.accessToken;
    try {
      await fetch('/oauth/revoke', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token }),
      });
    } finally {
      this.end('You signed out.');
    }
  }

  onEnded(listener: (reason: string) => void): () => void {
    this.endedListeners.add(listener);
    return () => this.endedListeners.delete(listener);
  }

  private end(reason: string): void {
    sessionStorage.removeItem(REFRESH_KEY);
    this.refreshToken = undefined;
    this.expiresAt = 0;
    for (const listener of this.endedListeners) listener(reason);
  }

  private store(): void {
    if (this.refreshToken) sessionStorage.setItem(REFRESH_KEY, this.refreshToken);
  }
}

async function tokenRequest(body: Record<string, string>): Promise<TokenResponse> {
  let response: Response;
  try {
    response = await fetch('/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch (error) {
    throw ApiProblem.unreachable(error);
  }
  if (!response.ok) throw await ApiProblem.from(response);
  return (await response.json()) as TokenResponse;
}

/** Only a path of this console (never another origin) is a place to return to after login. */
export function safeReturnPath(value: string): string {
  return /^\/(?!\/)[^\\]*$/.test(value) && !value.startsWith(CALLBACK_PATH) ? value : '/';
}
