import { closeSync, openSync, rmSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadCliConfig, type CliConfig } from '@tollgate/config';
import { peekClaims, readCredentials, writeCredentials, type StoredCredentials } from './credentials-file';
import { callTokenEndpoint } from './token-endpoint';

/** No usable token: the message tells the user what to do. */
export class NotLoggedInError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotLoggedInError';
  }
}

// Refresh a little before expiry, so a token does not expire on its way to the gateway: 30 s, or a
// quarter of the token's lifetime when that is shorter.
const REFRESH_MARGIN_SECONDS = 30;

/** Seconds before the saved token's expiry at which it is refreshed. */
function refreshMargin(saved: StoredCredentials): number {
  const { exp, iat } = peekClaims(saved.accessToken);
  const lifetime = exp !== undefined && iat !== undefined ? exp - iat : undefined;
  return lifetime && lifetime > 0 ? Math.min(REFRESH_MARGIN_SECONDS, lifetime / 4) : REFRESH_MARGIN_SECONDS;
}

/** When (Unix seconds) the saved login's access token is due for a refresh. */
export function refreshDueAt(saved: StoredCredentials): number {
  return saved.expiresAt - refreshMargin(saved);
}

/**
 * The access token every command sends: TOLLGATE_TOKEN when set (a child process given a delegated
 * token uses exactly that), else the saved login, refreshed (and the refresh token rotated) when it
 * is about to expire.
 */
/**
 * What to do about a token the gateway refused (expired, revoked, malformed): replace
 * TOLLGATE_TOKEN when the token came from there, else log in again.
 */
export function refusedTokenHint(envToken: string | undefined = process.env.TOLLGATE_TOKEN): string {
  return envToken
    ? 'the token in TOLLGATE_TOKEN was refused: set a valid one, or unset it to use your saved login'
    : 'log in again: `tollgate login`';
}

export async function currentAccessToken(config: CliConfig = loadCliConfig()): Promise<string> {
  if (config.token) return config.token;
  const saved = savedLogin(config);
  if (refreshDueAt(saved) > Date.now() / 1000) return saved.accessToken;
  if (!saved.refreshToken) {
    throw new NotLoggedInError('the saved token has expired: run `tollgate login` again');
  }
  // Another process using the same login (a second `connect`, any command) may be refreshing it
  // too: a refresh token works once, and presenting it twice revokes the whole login. One refresh
  // at a time, and whoever comes second uses what the first wrote.
  return withRefreshLock(config.credentialsFile, async () => {
    const current = savedLogin(config);
    if (refreshDueAt(current) > Date.now() / 1000) return current.accessToken;
    return refresh(config, current);
  });
}

/** The saved login for the configured gateway, read from the file as it is now. */
function savedLogin(config: CliConfig): StoredCredentials {
  const saved = readCredentials(config.credentialsFile);
  if (!saved) {
    throw new NotLoggedInError('not logged in: run `tollgate login` (or set TOLLGATE_TOKEN)');
  }
  if (saved.gatewayUrl !== config.gatewayUrl) {
    // Never send one gateway's token to another.
    throw new NotLoggedInError(
      `logged in to ${saved.gatewayUrl}, not ${config.gatewayUrl}: run \`tollgate login\` for this gateway`,
    );
  }
  return saved;
}

async function refresh(config: CliConfig, saved: StoredCredentials): Promise<string> {
  if (!saved.refreshToken) {
    throw new NotLoggedInError('the saved token has expired: run `tollgate login` again');
  }
  try {
    const refreshed = await callTokenEndpoint(saved.gatewayUrl, {
      grant_type: 'refresh_token',
      refresh_token: saved.refreshToken,
    });
    // A `tollgate login` (which takes no lock) replaced the file meanwhile: the new login wins.
    const latest = readCredentials(config.credentialsFile);
    if (latest && latest.refreshToken !== saved.refreshToken) {
      return refreshDueAt(latest) > Date.now() / 1000 ? latest.accessToken : refresh(config, latest);
    }
    writeCredentials(config.credentialsFile, {
      ...saved,
      accessToken: refreshed.access_token,
      refreshToken: refreshed.refresh_token ?? saved.refreshToken,
      expiresAt: Math.floor(Date.now() / 1000) + refreshed.expires_in,
    });
    return refreshed.access_token;
  } catch (error) {
    throw new NotLoggedInError(
      `the login could not be refreshed (${error instanceof Error ? error.message : String(error)}): run \`tollgate login\` again`,
    );
  }
}

/** A lock file beside the credentials; one older than this is left from a process that died. */
const STALE_LOCK_MS = 30_000;

async function withRefreshLock<T>(file: string, run: () => Promise<T>): Promise<T> {
  const lock = `${file}.lock`;
  const deadline = Date.now() + STALE_LOCK_MS;
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx', 0o600));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const age = Date.now() - (statMtime(lock) ?? Date.now());
      if (age > STALE_LOCK_MS || Date.now() > deadline) rmSync(lock, { force: true });
      else await sleep(50);
    }
  }
  try {
    return await run();
  } finally {
    rmSync(lock, { force: true });
  }
}

function statMtime(file: string): number | undefined {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

/**
 * While a long-running command (`tollgate connect`) runs, refreshes the saved login shortly before
 * its access token expires, so it is still usable after a quiet spell longer than the refresh
 * token's idle limit. With TOLLGATE_TOKEN set there is nothing to refresh. Returns a stop function.
 */
export function keepLoginFresh(
  onError: (message: string) => void,
  config: CliConfig = loadCliConfig(),
): () => void {
  if (config.token) return () => undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let lastError: string | undefined;
  const schedule = (delayMs?: number) => {
    if (stopped) return;
    let due = delayMs;
    if (due === undefined) {
      try {
        due = refreshDueAt(savedLogin(config)) * 1000 - Date.now();
      } catch {
        due = STALE_LOCK_MS;
      }
    }
    timer = setTimeout(
      () => {
        currentAccessToken(config).then(
          () => {
            lastError = undefined;
            schedule();
          },
          (error: unknown) => {
            const message = error instanceof Error ? error.message : String(error);
            if (message !== lastError) onError(message);
            lastError = message;
            schedule(STALE_LOCK_MS);
          },
        );
      },
      Math.max(1_000, due),
    );
    timer.unref();
  };
  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
