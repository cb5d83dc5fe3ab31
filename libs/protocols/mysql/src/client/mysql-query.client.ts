import type { Duplex } from 'node:stream';
import { endedByPeer } from '@tollgate/protocol-tcp';
import { Capability, Command, MariadbCapability, PROXY_CAPABILITIES, ServerStatus } from '../capabilities';
import { parseColumnDefinition } from '../column-definition';
import { parseServerGreeting, serializeHandshakeResponse } from '../handshake';
import { PayloadReader } from '../payload';
import { PacketChannel } from '../proxy/packet-channel';
import {
  isEofPacket,
  isErrPacket,
  isOkPacket,
  parseErrPacket,
  parseOkPacket,
  parseProgressPacket,
} from '../response-packets';
import { parseTextRow } from '../rows';

/** One statement's result, in the shape `tollgate exec` prints (the same as for PostgreSQL). */
export interface MysqlStatementResult {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly (string | null)[])[];
  /** `SELECT 2`, `OK 3` (affected rows); empty on error. */
  readonly tag: string;
  readonly error?: { readonly code: string; readonly message: string };
  /** More rows came than `maxRows`: they were read and counted (in `tag`), not kept. */
  readonly truncated?: boolean;
}

export interface MysqlQueryOptions {
  /** Rows kept per result set (default all); the rest are read and counted, not kept. */
  readonly maxRows?: number;
  /**
   * What the session says while a statement waits (a command held for approval, and which review
   * decides it), as it says it: asked for as MariaDB progress reports where the session offers them.
   */
  readonly onNotice?: (text: string) => void;
}

/** The client could not log in (the session refused it): the ERR packet's words. */
export class MysqlQueryError extends Error {
  constructor(
    readonly sqlState: string,
    message: string,
  ) {
    super(message);
    this.name = 'MysqlQueryError';
  }
}

/**
 * Runs one COM_QUERY over a stream to a MySQL server (for `tollgate exec`, the agent's MySQL engine
 * through the tunnel): logs in with no password (the session is already authorized), sends the text,
 * reads every result set, and quits. An error in a statement ends the run there, as the server does.
 */
export async function runMysqlQuery(
  stream: Duplex,
  sql: string,
  options: MysqlQueryOptions = {},
): Promise<MysqlStatementResult[]> {
  const channel = new PacketChannel(stream, 'the session');
  try {
    const first = await channel.next();
    if (isErrPacket(first.payload)) throw loginError(first.payload);
    const greeting = parseServerGreeting(first.payload);
    channel.sequence = (first.sequenceId + 1) & 0xff;
    const capabilities =
      (PROXY_CAPABILITIES & greeting.capabilities & ~Capability.CONNECT_WITH_DB & ~Capability.CONNECT_ATTRS) |
      Capability.PROTOCOL_41 |
      Capability.SECURE_CONNECTION;
    channel.write(
      serializeHandshakeResponse({
        capabilities: capabilities >>> 0,
        maxPacketSize: 1 << 30,
        characterSet: 45,
        // MariaDB's progress reports, where offered (never with CLIENT_MYSQL): a held command's message.
        mariadbCapabilities:
          options.onNotice && !(capabilities & Capability.LONG_PASSWORD)
            ? greeting.mariadbCapabilities & MariadbCapability.PROGRESS
            : 0,
        username: 'tollgate',
        authResponse: Buffer.alloc(0),
        authPlugin: greeting.authPlugin,
        attributes: new Map(),
      }),
    );
    const login = await channel.next();
    if (!isOkPacket(login.payload)) throw loginError(login.payload);
    channel.sequence = 0;
    channel.write(Buffer.concat([Buffer.from([Command.QUERY]), Buffer.from(sql, 'utf8')]));
    const results = await readResults(channel, options.maxRows ?? Infinity, options.onNotice);
    channel.sequence = 0;
    channel.write(Buffer.from([Command.QUIT]));
    // The session ends after COM_QUIT. Ending our side first would cut a tunnelled session short
    // (recorded as lost instead of ended normally), so wait for it, within bounds.
    await endedByPeer(stream, QUIT_WAIT_MS);
    stream.end();
    return results;
  } catch (error) {
    channel.destroy();
    throw error;
  }
}

const QUIT_WAIT_MS = 5_000;

function loginError(payload: Buffer): MysqlQueryError {
  if (!isErrPacket(payload)) return new MysqlQueryError('08S01', 'the session did not accept the login');
  const err = parseErrPacket(payload);
  // As the mariadb client says it (ERROR 1045 (28000): ...), without the "tollgate: " every refusal
  // of Tollgate's own starts with: the CLI names itself already.
  const text = err.message.replace(/^tollgate: /, '');
  return new MysqlQueryError(err.sqlState, `ERROR ${err.code} (${err.sqlState}): ${text}`);
}

async function readResults(
  channel: PacketChannel,
  maxRows: number,
  onNotice: ((text: string) => void) | undefined,
): Promise<MysqlStatementResult[]> {
  const results: MysqlStatementResult[] = [];
  for (;;) {
    let { payload } = await channel.next();
    // Progress reports come before a reply, and the reply follows them.
    for (let note = parseProgressPacket(payload); note !== undefined; note = parseProgressPacket(payload)) {
      onNotice?.(note);
      ({ payload } = await channel.next());
    }
    let status: number;
    if (isOkPacket(payload)) {
      const ok = parseOkPacket(payload);
      results.push({ columns: [], rows: [], tag: `OK ${ok.affectedRows}` });
      status = ok.statusFlags;
    } else if (isErrPacket(payload)) {
      const err = parseErrPacket(payload);
      results.push({ columns: [], rows: [], tag: '', error: { code: err.sqlState, message: err.message } });
      return results;
    } else {
      const count = new PayloadReader(payload, 'a result set header').lenenc();
      const columns: string[] = [];
      for (let i = 0; i < count; i++)
        columns.push(parseColumnDefinition((await channel.next()).payload).name);
      await channel.next(); // EOF after the column definitions
      const rows: (string | null)[][] = [];
      let received = 0;
      for (;;) {
        const row = (await channel.next()).payload;
        if (isEofPacket(row)) {
          status = new PayloadReader(row, 'an EOF packet').bytes(5).readUInt16LE(3);
          break;
        }
        if (isErrPacket(row)) {
          const err = parseErrPacket(row);
          results.push({ columns, rows, tag: '', error: { code: err.sqlState, message: err.message } });
          return results;
        }
        received += 1;
        if (rows.length < maxRows) {
          rows.push(parseTextRow(row, count).map((v) => (v === null ? null : v.toString('utf8'))));
        }
      }
      results.push({
        columns,
        rows,
        tag: `SELECT ${received}`,
        ...(received > rows.length ? { truncated: true } : {}),
      });
    }
    if (!(status & ServerStatus.MORE_RESULTS_EXISTS)) return results;
  }
}
