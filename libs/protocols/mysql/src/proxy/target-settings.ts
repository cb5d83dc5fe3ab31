import type { TargetTlsMode } from '@tollgate/protocol-tcp';
/** How the agent reaches and authenticates to the MySQL or MariaDB server behind a connection. */
export interface MysqlTargetSettings {
  readonly host: string;
  readonly port: number;
  /** Default schema; empty means the one the client asked for. */
  readonly database: string;
  readonly username: string;
  /** Resolved on the agent from the connection's credential reference; never sent to the client. */
  readonly password?: string;
  readonly tls: {
    readonly mode: TargetTlsMode;
    /** PEM CA bundle for verify-ca/verify-full; the system store when absent. */
    readonly ca?: string;
  };
  /**
   * The server's RSA public key (PEM) for caching_sha2_password/sha256_password full authentication
   * without TLS. Without it the agent asks the server for its key, which is only as safe as the
   * network path (`tls.mode` require or better avoids the question).
   */
  readonly serverPublicKey?: string;
  readonly connectTimeoutMs?: number;
}
