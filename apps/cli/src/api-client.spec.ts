import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiCallError, ApiClient } from './api-client';

describe('ApiCallError: what the CLI prints for a refused API call', () => {
  it('says a validation error once when the detail already carries it', () => {
    const message = 'bad.yaml:2:1: rules: unknown key "rules": did you mean "roles"?';
    const error = new ApiCallError(400, {
      title: 'Bad Request',
      detail: `document.rules: ${message}`,
      errors: [{ field: 'document.rules', message }],
    });
    expect(error.message).toBe(`Bad Request (400): document.rules: ${message}`);
    // As the gateway now says it: a problem inside the document names its own place, once.
    const positioned = new ApiCallError(400, {
      title: 'Bad Request',
      detail: message,
      errors: [{ field: 'document.rules', message, line: 2, column: 1 }],
    });
    expect(positioned.message).toBe(`Bad Request (400): ${message}`);
  });

  it('adds the field errors the detail does not name', () => {
    const error = new ApiCallError(400, {
      title: 'Bad Request',
      detail: 'the connection is invalid',
      errors: [
        { field: 'target.port', message: 'must be 1-65535' },
        { field: 'name', message: 'must be a DNS label' },
      ],
    });
    expect(error.message).toBe(
      'Bad Request (400): the connection is invalid: target.port: must be 1-65535; name: must be a DNS label',
    );
  });
});

describe('ApiClient: a refused token says what to do about it', () => {
  // Restored key by key: assigning a new object to process.env would leave a plain object behind,
  // which os.homedir() and child processes no longer read.
  const saved = { ...process.env };
  afterEach(() => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  });

  async function refusingGateway(): Promise<{ url: string; close: () => void }> {
    const server = createServer((_req, res) => {
      res.writeHead(401, { 'content-type': 'application/problem+json' });
      res.end(JSON.stringify({ title: 'Unauthorized', detail: 'invalid token: the token has expired' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
  }

  it('names TOLLGATE_TOKEN when that is where the token came from', async () => {
    const gateway = await refusingGateway();
    try {
      process.env.TOLLGATE_TOKEN = 'stale';
      await expect(ApiClient.fromEnvironment(gateway.url).call('GET', '/api/v1/connections')).rejects.toThrow(
        'Unauthorized (401): invalid token: the token has expired (the token in TOLLGATE_TOKEN was refused',
      );
    } finally {
      gateway.close();
    }
  });

  it('says why no token was sent (not logged in) instead of the gateway\'s "no bearer token"', async () => {
    const gateway = await refusingGateway();
    const home = mkdtempSync(join(tmpdir(), 'tollgate-api-client-'));
    try {
      delete process.env.TOLLGATE_TOKEN;
      // No saved login there (whatever the machine's own ~/.tollgate holds).
      process.env.TOLLGATE_CREDENTIALS_FILE = join(home, 'credentials.json');
      await expect(ApiClient.fromEnvironment(gateway.url).call('GET', '/api/v1/sessions')).rejects.toThrow(
        /^not logged in: run `tollgate login`/,
      );
    } finally {
      gateway.close();
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('says to log in again when the saved login was refused', async () => {
    const gateway = await refusingGateway();
    try {
      delete process.env.TOLLGATE_TOKEN;
      const client = new ApiClient(gateway.url, 'revoked', 'log in again: `tollgate login`');
      await expect(client.call('GET', '/api/v1/connections')).rejects.toThrow(
        'invalid token: the token has expired (log in again: `tollgate login`)',
      );
      // Other refusals carry no such hint.
      expect(new ApiCallError(403, { title: 'Forbidden', detail: 'no' }).message).toBe('Forbidden (403): no');
    } finally {
      gateway.close();
    }
  });
});
