import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Command, Option } from 'commander';
import { loadCliConfig, type CliConfig } from '@tollgate/config';
import { peekClaims, writeCredentials } from '../credentials/credentials-file';
import {
  callTokenEndpoint,
  TokenEndpointError,
  type TokenEndpointResponse,
} from '../credentials/token-endpoint';

interface LoginFlags {
  gateway?: string;
  clientId?: string;
  device?: boolean;
  idp?: 'oidc' | 'saml';
  timeout?: string;
}

/**
 * `tollgate login`: a person's login through the gateway's identity provider, OIDC or SAML
 * (authorization code + PKCE with a loopback redirect; --device for a code entered on another
 * device; --idp picks the IdP when the gateway offers both), or a service account's client
 * credentials with --client-id (secret in TOLLGATE_CLIENT_SECRET). The tokens are saved in the
 * credentials file, readable only by the user.
 */
export function loginCommand(): Command {
  return new Command('login')
    .description(
      'log in (OIDC or SAML in the browser, --device, or --client-id for a service account) and save the tokens',
    )
    .addOption(
      new Option('--gateway <url>', 'gateway HTTP URL (default http://127.0.0.1:8009; or TOLLGATE_URL)'),
    )
    .addOption(
      new Option('--client-id <name>', 'log in as this service account (secret in TOLLGATE_CLIENT_SECRET)'),
    )
    .addOption(
      new Option('--device', 'headless: log in on another device with a code (device authorization grant)'),
    )
    .addOption(
      new Option(
        '--idp <kind>',
        'the identity provider when the gateway offers both (without it the browser asks; --device uses OIDC)',
      ).choices(['oidc', 'saml']),
    )
    .addOption(new Option('--timeout <seconds>', 'how long to wait for the browser login').default('300'))
    .action(async (flags: LoginFlags) => {
      const config = loadCliConfig({ gatewayUrl: flags.gateway });
      const timeoutMs = Number(flags.timeout) * 1000;
      const tokens = flags.clientId
        ? await clientCredentialsLogin(config, flags.clientId)
        : flags.device
          ? await deviceLogin(config, timeoutMs, flags.idp)
          : await browserLogin(config, timeoutMs, flags.idp);
      const claims = peekClaims(tokens.access_token);
      const subject = claims.sub ?? '?';
      const name = claims.name ?? subject;
      writeCredentials(config.credentialsFile, {
        gatewayUrl: config.gatewayUrl,
        accessToken: tokens.access_token,
        refreshToken: tokens.refresh_token,
        expiresAt: Math.floor(Date.now() / 1000) + tokens.expires_in,
        subject,
        name,
      });
      const groups = claims.groups.join(', ');
      process.stdout.write(
        `Logged in to ${config.gatewayUrl} as ${name} (${subject}${groups ? `; groups: ${groups}` : ''}).\n` +
          `Credentials saved to ${config.credentialsFile}\n`,
      );
    });
}

async function clientCredentialsLogin(config: CliConfig, clientId: string): Promise<TokenEndpointResponse> {
  if (!config.clientSecret) throw new Error('TOLLGATE_CLIENT_SECRET must hold the service account secret');
  return callTokenEndpoint(config.gatewayUrl, {
    grant_type: 'client_credentials',
    client_id: clientId,
    client_secret: config.clientSecret,
  });
}

/** RFC 8628 through the gateway: show the code and URL, poll until the user has approved it. */
async function deviceLogin(
  config: CliConfig,
  timeoutMs: number,
  idp: string | undefined,
): Promise<TokenEndpointResponse> {
  const response = await fetch(`${config.gatewayUrl}/oauth/device_authorization`, {
    method: 'POST',
    ...(idp
      ? {
          headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ idp }).toString(),
        }
      : { headers: { accept: 'application/json' } }),
    signal: AbortSignal.timeout(30_000),
  });
  const start = (await response.json()) as {
    device_code?: string;
    user_code?: string;
    verification_uri?: string;
    verification_uri_complete?: string;
    interval?: number;
    expires_in?: number;
    error_description?: string;
    detail?: string;
  };
  if (!response.ok || !start.device_code) {
    throw new Error(start.error_description ?? start.detail ?? `HTTP ${response.status}`);
  }
  process.stdout.write(
    `On any device, open ${start.verification_uri} and enter the code ${start.user_code}
` +
      (start.verification_uri_complete
        ? `(or open ${start.verification_uri_complete})
`
        : '') +
      'Waiting for the login...\n',
  );
  let interval = (start.interval ?? 5) * 1000;
  const deadline = Date.now() + Math.min(timeoutMs, (start.expires_in ?? 600) * 1000);
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, interval));
    try {
      return await callTokenEndpoint(config.gatewayUrl, {
        grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
        device_code: start.device_code,
      });
    } catch (error) {
      if (!(error instanceof TokenEndpointError)) throw error;
      if (error.error === 'slow_down') interval += 5000;
      else if (error.error !== 'authorization_pending') throw new Error(`login failed: ${error.message}`);
    }
  }
  throw new Error('the device login was not completed in time');
}

/**
 * Loopback redirect + PKCE (RFC 8252): a listener on 127.0.0.1 receives the gateway's one-time
 * code, which only this process can redeem (it alone knows the code verifier).
 */
async function browserLogin(
  config: CliConfig,
  timeoutMs: number,
  idp: string | undefined,
): Promise<TokenEndpointResponse> {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  let settle: (result: { code?: string; error?: string }) => void = () => undefined;
  const callback = new Promise<{ code?: string; error?: string }>((resolve) => (settle = resolve));

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/callback' || url.searchParams.get('state') !== state) {
      res.statusCode = 404;
      res.end();
      return;
    }
    const error = url.searchParams.get('error_description') ?? url.searchParams.get('error') ?? undefined;
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(
      error
        ? `<!doctype html><title>Tollgate</title><p>Login failed: ${escapeHtml(error)}</p>`
        : '<!doctype html><title>Tollgate</title><p>Logged in. You can close this tab and return to the terminal.</p>',
    );
    settle({ code: url.searchParams.get('code') ?? undefined, error });
  });
  await listen(server);
  try {
    const redirectUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`;
    const loginUrl = `${config.gatewayUrl}/auth/login?${new URLSearchParams({
      ...(idp ? { idp } : {}),
      redirect_uri: redirectUri,
      state,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString()}`;
    process.stdout.write(
      `Open this URL in your browser to log in:\n\n  ${loginUrl}\n\nWaiting for the login...\n`,
    );
    if (process.stdout.isTTY) openBrowser(loginUrl);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no login within ${timeoutMs / 1000} s`)), timeoutMs);
    });
    const result = await Promise.race([callback, timeout]).finally(() => clearTimeout(timer));
    if (!result.code) throw new Error(`login failed: ${result.error ?? 'no code returned'}`);
    return await callTokenEndpoint(config.gatewayUrl, {
      grant_type: 'authorization_code',
      code: result.code,
      code_verifier: verifier,
      redirect_uri: redirectUri,
    });
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

/** Best effort, on a terminal only: the URL is printed anyway. */
function openBrowser(url: string): void {
  const command =
    process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer.exe' : 'xdg-open';
  try {
    const child = spawn(command, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // no opener on this machine
  }
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
