import { once } from 'node:events';
import { createConnection } from 'node:net';
import { Capability, Command, PROXY_CAPABILITIES } from '../capabilities';
import { ColumnType, parseColumnDefinition, type ColumnDefinition } from '../column-definition';
import { parseServerGreeting, serializeHandshakeResponse, type ServerGreeting } from '../handshake';
import { PacketChannel } from '../proxy/packet-channel';
import { isEofPacket, isErrPacket, isOkPacket, parseEofPacket, parseErrPacket } from '../response-packets';
import { parseBinaryRow, type RowValue } from '../rows';

/** A prepared statement's id and definitions, as COM_STMT_PREPARE answered. */
export interface PreparedOnWire {
  readonly id: number;
  readonly params: ColumnDefinition[];
  readonly columns: ColumnDefinition[];
}

/** One parameter of COM_STMT_EXECUTE: a string value, or `long` when it came by SEND_LONG_DATA. */
export type WireParam = { readonly text: string } | { readonly long: true };

/** The rows of a reply and the status flags of its closing EOF (CURSOR_EXISTS, LAST_ROW_SENT). */
export interface WireRows {
  readonly columns: ColumnDefinition[];
  readonly rows: RowValue[][];
  readonly status: number;
}

/**
 * A client that speaks the binary protocol packet by packet, for the commands no client library
 * here sends: COM_STMT_EXECUTE with a read-only cursor, COM_STMT_FETCH, COM_STMT_SEND_LONG_DATA,
 * and MariaDB's extended capabilities. It logs in with no password (a proxy that takes any).
 */
export class BinaryClient {
  private constructor(
    private readonly channel: PacketChannel,
    readonly greeting: ServerGreeting,
    private readonly layout: { extendedMetadata: boolean },
    private readonly close: () => void,
  ) {}

  static async connect(port: number, options: { mariadbCapabilities?: number } = {}): Promise<BinaryClient> {
    const socket = createConnection(port, '127.0.0.1');
    await once(socket, 'connect');
    const channel = new PacketChannel(socket, 'the proxy');
    const greeting = parseServerGreeting((await channel.next()).payload);
    channel.sequence = 1;
    const mariadbCapabilities = (options.mariadbCapabilities ?? 0) & greeting.mariadbCapabilities;
    channel.write(
      serializeHandshakeResponse({
        capabilities: (PROXY_CAPABILITIES & ~Capability.LONG_PASSWORD & ~Capability.CONNECT_WITH_DB) >>> 0,
        maxPacketSize: 1 << 24,
        characterSet: 45,
        mariadbCapabilities,
        username: 'whoever',
        authResponse: Buffer.alloc(0),
        authPlugin: 'mysql_native_password',
        attributes: new Map(),
      }),
    );
    const answer = (await channel.next()).payload;
    if (!isOkPacket(answer)) throw new Error(`login refused: ${describe(answer)}`);
    const layout = { extendedMetadata: (mariadbCapabilities & 8) !== 0 };
    return new BinaryClient(channel, greeting, layout, () => socket.destroy());
  }

  end(): void {
    this.close();
  }

  private send(...parts: Buffer[]): void {
    this.channel.sequence = 0;
    this.channel.write(Buffer.concat(parts));
  }

  private async definitions(count: number): Promise<ColumnDefinition[]> {
    const read: ColumnDefinition[] = [];
    for (let i = 0; i < count; i++)
      read.push(parseColumnDefinition((await this.channel.next()).payload, this.layout));
    if (count > 0) {
      const eof = (await this.channel.next()).payload;
      if (!isEofPacket(eof)) throw new Error(`expected EOF after definitions: ${describe(eof)}`);
    }
    return read;
  }

  async prepare(sql: string): Promise<PreparedOnWire> {
    this.send(Buffer.from([Command.STMT_PREPARE]), Buffer.from(sql));
    const answer = (await this.channel.next()).payload;
    if (answer[0] !== 0) throw new Error(`prepare failed: ${describe(answer)}`);
    const id = answer.readUInt32LE(1);
    const params = await this.definitions(answer.readUInt16LE(7));
    const columns = await this.definitions(answer.readUInt16LE(5));
    return { id, params, columns };
  }

