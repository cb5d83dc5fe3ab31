import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import type { KoaLikeContext, Provider } from 'oidc-provider';
import type { Logger } from 'pino';
import { demoUsers, type DemoUser } from './demo-users';
import { devIdpMemoryAdapter } from './dev-idp-memory.adapter';
import { addressInUse } from '../../../common/errors/address-in-use';

export interface DevIdp {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly users: DemoUser[];
  close(): Promise<void>;
}

export interface StartDevIdpOptions {
  readonly host: string;
  readonly port: number;
  /** The gateway's OIDC callback, registered as the client's only redirect URI. */
  readonly redirectUri: string;
  readonly logger: Logger;
}

const CLIENT_ID = 'tollgate-gateway';

/**
 * A real OpenID Provider (panva's oidc-provider) with the demo users, run in the gateway's process
 * for the quickstart and tests. It has its own login form that checks the documented passwords,
 * and grants Tollgate (its only, first-party client) consent without asking.
 */
export async function startDevIdp(options: StartDevIdpOptions): Promise<DevIdp> {
  const users = demoUsers();
  const clientSecret = randomBytes(24).toString('base64url');
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.statusCode = 503;
    res.end();
  };
  const server = createServer((req, res) => handler(req, res));
  await listen(server, options.host, options.port).catch((error: unknown) => {
    throw addressInUse(
      error,
      'development OIDC identity provider',
      `${options.host}:${options.port}`,
      '--dev-idp-port (or TOLLGATE_DEV_IDP_PORT)',
    );
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;

  // Loaded only when the dev IdP runs: every other command of the CLI stays free of it.
  const { Provider: OidcProvider } = await import('oidc-provider');
  // A signing key per start: ID tokens of an earlier run are meant to stop verifying.
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signingJwk = { ...(await exportJWK(privateKey)), alg: 'RS256', use: 'sig', kid: randomUUID() };
  const provider = new OidcProvider(issuer, {
    adapter: devIdpMemoryAdapter(),
    jwks: { keys: [signingJwk] },
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: clientSecret,
        redirect_uris: [options.redirectUri],
        grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    findAccount: async (_ctx: unknown, sub: string) => {
      const user = users.find((u) => u.username === sub);
      if (!user) return undefined;
      return {
        accountId: sub,
        claims: async () => ({
          sub,
          email: user.email,
          email_verified: true,
          name: user.name,
          preferred_username: user.username,
          groups: [...user.groups],
        }),
      };
    },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
      groups: ['groups'],
    },
    conformIdTokenClaims: false,
    features: {
      devInteractions: { enabled: false },
      deviceFlow: {
        enabled: true,
        userCodeInputSource: async (ctx: { body: string }, form: string) => {
          ctx.body = page('Enter the code shown by `tollgate login --device`', form, 'op.deviceInputForm');
        },
        userCodeConfirmSource: async (
          ctx: { body: string },
          form: string,
          _c: unknown,
          _d: unknown,
          code: string,
        ) => {
          ctx.body = page(`Confirm the login of the device showing ${code}`, form, 'op.deviceConfirmForm');
        },
        successSource: async (ctx: { body: string }) => {
          ctx.body = page('Signed in. You can return to your device.', '', undefined);
        },
      },
    },
    pkce: { required: () => true },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }) =>
      client.grantTypeAllowed('refresh_token'),
    // Tollgate is this IdP's only client and first party: consent is implied.
    loadExistingGrant: async (ctx: KoaLikeContext) => {
      const { client, session, result, provider: p } = ctx.oidc;
      if (!client || !session?.accountId) return undefined;
      const existing = result?.consent?.grantId ?? session.grantIdFor(client.clientId);
      if (existing) return p.Grant.find(existing);
      const grant = new p.Grant({ accountId: session.accountId, clientId: client.clientId });
      grant.addOIDCScope('openid email profile groups offline_access');
      grant.addOIDCClaims(['email', 'email_verified', 'name', 'preferred_username', 'groups']);
      await grant.save();
      return grant;
    },
    ttl: {
      AccessToken: 600,
      IdToken: 600,
      RefreshToken: 86_400,
      Interaction: 600,
      Session: 3600,
      Grant: 86_400,
    },
  });
  const log = options.logger;
  provider.on('server_error', (_ctx, error) => log.error({ err: error }, 'dev IdP error'));

  const providerHandler = provider.callback();
  handler = (req, res) => {
    const match = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/.exec((req.url ?? '').split('?')[0] ?? '');
    if (!match) return providerHandler(req, res);
    handleInteraction(provider, users, req, res, match[2] !== undefined).catch((error: unknown) => {
      log.warn({ err: error }, 'dev IdP interaction failed');
      if (!res.headersSent) {
        res.statusCode = 400;
        res.setHeader('content-type', 'text/plain; charset=utf-8');
      }
      res.end('login failed: the login session expired or is invalid; start again');
    });
  };
  log.info({ issuer, users: users.map((u) => u.username) }, 'development identity provider listening');

  return {
    issuer,
    clientId: CLIENT_ID,
    clientSecret,
    users,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function handleInteraction(
  provider: Provider,
  users: readonly DemoUser[],
  req: IncomingMessage,
  res: ServerResponse,
  submitted: boolean,
): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name !== 'login') {
    // Consent is implied by loadExistingGrant; nothing else to ask.
    await provider.interactionFinished(req, res, {}, { mergeWithLastSubmission: true });
    return;
  }
  if (!submitted || req.method !== 'POST') return sendLoginForm(res, details.uid);
  const form = new URLSearchParams(await readBody(req));
  const user = users.find((u) => u.username === form.get('login'));
  if (!user || user.password !== form.get('password')) {
    return sendLoginForm(res, details.uid, 'Unknown user or wrong password.');
  }
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId: user.username } },
    { mergeWithLastSubmission: false },
  );
}

function sendLoginForm(res: ServerResponse, uid: string, error?: string): void {
  res.statusCode = error ? 401 : 200;
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.end(`<!doctype html>
<html><head><meta charset="utf-8"><title>Tollgate dev IdP: sign in</title></head>
<body>
<h1>Tollgate development identity provider</h1>
<p>Demo users: admin, dba, developer, auditor (password: &lt;user&gt;-demo).</p>
${error ? `<p role="alert">${error}</p>` : ''}
<form method="post" action="/interaction/${uid}/login">
<label>User <input name="login" autocomplete="username" autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button>
</form>
</body></html>`);
}

/** The dev IdP's own device-flow pages (oidc-provider's defaults load web fonts from the internet). */
function page(title: string, form: string, formId: string | undefined): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Tollgate dev IdP</title></head>
<body><h1>Tollgate development identity provider</h1><p>${title}</p>
${form}
${formId ? `<button type="submit" form="${formId}">Continue</button>` : ''}
</body></html>`;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > 16_384) req.destroy(new Error('form too large'));
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
