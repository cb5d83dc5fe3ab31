import { readFileSync } from 'node:fs';
import { makeCertificate, makeTempDir } from '@tollgate/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCachingSha2Server, type CachingSha2Server } from '../test-support/caching-sha2-server';
import { connectTarget } from './target-connection';
import type { MysqlTargetSettings } from './target-settings';

describe('caching_sha2_password login to a MySQL 8-style server', () => {
  let plain: CachingSha2Server;
  let secure: CachingSha2Server;
  let ca: string;
  const settings = (port: number, extra: Partial<MysqlTargetSettings> = {}): MysqlTargetSettings => ({
    host: '127.0.0.1',
    port,
    database: '',
    username: 'app',
    password: 's3cret-é',
    tls: { mode: 'disable' },
    ...extra,
  });
  const login = async (target: MysqlTargetSettings) => {
    const connection = await connectTarget(target);
    connection.channel.destroy();
    return connection;
  };

  beforeAll(async () => {
    const dir = makeTempDir('tg-mysql-tls');
    const certificate = makeCertificate(dir.path, 'mysql8');
    ca = readFileSync(certificate.certFile, 'utf8');
    plain = await startCachingSha2Server({ user: 'app', password: 's3cret-é' });
    secure = await startCachingSha2Server({
      user: 'app',
      password: 's3cret-é',
      tls: { key: readFileSync(certificate.keyFile, 'utf8'), cert: ca },
    });
  });
  afterAll(async () => {
    await plain?.close();
    await secure?.close();
  });

  it('takes full authentication with the RSA key it asks for, then the fast path', async () => {
    await login(settings(plain.port));
    expect(plain.stats).toMatchObject({ full: 1, keyRequests: 1, fast: 0 });
    await login(settings(plain.port));
    expect(plain.stats).toMatchObject({ full: 1, fast: 1 });
  });

  it('refuses a wrong password with the server error, and never sends a password in clear text without TLS', async () => {
    await expect(login(settings(plain.port, { password: 'wrong' }))).rejects.toThrow(
      /the target refused the login: Access denied for user 'app'/,
    );
  });

  it('uses a configured server key without asking, and sends the password itself only over TLS', async () => {
    const fresh = await startCachingSha2Server({ user: 'app', password: 's3cret-é' });
    try {
      await login(settings(fresh.port, { serverPublicKey: fresh.publicKey }));
      expect(fresh.stats).toMatchObject({ full: 1, keyRequests: 0 });
    } finally {
      await fresh.close();
    }
  });

  it('sends the password itself over TLS', async () => {
    const connection = await login(settings(secure.port, { tls: { mode: 'verify-full', ca } }));
    expect(connection.tls).toBe(true);
    expect(secure.stats).toMatchObject({ full: 1, keyRequests: 0 });
  });

  it('refuses a server whose certificate the CA does not vouch for', async () => {
    await expect(login(settings(secure.port, { tls: { mode: 'verify-full' } }))).rejects.toThrow(
      /TLS to the target/,
    );
  });
});
