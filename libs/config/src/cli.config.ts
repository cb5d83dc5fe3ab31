import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { readSettings, type Environment, type SettingOverrides, type SettingValues } from './config-source';
import { httpUrl } from './setting-schemas';

/** Settings of the `tollgate` client commands (login, token, connect ...). */
export const cliSettings = {
  gatewayUrl: {
    env: 'TOLLGATE_URL',
    flag: '--gateway',
    schema: httpUrl.default('http://127.0.0.1:8009').transform((value) => value.replace(/\/+$/, '')),
    expected: 'the gateway HTTP URL (default http://127.0.0.1:8009)',
  },
  token: {
    env: 'TOLLGATE_TOKEN',
    secret: true,
    schema: z
      .string()
      .regex(/^[A-Za-z0-9._~+/=-]+$/)
      .optional(),
    expected: 'a Tollgate access token (a JWT or an API key); it takes precedence over the credentials file',
    whenBlank:
      'give it a token, or unset it (`unset TOLLGATE_TOKEN`) to use the saved login; ' +
      'an empty token is refused rather than falling back to the saved login',
  },
  clientSecret: {
    env: 'TOLLGATE_CLIENT_SECRET',
    secret: true,
    schema: z.string().min(1).max(2000).optional(),
    expected: 'the client secret of the service account given to `tollgate login --client-id`',
  },
  credentialsFile: {
    env: 'TOLLGATE_CREDENTIALS_FILE',
    schema: z
      .string()
      .min(1)
      .transform((value) => (isAbsolute(value) ? value : resolve(value)))
      .optional()
      .transform((value) => value ?? join(homedir(), '.tollgate', 'credentials.json')),
    expected: 'a file path for the saved login (default ~/.tollgate/credentials.json)',
  },
} as const;

export type CliConfig = SettingValues<typeof cliSettings>;
export type CliConfigOverrides = SettingOverrides<typeof cliSettings>;

/**
 * The client settings. Without --gateway or TOLLGATE_URL, the gateway is the one the saved login
 * belongs to (`tollgate login --gateway URL` once, then every command goes there), else the local
 * default; with TOLLGATE_TOKEN set, only an explicit URL or the default is used, so a pipeline's
 * token never follows a login saved on the same machine for another gateway.
 */
export function loadCliConfig(overrides: CliConfigOverrides = {}, env?: Environment): CliConfig {
  let saved: string | undefined;
  try {
    const base = readSettings(
      { credentialsFile: cliSettings.credentialsFile, token: cliSettings.token },
      {},
      env,
    );
    saved = base.token ? undefined : savedLoginGateway(base.credentialsFile);
  } catch {
    // A bad setting is reported, with every other, by the full read below.
  }
  return readSettings(cliSettings, overrides, env, saved ? { gatewayUrl: saved } : {});
}

/** The gateway URL recorded in a saved login, if the file holds one (any problem: none). */
function savedLoginGateway(credentialsFile: string): string | undefined {
  try {
    const saved = JSON.parse(readFileSync(credentialsFile, 'utf8')) as { gatewayUrl?: unknown };
    return typeof saved.gatewayUrl === 'string' && saved.gatewayUrl ? saved.gatewayUrl : undefined;
  } catch {
    return undefined;
  }
}
