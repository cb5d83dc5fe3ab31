import { describe, expect, it } from 'vitest';
import { loadAgentConfig } from './agent.config';
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
});
