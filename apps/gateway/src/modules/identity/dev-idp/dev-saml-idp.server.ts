import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ServiceProviderInstance } from 'samlify';
import type { Logger } from 'pino';
import { escapeHtml } from '../http/identity-pages';
import { selfSignedRsa } from '../saml/self-signed';
import { demoUsers, type DemoUser } from './demo-users';
import { SamlIdpEntity } from './saml-response-builder';
import { addressInUse } from '../../../common/errors/address-in-use';

/** The development SAML IdP as the gateway reports it (its banner, tests). */
export interface DevSamlIdp {
  readonly entityId: string;
  readonly metadataUrl: string;
  readonly users: DemoUser[];
  close(): Promise<void>;
}

export interface StartedDevSamlIdp extends DevSamlIdp {
  readonly metadataXml: string;
  /** The gateway's SP metadata: where responses go, which certificate encrypts them. */
  trustServiceProvider(spMetadataXml: string): void;
}

export interface StartDevSamlIdpOptions {
  readonly host: string;
  readonly port: number;
  readonly logger: Logger;
}

interface PendingLogin {
  readonly requestId: string;
  readonly relayState: string;
  readonly expiresAt: number;
}

/**
 * A development SAML 2.0 identity provider (samlify) with the same demo users and passwords as the
 * development OIDC IdP, run in the gateway's process for the quickstart (`--dev-saml`) and tests:
 * it takes AuthnRequests by HTTP-Redirect (checking the gateway's signature), shows a login form,
 * and posts a signed, encrypted response to the gateway's ACS. Its key is made at each start.
 */
export async function startDevSamlIdp(options: StartDevSamlIdpOptions): Promise<StartedDevSamlIdp> {
  const users = demoUsers();
  const pending = new Map<string, PendingLogin>();
  let sp: ServiceProviderInstance | undefined;
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.statusCode = 503;
    res.end();
  };
  const server = createServer((req, res) => handler(req, res));
  await listen(server, options.host, options.port).catch((error: unknown) => {
    throw addressInUse(
      error,
      'development SAML identity provider',
      `${options.host}:${options.port}`,
      '--dev-saml-port (or TOLLGATE_DEV_SAML_PORT)',
    );
  });
  const { port } = server.address() as AddressInfo;
  const base = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  const entity = new SamlIdpEntity(
    `${base}/saml/metadata`,
    `${base}/saml/sso`,
    await selfSignedRsa('tollgate-dev-saml-idp'),
    {
      encrypt: true,
    },
  );
  const metadata = entity.metadataXml();
  const log = options.logger;

  handler = (req, res) => {
    const url = new URL(req.url ?? '/', base);
    const route = async () => {
      if (req.method === 'GET' && url.pathname === '/saml/metadata') {
        res.setHeader('content-type', 'application/samlmetadata+xml; charset=utf-8');
        return res.end(metadata);
      }
      if (req.method === 'GET' && url.pathname === '/saml/sso') return startLogin(req, res, url);
      const login = /^\/saml\/login\/([A-Za-z0-9_-]{32})$/.exec(url.pathname);
      if (req.method === 'POST' && login) return finishLogin(req, res, login[1]);
      res.statusCode = 404;
      res.end('not found');
    };
    route().catch((error: unknown) => {
      log.warn({ err: error }, 'dev SAML IdP request failed');
      if (!res.headersSent) {
        res.statusCode = 400;
        res.setHeader('content-type', 'text/plain; charset=utf-8');
      }
      res.end(`login failed: ${error instanceof Error ? error.message : 'invalid request'}`);
    });
  };

  const startLogin = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    if (!sp) throw new Error('no service provider is registered yet');
    const octetString = (req.url ?? '')
      .split('?')[1]
      ?.split('&')
      .filter((p) => !p.startsWith('Signature='))
      .join('&');
    const parsed = await entity.idp.parseLoginRequest(sp, 'redirect', {
      query: Object.fromEntries(url.searchParams),
      octetString,
    });
    const request = parsed.extract.request as Record<string, string> | undefined;
    if (!request?.id) throw new Error('the AuthnRequest has no ID');
    const uid = randomBytes(24).toString('base64url');
    const now = Date.now();
    for (const [key, value] of pending) if (value.expiresAt < now) pending.delete(key);
    pending.set(uid, {
      requestId: request.id,
      relayState: url.searchParams.get('RelayState') ?? '',
      expiresAt: now + 10 * 60_000,
    });
    sendLoginForm(res, uid);
  };

  const finishLogin = async (req: IncomingMessage, res: ServerResponse, uid: string) => {
    const login = pending.get(uid);
    if (!login || login.expiresAt < Date.now() || !sp)
      throw new Error('the login session expired; start again');
    const form = new URLSearchParams(await readBody(req));
    const user = users.find((u) => u.username === form.get('login'));
    if (!user || user.password !== form.get('password')) {
      return sendLoginForm(res, uid, 'Unknown user or wrong password.');
    }
    pending.delete(uid);
    const samlResponse = await entity.response(
      sp,
      { nameId: user.email, email: user.email, name: user.name, groups: user.groups },
      { InResponseTo: login.requestId },
    );
    const acs = sp.entityMeta.getAssertionConsumerService('post') as string;
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.setHeader('cache-control', 'no-store');
    // The HTTP-POST binding: the browser carries the response to the gateway.
    res.end(`<!doctype html>
<html><head><meta charset="utf-8"><title>Tollgate dev SAML IdP</title></head>
<body onload="document.forms[0].submit()">
<form method="post" action="${escapeHtml(acs)}">
<input type="hidden" name="SAMLResponse" value="${samlResponse}">
<input type="hidden" name="RelayState" value="${escapeHtml(login.relayState)}">
<noscript><button type="submit">Continue to Tollgate</button></noscript>
</form>
</body></html>`);
  };

  log.info(
    { entityId: entity.entityId, users: users.map((u) => u.username) },
    'development SAML identity provider listening',
  );
  return {
    entityId: entity.entityId,
    metadataUrl: `${base}/saml/metadata`,
    metadataXml: metadata,
    users,
    trustServiceProvider(spMetadataXml: string) {
      sp = SamlIdpEntity.serviceProvider(spMetadataXml);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function sendLoginForm(res: ServerResponse, uid: string, error?: string): void {
  res.statusCode = error ? 401 : 200;
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.end(`<!doctype html>
<html><head><meta charset="utf-8"><title>Tollgate dev SAML IdP: sign in</title></head>
<body>
<h1>Tollgate development SAML identity provider</h1>
<p>Demo users: admin, dba, developer, auditor (password: &lt;user&gt;-demo).</p>
${error ? `<p role="alert">${error}</p>` : ''}
<form method="post" action="/saml/login/${uid}">
<label>User <input name="login" autocomplete="username" autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button>
</form>
</body></html>`);
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
