import { describe, expect, it } from 'vitest';
import { loadAgentConfig } from './agent.config';
import { parseCertificateFingerprint } from './certificate-fingerprint';
import { ConfigError } from './config.error';
import { loadConnectConfig } from './connect.config';

const token = `tga_${'a'.repeat(43)}`;

describe('agent and connect configuration', () => {
  it('dials https gateways with TLS and loopback http gateways in plain text', () => {
    expect(loadAgentConfig({ gateway: 'https://gw.example.com', token }, {}).gateway).toEqual({
      address: 'gw.example.com:8010',
      host: 'gw.example.com',
      tls: true,
    });
    expect(
      loadAgentConfig({}, { TOLLGATE_AGENT_GATEWAY: 'http://127.0.0.1:9', TOLLGATE_AGENT_TOKEN: token })
        .gateway,
    ).toEqual({ address: '127.0.0.1:9', host: '127.0.0.1', tls: false });
  });

  it('refuses plain text to a remote gateway unless --insecure, naming the setting', () => {
    expect(() => loadAgentConfig({ gateway: 'http://gw.example.com:8010', token }, {})).toThrow(
      /--gateway \(or TOLLGATE_AGENT_GATEWAY\): plain text to gw\.example\.com/,
    );
    expect(
      loadAgentConfig({ gateway: 'http://gw.example.com:8010', token, insecure: true }, {}).gateway.tls,
    ).toBe(false);
    expect(() => loadConnectConfig({ grpcUrl: 'http://10.0.0.1' }, {})).toThrow(ConfigError);
  });

  it('rejects a missing or malformed token and a bad URL, naming each setting', () => {
    try {
      loadAgentConfig({ gateway: 'ftp://x' }, {});
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const text = (error as ConfigError).problems.join('\n');
      expect(text).toContain('--gateway (or TOLLGATE_AGENT_GATEWAY)');
      expect(text).toContain('TOLLGATE_AGENT_TOKEN');
    }
  });

  it('never prints a token it refuses (a truncated or mistyped secret is still a secret)', () => {
    const almost = 'tga_0123456789abcdef0123456789 '; // pasted with a trailing space
    try {
      loadAgentConfig({}, { TOLLGATE_AGENT_GATEWAY: 'http://127.0.0.1:9', TOLLGATE_AGENT_TOKEN: almost });
      expect.unreachable();
    } catch (error) {
      const text = (error as ConfigError).problems.join('\n');
      expect(text).toContain(`TOLLGATE_AGENT_TOKEN: expected the agent token`);
      expect(text).toContain(`got ${almost.length} characters (not shown: a secret)`);
      expect(text).not.toContain('0123456789abcdef');
    }
  });
});

describe('the pinned gateway certificate fingerprint', () => {
  const hex = 'ab'.repeat(32);
  const colons = Array.from({ length: 32 }, () => 'AB').join(':');
  const gateway = 'https://gw.example.com:8010';

  it('accepts the forms people copy (openssl, tollgate start, plain hex) and normalizes them', () => {
    for (const form of [
      `sha256:${colons}`,
      `sha256:${hex}`,
      `SHA256:${hex.toUpperCase()}`,
      colons,
      hex,
      `sha256 Fingerprint=${colons}`,
      `  sha256:${colons}\n`,
    ]) {
      expect(parseCertificateFingerprint(form)).toBe(hex);
      expect(loadAgentConfig({ gateway, token, gatewayFingerprint: form }, {}).gatewayFingerprint).toBe(hex);
      expect(
        loadConnectConfig({}, { TOLLGATE_GRPC_URL: gateway, TOLLGATE_GATEWAY_FINGERPRINT: form })
          .gatewayFingerprint,
      ).toBe(hex);
    }
    expect(loadAgentConfig({ gateway, token }, {}).gatewayFingerprint).toBeUndefined();
  });

  it('refuses a malformed pin at start-up, naming the setting', () => {
    for (const bad of [
      'sha256:',
      `sha1:${hex}`,
      `sha256:${hex.slice(2)}`,
      `sha256:${hex}00`,
      `sha256:${colons.slice(0, -1)}`,
      `sha256:${hex.slice(0, 62)}:ab`,
      `sha256:${'zz'.repeat(32)}`,
      `sha256:A:BA:B${colons.slice(8)}`,
    ]) {
      expect(parseCertificateFingerprint(bad)).toBeUndefined();
      expect(() => loadAgentConfig({ gateway, token, gatewayFingerprint: bad }, {})).toThrow(
        /--gateway-fingerprint \(or TOLLGATE_AGENT_GATEWAY_FINGERPRINT\): expected the gateway certificate's SHA-256 fingerprint/,
      );
      expect(() =>
        loadAgentConfig(
          {},
          {
            TOLLGATE_AGENT_GATEWAY: gateway,
            TOLLGATE_AGENT_TOKEN: token,
            TOLLGATE_AGENT_GATEWAY_FINGERPRINT: bad,
          },
        ),
      ).toThrow(/TOLLGATE_AGENT_GATEWAY_FINGERPRINT: expected/);
      expect(() => loadConnectConfig({ grpcUrl: gateway, gatewayFingerprint: bad }, {})).toThrow(
        /--gateway-fingerprint \(or TOLLGATE_GATEWAY_FINGERPRINT\)/,
      );
    }
  });

  it('a pin needs a TLS gateway URL', () => {
    expect(() =>
      loadAgentConfig({ gateway: 'http://127.0.0.1:8010', token, gatewayFingerprint: hex }, {}),
    ).toThrow(
      /pins the TLS certificate of the gateway, but --gateway \(or TOLLGATE_AGENT_GATEWAY\) is a plain-text http:\/\/ URL/,
    );
    expect(() => loadConnectConfig({ gatewayFingerprint: hex }, {})).toThrow(
      /--grpc \(or TOLLGATE_GRPC_URL\) is a plain-text/,
    );
  });
});
