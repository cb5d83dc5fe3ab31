import type { Server } from 'node:net';
import type { MariadbTestDatabase } from '@tollgate/testing';
import type { MysqlTargetSettings } from '../proxy/target-settings';

/** A session's target for the test database, logging in as its mysql_native_password user, no TLS. */
export function nativeUserTarget(db: MariadbTestDatabase): MysqlTargetSettings {
  return {
    host: '127.0.0.1',
    port: 3306,
    database: db.name,
    username: db.users.native,
    password: db.password,
    tls: { mode: 'disable' },
  };
}

/** Listens on a free loopback port; resolves with the port. */
export function listenOnLoopback(server: Server): Promise<number> {
  return new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );
}
