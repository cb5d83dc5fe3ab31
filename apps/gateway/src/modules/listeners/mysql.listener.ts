import type { Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import {
  acceptMysqlLogin,
  greetingLength,
  LOGIN_ERRORS,
  mysqlRefuser,
  refuseMysqlLogin,
  REFUSAL_ERRORS,
  serveMysqlWithoutConnection,
} from '@tollgate/protocol-mysql';
import type { SessionWatch } from '@tollgate/protocol-tcp';
import type {
  GatewayListener,
  ListenerLogin,
  ListenerRefusal,
  ListenerRefusalKind,
  ListenerRefused,
} from './gateway-listener';
import { isLoopbackAddress } from './loopback-address';

/**
 * The server's own errors: a bad credential or a user name that does not fit is what the server
 * says for a wrong password (1045), the rest as `tollgate connect` says them (REFUSAL_ERRORS).
 */
function errorFor(kind: ListenerRefusalKind): readonly [number, string] {
  if (kind === 'bad-credential' || kind === 'wrong-user' || kind === 'too-many-failures')
    return LOGIN_ERRORS.accessDenied;
  return REFUSAL_ERRORS[kind];
}

const LOGIN_TIMEOUT_MS = 30_000;

/**
 * The gateway's MySQL listener: the database name selects the connection and the password is a
 * Tollgate credential, sent with mysql_clear_password (TLS or loopback keeps it private). The
 * listener greets the client itself, so the engine's own greeting is dropped (engineGreetingLength)
 * and the engine's answer to the handshake (OK, or the target's refusal) reaches the client.
 */
export class MysqlGatewayListener implements GatewayListener {
  readonly protocol = 'mysql' as const;
  /** The sequence id each login's refusal is sent with. */
  private readonly sequences = new WeakMap<ListenerLogin, number>();

  constructor(private readonly tls: SecureContext | undefined) {}

  async login(socket: Socket): Promise<ListenerLogin | ListenerRefused | undefined> {
    const outcome = await acceptMysqlLogin(socket, {
      ...(this.tls ? { tls: this.tls } : {}),
      // Credentials cross the network in clear text only from this machine.
      requireTls: !isLoopbackAddress(socket.remoteAddress),
      timeoutMs: LOGIN_TIMEOUT_MS,
    });
    if (outcome.kind === 'closed') return outcome.refused ? { refused: outcome.reason } : undefined;
    const login: ListenerLogin = {
      socket: outcome.socket,
      credential: { kind: 'secret', secret: outcome.password },
      userName: outcome.user,
      connectionName: outcome.database,
      preamble: outcome.preamble,
      greetedConnectionId: outcome.connectionId,
    };
    this.sequences.set(login, outcome.nextSequence);
    return login;
  }

  refuse(login: ListenerLogin, refusal: ListenerRefusal): void {
    const [code, sqlState] = errorFor(refusal.kind);
    refuseMysqlLogin(
      login.socket,
      this.sequences.get(login) ?? 2,
      code,
      sqlState,
      `tollgate: ${refusal.message}`,
    );
  }

  serveWithoutConnection(
    login: ListenerLogin,
    kill: (id: number, what: 'query' | 'connection') => boolean,
  ): Promise<void> {
    return serveMysqlWithoutConnection(login.socket, this.sequences.get(login) ?? 2, (statement) =>
      kill(statement.id, statement.kind),
    );
  }

  engineGreetingLength(bytes: Buffer): number | undefined {
    return greetingLength(bytes);
  }

  watch(): SessionWatch {
    return mysqlRefuser.watch();
  }
}
