import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadGatewayConfig } from './index';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-saml-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function keyPair(name: string, type = 'rsa:2048'): { key: string; cert: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      type,
      '-nodes',
      '-days',
      '1',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { key, cert };
}

const problemsOf = (env: Record<string, string>, overrides = {}) => {
  try {
    loadGatewayConfig(overrides, env);
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
};

describe('SAML settings', () => {
  const metadata = join(dir, 'idp.xml');
  writeFileSync(metadata, '<EntityDescriptor/>');

  it('are off by default, with documented defaults', () => {
    expect(loadGatewayConfig({}, {})).toMatchObject({
      samlIdpMetadata: undefined,
      samlGroupsAttribute: 'groups',
      samlClockSkewSeconds: 60,
      samlMaxAssertionAgeSeconds: 600,
      samlAllowIdpInitiated: false,
      devSaml: false,
      devSamlPort: 8012,
    });
  });

  it('take the metadata as an https URL, a loopback http URL or a readable file', () => {
    for (const source of ['https://idp.example/metadata', 'http://127.0.0.1:8012/saml/metadata', metadata]) {
      expect(loadGatewayConfig({}, { TOLLGATE_SAML_IDP_METADATA: source }).samlIdpMetadata).toBe(source);
    }
    expect(problemsOf({ TOLLGATE_SAML_IDP_METADATA: 'http://idp.example/metadata' })).toEqual([
      'TOLLGATE_SAML_IDP_METADATA: expected an https URL (http only on loopback) or a file path, got "http://idp.example/metadata"',
    ]);
    expect(problemsOf({ TOLLGATE_SAML_IDP_METADATA: '/nonexistent/idp.xml' })).toEqual([
      'TOLLGATE_SAML_IDP_METADATA: cannot read /nonexistent/idp.xml (ENOENT)',
    ]);
    expect(problemsOf({ TOLLGATE_SAML_IDP_METADATA: metadata }, { devSaml: true })[0]).toMatch(
      /^TOLLGATE_DEV_SAML: expected false when TOLLGATE_SAML_IDP_METADATA is set/,
    );
  });

  it('check key files: readable, RSA, and matching their certificate', () => {
    const sp = keyPair('sp');
    const other = keyPair('other');
    execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-out', join(dir, 'p256.pem')]);
    const ec = keyPair('ec', 'ec:' + join(dir, 'p256.pem'));
    const base = { TOLLGATE_SAML_IDP_METADATA: metadata };
    expect(problemsOf({ ...base, TOLLGATE_SAML_SP_KEY: sp.key, TOLLGATE_SAML_SP_CERT: sp.cert })).toEqual([]);
    expect(problemsOf({ ...base, TOLLGATE_SAML_SP_KEY: sp.key })).toEqual([
      'TOLLGATE_SAML_SP_KEY and TOLLGATE_SAML_SP_CERT: set both or neither',
    ]);
    expect(
      problemsOf({
        ...base,
        TOLLGATE_SAML_DECRYPTION_KEY: sp.key,
        TOLLGATE_SAML_DECRYPTION_CERT: other.cert,
      }),
    ).toEqual([
      `TOLLGATE_SAML_DECRYPTION_CERT: ${other.cert} does not belong to the key in TOLLGATE_SAML_DECRYPTION_KEY`,
    ]);
    expect(problemsOf({ ...base, TOLLGATE_SAML_SP_KEY: ec.key, TOLLGATE_SAML_SP_CERT: ec.cert })[0]).toMatch(
      /^TOLLGATE_SAML_SP_KEY: expected an RSA private key/,
    );
    expect(problemsOf({ ...base, TOLLGATE_SAML_IDP_CERTS: `${sp.cert}, ${sp.key}` })).toEqual([
      `TOLLGATE_SAML_IDP_CERTS: ${sp.key} is not a PEM certificate`,
    ]);
  });

  it('refuse SAML settings while SAML is off (a typo in the metadata setting would go unnoticed)', () => {
    const sp = keyPair('lonely');
    expect(problemsOf({ TOLLGATE_SAML_SP_KEY: sp.key, TOLLGATE_SAML_SP_CERT: sp.cert })[0]).toBe(
      'TOLLGATE_SAML_SP_KEY: set, but SAML is off (expected TOLLGATE_SAML_IDP_METADATA or --dev-saml too)',
    );
    expect(problemsOf({ TOLLGATE_SAML_CLOCK_SKEW_SECONDS: '900' })[0]).toMatch(
      /^TOLLGATE_SAML_CLOCK_SKEW_SECONDS: expected seconds of clock difference allowed/,
    );
    expect(problemsOf({ TOLLGATE_SAML_ALLOW_IDP_INITIATED: 'sometimes' })[0]).toMatch(
      /^TOLLGATE_SAML_ALLOW_IDP_INITIATED: expected true or false/,
    );
  });
});
