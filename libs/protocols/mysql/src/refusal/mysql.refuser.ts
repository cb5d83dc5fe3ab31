import { Protocol } from '@tollgate/proto';
import type { ProtocolRefuser, Refusal, RefusalKind, SessionWatch } from '@tollgate/protocol-tcp';
import { Command, PROXY_CAPABILITIES, Capability } from '../capabilities';
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
 * prints `ERROR 1045 (28000): tollgate: ...`). An open session that ends while a command waits for
 * its reply (none of it sent yet: a long statement, a held one) gets the ERR packet the server
 * would send for a killed connection, in the reply's sequence (`ERROR 1927 (70100): tollgate:
 * session ended: killed by ...`); at any other point it is reset, since an ERR out of sequence
 * would be misread.
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
    return new MysqlSessionWatch();
  },
};

/** Commands the server does not answer. */
const UNANSWERED: ReadonlySet<number> = new Set([
  Command.QUIT,
  Command.STMT_SEND_LONG_DATA,
  Command.STMT_CLOSE,
]);
const MAX_PAYLOAD = 0xffffff;

/**
 * Follows the client's packet headers (4 bytes: length, sequence id) to know when a command waits
 * for its reply and which sequence id the reply starts with; any byte from the server starts the
 * reply (or is something else, such as a LOAD DATA LOCAL request), after which only a reset ends
 * the session cleanly.
 */
class MysqlSessionWatch implements SessionWatch {
  private readonly header = Buffer.alloc(5);
  private headerBytes = 0;
  /** Payload bytes of the client's current packet still to come. */
  private skip = 0;
  /** The current packet's length and sequence id, and whether it is part of a command. */
  private length = 0;
  private sequence = 0;
  private inCommand = false;
  /** The previous packet had the largest payload: the packet after it continues it. */
  private previousFull = false;
  /** The sequence id of the awaited reply's first packet, when a command waits for one. */
  private awaiting: number | undefined;

  fromClient(bytes: Buffer): void {
    let offset = 0;
    while (offset < bytes.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, bytes.length - offset);
        this.skip -= n;
        offset += n;
        if (this.skip === 0) this.packetDone();
        continue;
      }
      // Header and the payload's first byte (the command), unless the packet is empty.
      const want = this.headerBytes < 4 ? 4 : 5;
      const n = Math.min(want - this.headerBytes, bytes.length - offset);
      bytes.copy(this.header, this.headerBytes, offset, offset + n);
      this.headerBytes += n;
      offset += n;
      if (this.headerBytes === 4) {
        this.length = this.header.readUIntLE(0, 3);
        const sequence = this.header[3] as number;
        // A command starts at sequence 0; a packet that continues a command's (a payload of
        // 2^24 - 1 bytes is followed by more) keeps it; anything else (LOAD DATA's file) does not.
        const continues = this.inCommand && this.previousFull && sequence === ((this.sequence + 1) & 0xff);
        this.inCommand = sequence === 0 || continues;
        this.sequence = sequence;
        this.awaiting = undefined;
        if (this.length === 0) {
          this.headerBytes = 0;
          this.packetDone();
        }
      } else if (this.headerBytes === 5) {
        if (this.sequence === 0 && UNANSWERED.has(this.header[4] as number)) this.inCommand = false;
        this.headerBytes = 0;
        this.skip = this.length - 1;
        if (this.skip === 0) this.packetDone();
      }
    }
  }

  private packetDone(): void {
    this.previousFull = this.length === MAX_PAYLOAD;
    this.awaiting = this.inCommand && !this.previousFull ? (this.sequence + 1) & 0xff : undefined;
  }

  toClient(bytes: Buffer): void {
    if (bytes.length > 0) this.awaiting = undefined;
  }

  ending(refusal: Refusal): Buffer | undefined {
    if (this.awaiting === undefined || this.headerBytes !== 0 || this.skip !== 0) return undefined;
    return framePacket(refusalPacket(refusal), this.awaiting).bytes;
  }
}
