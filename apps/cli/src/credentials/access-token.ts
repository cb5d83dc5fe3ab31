import { loadCliConfig, type CliConfig } from '@tollgate/config';
import { readCredentials, writeCredentials } from './credentials-file';
import { callTokenEndpoint } from './token-endpoint';

/** No usable token: the message tells the user what to do. */
export class NotLoggedInError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotLoggedInError';
  }
}

// Refresh a little before expiry, so a token does not expire on its way to the gateway.
const REFRESH_MARGIN_SECONDS = 30;

/**
 * The access token every command sends: TOLLGATE_TOKEN when set (a child process given a delegated
 * token uses exactly that), else the saved login, refreshed (and the refresh token rotated) when it
 * is about to expire.
 */
export async function currentAccessToken(config: CliConfig = loadCliConfig()): Promise<string> {
  if (config.token) return config.token;
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
  if (saved.expiresAt - REFRESH_MARGIN_SECONDS > Date.now() / 1000) return saved.accessToken;
  if (!saved.refreshToken) {
    throw new NotLoggedInError('the saved token has expired: run `tollgate login` again');
  }
  try {
    const refreshed = await callTokenEndpoint(saved.gatewayUrl, {
      grant_type: 'refresh_token',
      refresh_token: saved.refreshToken,
    });
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
