import type { Socket } from 'node:net';
import { Command } from '../capabilities';
import { MysqlProtocolError } from '../protocol-error';
import { readKillStatement, type KillStatement } from '../proxy/connection-ids';
import { PacketChannel } from '../proxy/packet-channel';
import { errPacket, okPacket } from '../response-packets';
import { LOGIN_ERRORS } from './mysql-login';

/** ER_NO_SUCH_THREAD: what the server says to a KILL of an id it does not know. */
const NO_SUCH_THREAD = [1094, 'HY000'] as const;
/** How long a login without a connection may sit idle before it is closed. */
const IDLE_MS = 30_000;
/** SERVER_STATUS_AUTOCOMMIT. */
const STATUS_AUTOCOMMIT = 0x0002;
const NO_DATABASE_HINT =
  'tollgate: no database selected: name the Tollgate connection as the database (mariadb -D NAME)';

/**
 * A listener login that names no connection, its credential verified: the mariadb CLI's Ctrl+C
 * logs in so (with an empty database) to send `KILL [QUERY] <id>` for the statement its session
 * runs. Served here, with no session behind it: the login's OK, then a plain KILL is answered by
 * `kill` (OK when it stopped something, else the server's "Unknown thread id"), COM_PING with OK,
 * COM_QUIT by closing, and anything else with 1046 (no database selected, and how to name one).
 */
export async function serveMysqlWithoutConnection(
  socket: Socket,
  nextSequence: number,
  kill: (statement: KillStatement) => boolean,
): Promise<void> {
  // It stands for one KILL, not a session: an idle one is not kept.
  socket.setTimeout(IDLE_MS, () => socket.destroy());
  const channel = new PacketChannel(socket, 'the client');
  channel.sequence = nextSequence;
  channel.write(okPacket({ statusFlags: STATUS_AUTOCOMMIT }));
  socket.resume();
  try {
    for (;;) {
      const command = await channel.next();
      channel.sequence = command.parts & 0xff;
      const code = command.payload[0];
      if (code === Command.QUIT) break;
      if (code === Command.PING) {
        channel.write(okPacket({ statusFlags: STATUS_AUTOCOMMIT }));
        continue;
      }
      const statement =
        code === Command.QUERY ? readKillStatement(command.payload.subarray(1).toString('utf8')) : undefined;
      if (!statement) channel.write(errPacket(...LOGIN_ERRORS.noDatabase, NO_DATABASE_HINT));
      else if (kill(statement)) channel.write(okPacket({ statusFlags: STATUS_AUTOCOMMIT }));
      else channel.write(errPacket(...NO_SUCH_THREAD, `Unknown thread id: ${statement.id}`));
    }
  } catch (error) {
    if (!(error instanceof MysqlProtocolError)) return;
  } finally {
    socket.end();
  }
}
