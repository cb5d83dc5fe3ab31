import type { TargetTlsMode } from '@tollgate/protocol-tcp';
/** How the agent reaches and authenticates to the PostgreSQL server behind a connection. */
export interface PostgresTargetSettings {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly username: string;
  /** Resolved on the agent from the connection's credential reference; never sent to the client. */
  readonly password?: string;
  readonly tls: {
    readonly mode: TargetTlsMode;
    /** PEM CA bundle for verify-ca/verify-full; the system store when absent. */
    readonly ca?: string;
  };
  readonly connectTimeoutMs?: number;
}
