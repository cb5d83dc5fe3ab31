import { Command } from 'commander';
import { loadCliConfig } from '@tollgate/config';
import { readCredentials, removeCredentials } from '../credentials/credentials-file';

/** `tollgate logout`: revokes the saved login at the gateway and deletes the credentials file. */
export function logoutCommand(): Command {
  return new Command('logout')
    .description('revoke the saved login and delete the credentials file')
    .action(async () => {
      const config = loadCliConfig();
      const saved = readCredentials(config.credentialsFile);
      if (saved) {
        await fetch(`${saved.gatewayUrl}/oauth/revoke`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          // The refresh token ends the whole login; a service account's has only the access token.
          body: new URLSearchParams({ token: saved.refreshToken ?? saved.accessToken }).toString(),
          signal: AbortSignal.timeout(10_000),
        }).catch(() => undefined);
      }
      process.stdout.write(removeCredentials(config.credentialsFile) ? 'Logged out.\n' : 'Not logged in.\n');
    });
}
