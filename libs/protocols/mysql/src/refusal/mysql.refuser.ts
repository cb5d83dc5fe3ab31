import { Protocol } from '@tollgate/proto';
import type { ProtocolRefuser, Refusal, RefusalKind } from '@tollgate/protocol-tcp';
import { PROXY_CAPABILITIES, Capability } from '../capabilities';
import { serializeServerGreeting } from '../handshake';
import { framePacket, PacketReader } from '../packet-reader';
import { LISTENER_SERVER_VERSION } from '../listener/mysql-login';
import { errPacket } from '../response-packets';

/** The error number and SQLSTATE a MySQL client shows for each refusal. */
export const REFUSAL_ERRORS: Readonly<Record<RefusalKind, readonly [number, string]>> = {
  'not-found': [1049, '42000'], // ER_BAD_DB_ERROR
  denied: [1045, '28000'], // ER_ACCESS_DENIED_ERROR
  unauthenticated: [1045, '28000'],
  unavailable: [2003, 'HY000'],
  terminated: [1927, '70100'], // ER_CONNECTION_KILLED
  'credential-expired': [1927, '70100'],
  'policy-changed': [1927, '70100'],
  'idle-timeout': [4031, 'HY000'], // ER_CLIENT_INTERACTION_TIMEOUT
  shutdown: [1053, '08S01'], // ER_SERVER_SHUTDOWN
  lost: [2013, 'HY000'],
  internal: [1815, 'HY000'],
};

function refusalPacket(refusal: Refusal): Buffer {
  const [code, sqlState] = REFUSAL_ERRORS[refusal.kind];
  return errPacket(code, sqlState, `tollgate: ${refusal.message}`);
}

/**
 * Refusals in the MySQL protocol. Before a session opens, `tollgate connect` greets the client
 * as a server would, reads its handshake response and answers with an ERR packet (the mariadb CLI
 * prints `ERROR 1045 (28000): tollgate: ...`). An open session that ends is reset: the client may
 * be between a command and its reply, where an ERR out of sequence would be misread.
 */
export const mysqlRefuser: ProtocolRefuser = {
  protocol: Protocol.MYSQL,
  refuseOpening(refusal) {
    const reader = new PacketReader(1 << 16);
    return {
      greeting: framePacket(
        serializeServerGreeting({
          serverVersion: LISTENER_SERVER_VERSION,
          connectionId: 0,
          authData: Buffer.from('tollgate-refusal-000'),
          capabilities: (PROXY_CAPABILITIES & ~Capability.CONNECT_ATTRS) >>> 0,
          mariadbCapabilities: 0,
          characterSet: 45,
          statusFlags: 2,
          authPlugin: 'mysql_native_password',
        }),
        0,
      ).bytes,
      receive(bytes) {
        let sequence: number | undefined;
        reader.parse(bytes, (packet) => (sequence = packet.sequenceId + packet.parts));
        if (sequence === undefined) return { done: false };
        return { reply: framePacket(refusalPacket(refusal), sequence).bytes, done: true };
      },
    };
  },
  watch() {
    return {
      fromClient: () => undefined,
      toClient: () => undefined,
      ending: () => undefined,
    };
  },
};
