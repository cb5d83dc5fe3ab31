import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadCliConfig } from './index';

describe('loadCliConfig: TOLLGATE_TOKEN fails closed', () => {
  it('takes a set token', () => {
    expect(loadCliConfig({}, { TOLLGATE_TOKEN: 'abc.def.ghi' }).token).toBe('abc.def.ghi');
  });

  it('leaves the token unset when the variable is absent (the saved login is used)', () => {
    expect(loadCliConfig({}, {}).token).toBeUndefined();
  });

  it('refuses a set but blank TOLLGATE_TOKEN, whatever the blank, naming the variable', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[ \t\r\n]*$/), (blank) => {
        let error: unknown;
        try {
          loadCliConfig({}, { TOLLGATE_TOKEN: blank });
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as ConfigError).problems).toEqual([
          expect.stringMatching(/^TOLLGATE_TOKEN is set but empty: .*unset TOLLGATE_TOKEN/),
        ]);
      }),
    );
  });

  it('still treats other blank variables as unset', () => {
    const none = { TOLLGATE_CREDENTIALS_FILE: '/nonexistent/credentials.json' };
    expect(loadCliConfig({}, { ...none, TOLLGATE_URL: '', TOLLGATE_CLIENT_SECRET: ' ' }).gatewayUrl).toBe(
      'http://127.0.0.1:8009',
    );
  });
});

describe('loadCliConfig: the gateway a saved login belongs to', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-cli-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'credentials.json');
  writeFileSync(file, JSON.stringify({ gatewayUrl: 'https://gw.example.com', accessToken: 'a.b.c' }));
  const env = { TOLLGATE_CREDENTIALS_FILE: file };

  it('is where commands go when neither --gateway nor TOLLGATE_URL says otherwise', () => {
    expect(loadCliConfig({}, env).gatewayUrl).toBe('https://gw.example.com');
  });

  it('gives way to --gateway and TOLLGATE_URL', () => {
    expect(loadCliConfig({ gatewayUrl: 'http://127.0.0.1:9009' }, env).gatewayUrl).toBe(
      'http://127.0.0.1:9009',
    );
    expect(loadCliConfig({}, { ...env, TOLLGATE_URL: 'http://127.0.0.1:9010/' }).gatewayUrl).toBe(
      'http://127.0.0.1:9010',
    );
  });

  it('is not where a TOLLGATE_TOKEN goes: a pipeline token never follows a login saved for another gateway', () => {
    expect(loadCliConfig({}, { ...env, TOLLGATE_TOKEN: 'x.y.z' }).gatewayUrl).toBe('http://127.0.0.1:8009');
  });

  it('falls back to the local default when the file is missing or not a login', () => {
    expect(loadCliConfig({}, { TOLLGATE_CREDENTIALS_FILE: join(dir, 'missing.json') }).gatewayUrl).toBe(
      'http://127.0.0.1:8009',
    );
    const garbage = join(dir, 'garbage.json');
    writeFileSync(garbage, '{not json');
    expect(loadCliConfig({}, { TOLLGATE_CREDENTIALS_FILE: garbage }).gatewayUrl).toBe(
      'http://127.0.0.1:8009',
    );
  });
});
