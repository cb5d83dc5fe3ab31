import { createHash, randomBytes } from 'node:crypto';
import { postTokenEndpoint, type GatewayTokenResponse } from './gateway-tokens';

/**
 * Plays the browser in an OIDC login against the development IdP over real HTTP: follows redirects,
 * keeps cookies per host, submits each HTML form it is shown (the IdP's login form with the given
 * user and password; device-flow code and confirmation forms as they are). Stops at (without
 * fetching) the first redirect to `stopAt` and returns that URL (with `follow` it fetches it too:
 * a CLI's loopback listener); without `stopAt`, returns the URL of the first page with no form.
 */
export async function completeBrowserLogin(
  startUrl: string,
  username: string,
  password: string,
  options: { stopAt?: string; follow?: boolean } = {},
): Promise<URL> {
  const jar = new Map<string, Map<string, string>>();
  const cookieHeader = (url: URL) =>
    [...(jar.get(url.host) ?? new Map<string, string>()).entries()].map(([k, v]) => `${k}=${v}`).join('; ');
  const remember = (url: URL, response: Response) => {
    const cookies = jar.get(url.host) ?? new Map<string, string>();
    for (const line of response.headers.getSetCookie()) {
      const pair = line.split(';')[0] ?? '';
      const eq = pair.indexOf('=');
      cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    jar.set(url.host, cookies);
  };
  const typed: Record<string, string> = { login: username, password };

  let url = new URL(startUrl);
  let init: RequestInit = { method: 'GET' };
  for (let hop = 0; hop < 30; hop++) {
    if (options.stopAt && url.href.startsWith(options.stopAt)) {
      if (options.follow) await (await fetch(url)).text();
      return url;
    }
    const response = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), cookie: cookieHeader(url) },
    });
    remember(url, response);
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      url = new URL(location, url);
      init = { method: 'GET' };
      continue;
    }
    const body = await response.text();
    if (response.status >= 400) {
      throw new Error(`login stopped at ${url.href} (HTTP ${response.status}): ${body.slice(0, 300)}`);
    }
    const form = /<form\b[^>]*>([\s\S]*?)<\/form>/i.exec(body);
    const action = form ? /action="([^"]*)"/.exec(form[0])?.[1] : undefined;
    if (!form || action === undefined) {
      if (!options.stopAt) return url;
      throw new Error(`login stopped at ${url.href} (HTTP ${response.status}): ${body.slice(0, 300)}`);
    }
    const fields = new URLSearchParams();
    for (const input of form[1].matchAll(/<input\b[^>]*>/gi)) {
      const name = /name="([^"]*)"/.exec(input[0])?.[1];
      if (!name) continue;
      fields.set(name, typed[name] ?? /value="([^"]*)"/.exec(input[0])?.[1] ?? '');
    }
    url = new URL(action.replace(/&amp;/g, '&'), url);
    init = {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: fields.toString(),
    };
  }
  throw new Error('too many redirects during login');
}

/**
 * Logs a dev-IdP demo user in to the gateway exactly as `tollgate login` does (gateway
 * `/auth/login` with PKCE → IdP login form → gateway code → `POST /oauth/token`), minus the
 * loopback listener: the code is read from the final redirect. Users: admin, dba, developer,
 * auditor; password `<user>-demo`.
 */
export async function loginDevUser(
  httpUrl: string,
  username: string,
  password = `${username}-demo`,
  redirectUri = 'http://127.0.0.1:9/callback',
): Promise<GatewayTokenResponse> {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const state = randomBytes(8).toString('hex');
  const start = `${httpUrl}/auth/login?${new URLSearchParams({
    idp: 'oidc',
    redirect_uri: redirectUri,
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString()}`;
  const final = await completeBrowserLogin(start, username, password, { stopAt: redirectUri });
  const code = final.searchParams.get('code');
  if (!code || final.searchParams.get('state') !== state) {
    throw new Error(
      `login of ${username} failed: ${final.searchParams.get('error_description') ?? final.href}`,
    );
  }
  const { status, body } = await postTokenEndpoint(httpUrl, {
    grant_type: 'authorization_code',
    code,
    code_verifier: verifier,
    redirect_uri: redirectUri,
  });
  if (status !== 200) throw new Error(`code exchange for ${username} failed: ${JSON.stringify(body)}`);
  return body as unknown as GatewayTokenResponse;
}
