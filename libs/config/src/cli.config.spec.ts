import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
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
    expect(loadCliConfig({}, { TOLLGATE_URL: '', TOLLGATE_CLIENT_SECRET: ' ' }).gatewayUrl).toBe(
      'http://127.0.0.1:8009',
    );
  });
});
