import type { Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import {
  acceptPostgresLogin,
  LOGIN_SQLSTATE,
  PostgresSessionWatch,
  REFUSAL_SQLSTATES,
  refusePostgresLogin,
} from '@tollgate/protocol-postgres';
import type { SessionWatch } from '@tollgate/protocol-tcp';
import type {
  GatewayListener,
  ListenerCancel,
  ListenerLogin,
  ListenerRefusal,
  ListenerRefusalKind,
  ListenerRefused,
} from './gateway-listener';
import { isLoopbackAddress } from './loopback-address';

/**
 * PostgreSQL's own SQLSTATEs: a bad credential is what the server says for a wrong password
 * (28P01 invalid_password), the rest as `tollgate connect` says them (REFUSAL_SQLSTATES).
 */
function sqlState(kind: ListenerRefusalKind): string {
  if (kind === 'bad-credential') return LOGIN_SQLSTATE.invalidPassword;
  if (kind === 'wrong-user' || kind === 'too-many-failures') return LOGIN_SQLSTATE.invalidAuthorization;
  return REFUSAL_SQLSTATES[kind];
}

/**
 * The gateway's PostgreSQL listener: the database name selects the connection and the password is
 * a Tollgate credential (asked for in clear text, which TLS or loopback keeps private).
 */
export class PostgresGatewayListener implements GatewayListener {
  readonly protocol = 'postgres' as const;

  constructor(
    private readonly tls: SecureContext | undefined,
    private readonly loginTimeoutMs = 30_000,
  ) {}

  async login(socket: Socket): Promise<ListenerLogin | ListenerCancel | ListenerRefused | undefined> {
    const outcome = await acceptPostgresLogin(socket, {
      ...(this.tls ? { tls: this.tls } : {}),
      // Credentials cross the network in clear text only from this machine.
      requireTls: !isLoopbackAddress(socket.remoteAddress),
      timeoutMs: this.loginTimeoutMs,
    });
    if (outcome.kind === 'closed') return outcome.refused ? { refused: outcome.reason } : undefined;
    if (outcome.kind === 'cancel') return { cancelKey: cancelKey(outcome.processId, outcome.secretKey) };
    return {
      socket: outcome.socket,
      credential: { kind: 'secret', secret: outcome.password },
      userName: outcome.user,
      connectionName: outcome.database,
      preamble: outcome.preamble,
    };
  }

  refuse(login: ListenerLogin, refusal: ListenerRefusal): void {
    refusePostgresLogin(login.socket, sqlState(refusal.kind), `tollgate: ${refusal.message}`);
  }

  watch(onCancelKey?: (key: string) => void): SessionWatch {
    // The key is the one the agent's engine gave the session (its own, never the target backend's).
    return new PostgresSessionWatch(
      onCancelKey && ((processId, secretKey) => onCancelKey(cancelKey(processId, secretKey))),
    );
  }
}

function cancelKey(processId: number, secretKey: number): string {
  return `postgres:${processId}:${secretKey}`;
}
