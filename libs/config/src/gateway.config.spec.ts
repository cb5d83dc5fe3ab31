import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadGatewayConfig } from './index';

describe('loadGatewayConfig', () => {
  it('uses documented defaults when nothing is set', () => {
    const config = loadGatewayConfig({}, {});
    expect(config).toMatchObject({
      host: '127.0.0.1',
      httpPort: 8009,
      grpcPort: 8010,
      dataDir: join(homedir(), '.tollgate', 'data'),
      databaseUrl: undefined,
      logLevel: 'info',
    });
  });

  it('reads the environment and lets flags override it', () => {
    const config = loadGatewayConfig(
      { httpPort: '9100' },
      { TOLLGATE_HTTP_PORT: '9000', TOLLGATE_DATA_DIR: 'rel/dir', DATABASE_URL: 'postgres://u:p@db:5432/x' },
    );
    expect(config.httpPort).toBe(9100);
    expect(config.dataDir).toBe(resolve('rel/dir'));
    expect(config.databaseUrl).toBe('postgres://u:p@db:5432/x');
  });

  it('names every bad setting and the form it expects', () => {
    let error: unknown;
    try {
      loadGatewayConfig(
        {},
        { TOLLGATE_HTTP_PORT: 'eighty', DATABASE_URL: 'mysql://x', TOLLGATE_LOG_LEVEL: 'loud' },
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toContain('TOLLGATE_HTTP_PORT: expected a TCP port number');
    expect(message).toContain('"eighty"');
    expect(message).toContain('DATABASE_URL: expected a PostgreSQL URL');
    expect(message).toContain('TOLLGATE_LOG_LEVEL: expected one of');
    expect((error as ConfigError).problems).toHaveLength(3);
  });

  it('names the flag when a flag value is bad', () => {
    expect(() => loadGatewayConfig({ grpcPort: '70000' }, {})).toThrow(
      /--grpc-port \(or TOLLGATE_GRPC_PORT\)/,
    );
  });
});

describe('the MySQL listener settings', () => {
  it('are off by default, read the port, and refuse plain text off loopback', () => {
    expect(loadGatewayConfig({}, {}).mysqlPort).toBeUndefined();
    expect(loadGatewayConfig({}, { TOLLGATE_MYSQL_PORT: '8306' }).mysqlPort).toBe(8306);
    expect(() => loadGatewayConfig({ host: '0.0.0.0', mysqlPort: '8306' }, {})).toThrow(
      /--mysql-port .*plain text on 0\.0\.0\.0; set --tls-cert and --tls-key/,
    );
    expect(loadGatewayConfig({ host: '127.0.0.1', mysqlPort: '0' }, {}).mysqlPort).toBe(0);
  });
});

describe('the PostgreSQL listener settings', () => {
  it('are off by default and read the port, certificate and key', () => {
    expect(loadGatewayConfig({}, {}).postgresPort).toBeUndefined();
    const config = loadGatewayConfig(
      { postgresPort: '0' },
      { TOLLGATE_TLS_CERT: '/etc/tg/cert.pem', TOLLGATE_TLS_KEY: '/etc/tg/key.pem' },
    );
    expect(config).toMatchObject({ postgresPort: 0, tlsCert: '/etc/tg/cert.pem', tlsKey: '/etc/tg/key.pem' });
    expect(loadGatewayConfig({}, { TOLLGATE_POSTGRES_PORT: '8432' }).postgresPort).toBe(8432);
  });

  it('refuse plain text on an address that is not loopback', () => {
    for (const host of ['0.0.0.0', '10.1.2.3', 'db.example.com', '::']) {
      expect(() => loadGatewayConfig({ host, postgresPort: '8432' }, {})).toThrow(
        /--postgres-port .*plain text on .*set --tls-cert and --tls-key/,
      );
    }
    for (const host of ['127.0.0.1', 'localhost', '::1']) {
      expect(loadGatewayConfig({ host, postgresPort: '8432' }, {}).postgresPort).toBe(8432);
    }
    expect(
      loadGatewayConfig({ host: '0.0.0.0', postgresPort: '8432', tlsCert: 'c.pem', tlsKey: 'k.pem' }, {})
        .host,
    ).toBe('0.0.0.0');
  });

  it('want the certificate and the key together', () => {
    expect(() => loadGatewayConfig({ tlsCert: 'c.pem' }, {})).toThrow(/--tls-cert and --tls-key/);
    expect(() => loadGatewayConfig({}, { TOLLGATE_TLS_KEY: 'k.pem' })).toThrow(/set both or neither/);
  });
});

describe("a command's own defaults (fallbacks)", () => {
  it('apply only where neither a flag nor the environment says', () => {
    expect(loadGatewayConfig({}, {}, { postgresPort: 8432 }).postgresPort).toBe(8432);
    expect(loadGatewayConfig({}, { TOLLGATE_POSTGRES_PORT: '0' }, { postgresPort: 8432 }).postgresPort).toBe(
      0,
    );
    expect(loadGatewayConfig({ postgresPort: '9432' }, {}, { postgresPort: 8432 }).postgresPort).toBe(9432);
  });
});
