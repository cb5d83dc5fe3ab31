import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCliConfig } from '@tollgate/config';
import { makeTempDir } from '@tollgate/testing';
import { currentAccessToken } from './access-token';
import { readCredentials, writeCredentials } from './credentials-file';

/** A JWT-shaped token (unsigned: the CLI only peeks at it) issued now, living `ttl` seconds. */
function token(name: string, issuedAt: number, ttl: number): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none' })}.${part({ sub: name, iat: issuedAt, exp: issuedAt + ttl })}.x`;
}

/**
 * The saved login's refresh as several processes meet it: a token endpoint on loopback that rotates
 * refresh tokens (each works once, as the gateway's do) and counts the refreshes it served.
 */
describe('currentAccessToken refreshing a saved login', () => {
  let server: Server;
  let url: string;
  const used = new Set<string>();
  let refreshes = 0;
  const dir = makeTempDir('tollgate-cred-');

  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        const form = new URLSearchParams(body);
        const presented = form.get('refresh_token') ?? '';
        // Slow enough that concurrent callers overlap.
        setTimeout(() => {
          if (used.has(presented)) {
            response.writeHead(400, { 'content-type': 'application/json' });
            response.end(JSON.stringify({ error: 'invalid_grant', error_description: 'reuse' }));
            return;
          }
          used.add(presented);
          refreshes++;
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end(
            JSON.stringify({
              access_token: token(`refreshed-${refreshes}`, Math.floor(Date.now() / 1000), 60),
              token_type: 'Bearer',
              expires_in: 60,
              scope: '',
              refresh_token: `refresh-${refreshes}`,
            }),
          );
        }, 100);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(() => {
    server.close();
    dir.remove();
  });

  const save = (file: string, accessToken: string, expiresAt: number) =>
    writeCredentials(file, {
      gatewayUrl: url,
      accessToken,
      expiresAt,
      refreshToken: 'refresh-0',
      subject: 'user:ada',
      name: 'Ada',
    });

  it('refreshes once when many callers find the token due at the same time, and all get the new one', async () => {
    const file = join(dir.path, 'due.json');
    const now = Math.floor(Date.now() / 1000);
    save(file, token('old', now - 10, 12), now + 2);
    const config = loadCliConfig({}, { TOLLGATE_URL: url, TOLLGATE_CREDENTIALS_FILE: file });
    const before = refreshes;
    const tokens = await Promise.all(Array.from({ length: 5 }, () => currentAccessToken(config)));
    expect(refreshes - before).toBe(1);
    expect(new Set(tokens).size).toBe(1);
    expect(readCredentials(file)).toMatchObject({
      accessToken: tokens[0],
      refreshToken: `refresh-${refreshes}`,
    });
  });

  it('keeps a token that is not due, and scales the margin down for short-lived tokens', async () => {
    const file = join(dir.path, 'fresh.json');
    const now = Math.floor(Date.now() / 1000);
    // A 12 s token with 8 s left: not due (margin 3 s), though under the usual 30 s margin.
    const fresh = token('fresh', now - 4, 12);
    save(file, fresh, now + 8);
    const config = loadCliConfig({}, { TOLLGATE_URL: url, TOLLGATE_CREDENTIALS_FILE: file });
    const before = refreshes;
    expect(await currentAccessToken(config)).toBe(fresh);
    expect(refreshes).toBe(before);
  });

  it('reads the file at every call: a new login counts at once', async () => {
    const file = join(dir.path, 'relogin.json');
    const now = Math.floor(Date.now() / 1000);
    save(file, token('first', now, 600), now + 600);
    const config = loadCliConfig({}, { TOLLGATE_URL: url, TOLLGATE_CREDENTIALS_FILE: file });
    expect(await currentAccessToken(config)).toBe(token('first', now, 600));
    save(file, token('second', now, 600), now + 600);
    expect(await currentAccessToken(config)).toBe(token('second', now, 600));
  });
});