  /** COM_QUERY; the reply is read packet by packet with `next`. */
  query(sql: string): void {
    this.send(Buffer.from([Command.QUERY]), Buffer.from(sql));
  }

  /** The next packet's payload and sequence id. */
  async next(): Promise<{ payload: Buffer; sequenceId: number }> {
    const packet = await this.channel.next();
    return { payload: packet.payload, sequenceId: packet.sequenceId };
  }

  /** COM_STMT_SEND_LONG_DATA (no reply). */
  sendLongData(id: number, param: number, data: Buffer | string): void {
    const head = Buffer.alloc(7);
    head[0] = Command.STMT_SEND_LONG_DATA;
    head.writeUInt32LE(id, 1);
    head.writeUInt16LE(param, 5);
    this.send(head, Buffer.from(data));
  }

  /**
   * COM_STMT_EXECUTE with every parameter a VAR_STRING (types sent); with `cursor`, a read-only
   * cursor is asked for, and the reply is the column definitions alone (rows come by `fetch`).
   * Returns the result set, or undefined after an OK; throws on ERR with its text.
   */
  async execute(id: number, params: readonly WireParam[], cursor = false): Promise<WireRows | undefined> {
    const head = Buffer.alloc(10);
    head[0] = Command.STMT_EXECUTE;
    head.writeUInt32LE(id, 1);
    head[5] = cursor ? 1 : 0; // CURSOR_TYPE_READ_ONLY
    head.writeUInt32LE(1, 6); // iteration count
    const parts = [head];
    if (params.length > 0) {
      parts.push(Buffer.alloc((params.length + 7) >> 3)); // NULL bitmap: none
      parts.push(Buffer.from([1])); // new parameters bound: types follow
      for (let i = 0; i < params.length; i++) parts.push(Buffer.from([ColumnType.VAR_STRING, 0]));
      for (const param of params) {
        if ('text' in param) {
          const value = Buffer.from(param.text);
          if (value.length > 250) throw new Error('test values are short (one length byte)');
          parts.push(Buffer.from([value.length]), value);
        }
      }
    }
    this.send(...parts);
    const first = (await this.channel.next()).payload;
    if (isErrPacket(first)) throw new Error(parseErrPacket(first).message);
    if (isOkPacket(first)) return undefined;
    const columns = await this.definitionsWithStatus(first[0]!);
    if (columns.cursor) return { columns: columns.columns, rows: [], status: columns.status };
    return this.rows(columns.columns);
  }

  private async definitionsWithStatus(
    count: number,
  ): Promise<{ columns: ColumnDefinition[]; status: number; cursor: boolean }> {
    const columns: ColumnDefinition[] = [];
    for (let i = 0; i < count; i++)
      columns.push(parseColumnDefinition((await this.channel.next()).payload, this.layout));
    const eof = (await this.channel.next()).payload;
    if (!isEofPacket(eof)) throw new Error(`expected EOF after definitions: ${describe(eof)}`);
    const status = parseEofPacket(eof).statusFlags;
    return { columns, status, cursor: (status & 0x40) !== 0 };
  }

  private async rows(columns: ColumnDefinition[]): Promise<WireRows> {
    const rows: RowValue[][] = [];
    for (;;) {
      const payload = (await this.channel.next()).payload;
      if (isErrPacket(payload)) throw new Error(parseErrPacket(payload).message);
      if (isEofPacket(payload)) return { columns, rows, status: parseEofPacket(payload).statusFlags };
      rows.push(parseBinaryRow(payload, columns));
    }
  }

  /** COM_STMT_FETCH of `count` rows from the statement's open cursor. */
  fetch(id: number, columns: ColumnDefinition[], count: number): Promise<WireRows> {
    const packet = Buffer.alloc(9);
    packet[0] = Command.STMT_FETCH;
    packet.writeUInt32LE(id, 1);
    packet.writeUInt32LE(count, 5);
    this.send(packet);
    return this.rows(columns);
  }
}

function describe(payload: Buffer): string {
  return isErrPacket(payload) ? parseErrPacket(payload).message : payload.subarray(0, 16).toString('hex');
}
